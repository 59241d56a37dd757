#include "exchange/state/rocksdb/rocksdb_state_store.h"

#include <algorithm>
#include <utility>

#include "absl/cleanup/cleanup.h"
#include "absl/container/flat_hash_map.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/log.h"
#include "common/status_macros.h"
#include "exchange/state/key_codec.h"
#include "rocksdb/cache.h"
#include "rocksdb/convenience.h"
#include "rocksdb/filter_policy.h"
#include "rocksdb/perf_level.h"
#include "rocksdb/slice_transform.h"
#include "rocksdb/table.h"
#include "rocksdb/write_batch.h"
#include "rocksdb/write_buffer_manager.h"

namespace datarun::state {
namespace {

constexpr char kRecordsFamily[] = "records";
constexpr char kOffsetsFamily[] = "offsets";
constexpr char kChainHeadsFamily[] = "chain_heads";

constexpr uint8_t kOpUpsert = 1;
constexpr uint8_t kOpDelete = 2;
constexpr size_t kValueHeader = 9;  // u64 version + u8 op

constexpr uint8_t kOffsetFormat = 1;
constexpr size_t kOffsetFixed = 1 + 5 * 8;

absl::Status FromRocks(const rocksdb::Status& s, absl::string_view what) {
  if (s.ok()) return absl::OkStatus();
  std::string msg = absl::StrCat("rocksdb ", what, ": ", s.ToString());
  if (s.IsNotFound()) return absl::NotFoundError(msg);
  if (s.IsCorruption()) return absl::DataLossError(msg);
  if (s.IsInvalidArgument()) return absl::InvalidArgumentError(msg);
  if (s.IsIOError()) return absl::UnavailableError(msg);
  if (s.IsBusy() || s.IsTryAgain()) return absl::UnavailableError(msg);
  return absl::InternalError(msg);
}

void PutU64(uint64_t v, std::string* out) {
  for (int i = 7; i >= 0; --i) out->push_back(static_cast<char>(v >> (i * 8)));
}

uint64_t GetU64(const char* p) {
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v = (v << 8) | static_cast<uint8_t>(p[i]);
  return v;
}

// The prefix extractor: partition | esc(subject id). Keys without a full
// subject (never written by this store) are out of domain.
class SubjectPrefixTransform : public rocksdb::SliceTransform {
 public:
  const char* Name() const override { return "datarun.SubjectPrefix.v1"; }
  rocksdb::Slice Transform(const rocksdb::Slice& key) const override {
    return rocksdb::Slice(key.data(), SubjectPrefixLength(absl::string_view(
                                          key.data(), key.size())));
  }
  bool InDomain(const rocksdb::Slice& key) const override {
    return SubjectPrefixLength(absl::string_view(key.data(), key.size())) > 0;
  }
};

struct DecodedValue {
  uint64_t version;
  uint8_t op;
  absl::string_view record;
};

absl::StatusOr<DecodedValue> DecodeRecordValue(absl::string_view v) {
  if (v.size() < kValueHeader) {
    return absl::DataLossError(absl::StrCat("state record value of ", v.size(),
                                            " bytes is shorter than its ",
                                            kValueHeader, "-byte header"));
  }
  return DecodedValue{GetU64(v.data()), static_cast<uint8_t>(v[8]),
                      v.substr(kValueHeader)};
}

absl::StatusOr<std::optional<datarun::v1::Record>> LiveRecord(
    absl::string_view value) {
  ASSIGN_OR_RETURN(DecodedValue d, DecodeRecordValue(value));
  if (d.op == kOpDelete) return std::optional<datarun::v1::Record>();
  datarun::v1::Record record;
  if (!record.ParseFromArray(d.record.data(), d.record.size())) {
    return absl::DataLossError("state record value does not parse as Record");
  }
  return std::optional<datarun::v1::Record>(std::move(record));
}

std::string EncodeOffset(const StoredOffset& o) {
  std::string v;
  v.push_back(static_cast<char>(kOffsetFormat));
  PutU64(static_cast<uint64_t>(o.next_offset), &v);
  PutU64(o.messages, &v);
  PutU64(o.applied, &v);
  PutU64(o.stale, &v);
  PutU64(o.rejected, &v);
  v.append(o.cluster_id);
  return v;
}

absl::StatusOr<StoredOffset> DecodeOffset(absl::string_view v) {
  if (v.size() < kOffsetFixed || static_cast<uint8_t>(v[0]) != kOffsetFormat) {
    return absl::DataLossError(
        absl::StrCat("stored offset value: ", v.size(),
                     " bytes, expected format 1 with >= ", kOffsetFixed));
  }
  StoredOffset o;
  const char* p = v.data() + 1;
  o.next_offset = static_cast<int64_t>(GetU64(p));
  o.messages = GetU64(p + 8);
  o.applied = GetU64(p + 16);
  o.stale = GetU64(p + 24);
  o.rejected = GetU64(p + 32);
  o.cluster_id = std::string(v.substr(kOffsetFixed));
  return o;
}

std::string ChainHeadKey(int32_t partition) {
  std::string k;
  AppendPartition(partition, &k);
  return k;
}

}  // namespace

absl::StatusOr<std::unique_ptr<RocksDbStateStore>> RocksDbStateStore::Open(
    const RocksDbStateOptions& options) {
  if (options.dir.empty()) {
    return absl::InvalidArgumentError("state directory is empty");
  }
  auto cache = rocksdb::NewLRUCache(options.block_cache_bytes);
  auto wbm = std::make_shared<rocksdb::WriteBufferManager>(
      options.write_buffer_bytes, cache);

  rocksdb::DBOptions db_options;
  db_options.create_if_missing = true;
  db_options.create_missing_column_families = true;
  db_options.write_buffer_manager = wbm;
  db_options.max_background_jobs = 2;
  // Bound WAL replay at restart: older memtables get flushed.
  db_options.max_total_wal_size = size_t{256} << 20;
  db_options.skip_stats_update_on_db_open = true;
  // After a crash, keep the replayed WAL in memtables instead of writing it
  // to an L0 file before Open returns: serving starts sooner.
  db_options.avoid_flush_during_recovery = true;
  db_options.max_open_files = 4096;
  db_options.keep_log_file_num = 3;
  db_options.info_log_level = rocksdb::InfoLogLevel::WARN_LEVEL;
  if (options.statistics) {
    db_options.statistics = rocksdb::CreateDBStatistics();
    db_options.statistics->set_stats_level(
        rocksdb::StatsLevel::kExceptHistogramOrTimers);
  }

  rocksdb::BlockBasedTableOptions table;
  table.block_cache = cache;
  table.cache_index_and_filter_blocks = true;
  table.pin_l0_filter_and_index_blocks_in_cache = true;
  // Every table's index and filter block stays pinned (still charged to the
  // cache): a profile seek then looks up only its data block in the LRU
  // cache instead of three blocks per table, each under a shard mutex.
  table.metadata_cache_options.unpartitioned_pinning =
      rocksdb::PinningTier::kAll;
  table.filter_policy.reset(rocksdb::NewBloomFilterPolicy(10));
  table.whole_key_filtering = true;  // point Gets (version checks) too
  table.format_version = 5;

  auto lz4 = rocksdb::kNoCompression;
  for (auto c : rocksdb::GetSupportedCompressions()) {
    if (c == rocksdb::kLZ4Compression) lz4 = c;
  }

  rocksdb::ColumnFamilyOptions records;
  records.prefix_extractor = std::make_shared<SubjectPrefixTransform>();
  records.memtable_prefix_bloom_size_ratio = 0.05;
  // Version checks of new records look up absent keys: let the memtable
  // bloom answer them without a skiplist search.
  records.memtable_whole_key_filtering = true;
  // The records tables' read path (a profile is one prefix seek): the
  // index found by a hash of the subject prefix instead of a binary search,
  // and shorter runs of delta-encoded keys between the restart points of a
  // data block, which a seek walks key by key after its binary search.
  // Table options are per table file: files written with other values stay
  // readable, and compactions rewrite them with these.
  rocksdb::BlockBasedTableOptions records_table = table;
  if (options.records_prefix_hash_index) {
    records_table.index_type = rocksdb::BlockBasedTableOptions::kHashSearch;
  }
  records_table.block_restart_interval = options.records_block_restart_interval;
  records.table_factory.reset(
      rocksdb::NewBlockBasedTableFactory(records_table));
  records.compression = lz4;
  // L0 is never compressed: flushes run ~30% cheaper (LZ4 was a third of
  // the flush thread's CPU while ingesting), and L0 files are short-lived.
  // With dynamic level sizes, entry 1 is the base level (where L0 files
  // are merged to) and entry i the i-1th level below it. The base level is
  // LZ4 only with compress_records: every L0 compaction rewrites it, and
  // LZ4 was half of that CPU. The levels below it (once the state outgrows
  // max_bytes_for_level_base) hold most of the data and stay LZ4: the same
  // compaction CPU at 2M records, 3.9 instead of 5.1 GiB at 10M.
  records.compression_per_level.assign(records.num_levels, lz4);
  records.compression_per_level[0] = rocksdb::kNoCompression;
  if (!options.compress_records) {
    records.compression_per_level[1] = rocksdb::kNoCompression;
  }
  records.write_buffer_size = options.records_write_buffer_bytes;
  // Level compaction: universal compaction measured worse for this write
  // pattern (uniformly spread keys), +24% compaction CPU at 2M records.
  records.level_compaction_dynamic_level_bytes = true;
  // Eight L0 files per compaction instead of four: every flushed file
  // spans the whole key range (keys arrive uniformly spread), so each L0
  // compaction rewrites all of the base level; half as many rewrites cut
  // compaction CPU by ~30% at 2M records (docs/benchmarks.md, "Ingest").
  // Writes slow down at 20 L0 files as before.
  records.level0_file_num_compaction_trigger = 8;

  rocksdb::ColumnFamilyOptions small;
  small.table_factory.reset(rocksdb::NewBlockBasedTableFactory(table));
  small.write_buffer_size = size_t{4} << 20;

  std::vector<rocksdb::ColumnFamilyDescriptor> families = {
      {rocksdb::kDefaultColumnFamilyName, small},
      {kRecordsFamily, records},
      {kOffsetsFamily, small},
      {kChainHeadsFamily, small},
  };

  std::unique_ptr<RocksDbStateStore> store(new RocksDbStateStore());
  store->options_ = options;
  rocksdb::DB* db = nullptr;
  rocksdb::Status s = rocksdb::DB::Open(db_options, options.dir, families,
                                        &store->handles_, &db);
  if (!s.ok()) {
    return FromRocks(s, absl::StrCat("open state directory ", options.dir));
  }
  store->db_.reset(db);
  store->cache_ = cache;
  store->statistics_ = db_options.statistics;
  store->records_ = store->handles_[1];
  store->offsets_ = store->handles_[2];
  store->chain_heads_ = store->handles_[3];
  return store;
}

RocksDbStateStore::~RocksDbStateStore() {
  if (!db_) return;
  {
    // Iterators must go before their column family and the DB.
    absl::MutexLock lock(&iterators_mu_);
    idle_iterators_.clear();
  }
  for (auto* h : handles_) db_->DestroyColumnFamilyHandle(h);
  db_->Close();
}

StorageStats RocksDbStateStore::Storage() const {
  StorageStats st;
  for (auto* h : handles_) {
    uint64_t v = 0;
    if (db_->GetIntProperty(h, "rocksdb.estimate-live-data-size", &v)) {
      st.live_data_bytes += v;
    }
    if (db_->GetIntProperty(h, "rocksdb.total-sst-files-size", &v)) {
      st.sst_files_bytes += v;
    }
    if (db_->GetIntProperty(h, "rocksdb.cur-size-all-mem-tables", &v)) {
      st.memtable_bytes += v;
    }
  }
  st.block_cache_usage_bytes = cache_->GetUsage();
  st.block_cache_capacity_bytes = cache_->GetCapacity();
  if (statistics_ != nullptr) {
    st.block_cache_hits = statistics_->getTickerCount(rocksdb::BLOCK_CACHE_HIT);
    st.block_cache_misses =
        statistics_->getTickerCount(rocksdb::BLOCK_CACHE_MISS);
  }
  return st;
}

namespace {

// What ApplyBatch needs of a RecordWrite, from its envelope (ingest's fast
// path) or its parsed Record.
struct WriteFields {
  absl::string_view subject_id, data_class, record_key;
  uint64_t version;
  bool is_delete;
};

WriteFields FieldsOf(const RecordWrite& w) {
  if (!w.bytes.empty()) {
    const RecordEnvelope& e = w.envelope;
    return {e.subject_id, e.data_class, e.record_key, e.source_version,
            e.op == datarun::v1::Record::OP_DELETE};
  }
  const auto& r = w.record;
  return {r.subject().id(), r.data_class(), r.record_key(), r.source_version(),
          r.op() == datarun::v1::Record::OP_DELETE};
}

}  // namespace

absl::StatusOr<ApplyResult> RocksDbStateStore::ApplyBatch(
    const IngestBatch& batch) {
  absl::MutexLock lock(&apply_mu_);
  // Thread-local: the perf counters cost a TLS lookup and an add on every
  // key comparison of the memtable insert; nothing reads them here.
  rocksdb::SetPerfLevel(options_.perf_counters
                            ? rocksdb::PerfLevel::kEnableCount
                            : rocksdb::PerfLevel::kDisable);
  ApplyResult result;
  const size_t n = batch.records.size();

  // All keys in one buffer (one allocation per batch, not one per record).
  std::string key_buf;
  key_buf.reserve(n * 48);
  std::vector<uint32_t> key_end(n);
  for (size_t i = 0; i < n; ++i) {
    const WriteFields f = FieldsOf(batch.records[i]);
    AppendRecordKey(batch.records[i].partition, f.subject_id, f.data_class,
                    f.record_key, &key_buf);
    key_end[i] = static_cast<uint32_t>(key_buf.size());
  }
  auto key = [&key_buf, &key_end](size_t i) {
    const uint32_t begin = i == 0 ? 0 : key_end[i - 1];
    return rocksdb::Slice(key_buf.data() + begin, key_end[i] - begin);
  };
  // Work in key order (stable, so versions of one key keep their order):
  // the memtable inserts each key next to the previous one, which is several
  // times cheaper than random inserts, MultiGet gets sorted input, and the
  // writes of one key are adjacent, so the version a write must beat is
  // either the previous write's (same key) or the stored one: no hash map.
  std::vector<uint32_t> order(n);
  for (size_t i = 0; i < n; ++i) order[i] = static_cast<uint32_t>(i);
  std::stable_sort(order.begin(), order.end(), [&key](uint32_t a, uint32_t b) {
    return key(a).compare(key(b)) < 0;
  });
  // Stored versions of the distinct keys, one MultiGet.
  std::vector<rocksdb::Slice> lookup;
  lookup.reserve(n);
  for (size_t j = 0; j < n; ++j) {
    rocksdb::Slice k = key(order[j]);
    if (lookup.empty() || lookup.back() != k) lookup.push_back(k);
  }
  // stored[u]: version stored for lookup[u], if any.
  std::vector<std::optional<uint64_t>> stored(lookup.size());
  if (!lookup.empty()) {
    std::vector<rocksdb::PinnableSlice> values(lookup.size());
    std::vector<rocksdb::Status> statuses(lookup.size());
    rocksdb::ReadOptions ro;
    // A version check reads a block once and writes the key right after:
    // caching it only evicts blocks that queries use (and doubled the
    // ingest process's RSS). The store never writes range deletions.
    ro.fill_cache = false;
    ro.ignore_range_deletions = true;
    db_->MultiGet(ro, records_, lookup.size(), lookup.data(), values.data(),
                  statuses.data(),
                  /*sorted_input=*/true);
    for (size_t i = 0; i < lookup.size(); ++i) {
      if (statuses[i].IsNotFound()) continue;
      RETURN_IF_ERROR(FromRocks(statuses[i], "version lookup"));
      ASSIGN_OR_RETURN(DecodedValue d,
                       DecodeRecordValue(absl::string_view(values[i].data(),
                                                           values[i].size())));
      stored[i] = d.version;
    }
  }

  // State changes per consumed topic partition, for the offset entries.
  std::vector<ApplyResult> by_source(batch.offsets.size());
  // Reserved up front: growing a multi-MB batch by doubling copies it ~20
  // times.
  size_t reserve = key_buf.size() + n * (kValueHeader + 16) + 4096;
  for (const RecordWrite& w : batch.records) {
    reserve += w.bytes.empty() ? w.serialized.size() : w.bytes.size();
  }
  rocksdb::WriteBatch wb(reserve);
  std::string scratch;
  size_t u = 0;                  // index in lookup of the current key
  std::optional<uint64_t> have;  // version the current key has so far
  for (size_t j = 0; j < n; ++j) {
    const size_t i = order[j];
    const RecordWrite& w = batch.records[i];
    const WriteFields f = FieldsOf(w);
    const rocksdb::Slice k = key(i);
    if (j > 0 && k != key(order[j - 1])) ++u;
    if (j == 0 || k != key(order[j - 1])) have = stored[u];
    ApplyResult dummy;
    ApplyResult& part =
        (w.source >= 0 && w.source < static_cast<int>(by_source.size()))
            ? by_source[w.source]
            : dummy;
    if (have.has_value() && f.version <= *have) {
      ++result.stale;
      ++part.stale;
      continue;
    }
    // Value = header | Record bytes, written as two parts (no concatenation
    // copy of every record).
    char header[kValueHeader];
    uint64_t v = f.version;
    for (int b = 7; b >= 0; --b) {
      header[7 - b] = static_cast<char>(v >> (b * 8));
    }
    // Value = header | Record bytes, from up to three pieces (a tombstone
    // of consumed bytes is the bytes around the payload field).
    rocksdb::Slice value_parts[3] = {rocksdb::Slice(header, kValueHeader)};
    int pieces = 2;
    if (f.is_delete) {
      // The tombstone keeps provenance but not the payload.
      const RecordEnvelope& e = w.envelope;
      if (!w.bytes.empty() && e.payload_fields == 0) {
        value_parts[1] = rocksdb::Slice(w.bytes.data(), w.bytes.size());
      } else if (!w.bytes.empty() && e.payload_fields == 1) {
        value_parts[1] = rocksdb::Slice(w.bytes.data(), e.payload_begin);
        value_parts[2] = rocksdb::Slice(w.bytes.data() + e.payload_end,
                                        w.bytes.size() - e.payload_end);
        pieces = 3;
      } else {
        datarun::v1::Record tomb;
        if (!w.bytes.empty()) {
          // Several payload fields (legal, merged by protobuf): rare.
          if (!tomb.ParseFromArray(w.bytes.data(), w.bytes.size())) {
            return absl::InvalidArgumentError(
                "ApplyBatch: RecordWrite.bytes is not a Record");
          }
        } else {
          tomb = w.record;
        }
        tomb.clear_payload();
        tomb.SerializeToString(&scratch);
        value_parts[1] = rocksdb::Slice(scratch);
      }
      header[8] = static_cast<char>(kOpDelete);
      ++result.deletes;
      ++part.deletes;
    } else {
      if (!w.bytes.empty()) {
        value_parts[1] = rocksdb::Slice(w.bytes.data(), w.bytes.size());
      } else if (w.serialized.empty()) {
        w.record.SerializeToString(&scratch);
        value_parts[1] = rocksdb::Slice(scratch);
      } else {
        value_parts[1] = rocksdb::Slice(w.serialized);
      }
      header[8] = static_cast<char>(kOpUpsert);
      ++result.upserts;
      ++part.upserts;
    }
    RETURN_IF_ERROR(FromRocks(wb.Put(records_, rocksdb::SliceParts(&k, 1),
                                     rocksdb::SliceParts(value_parts, pieces)),
                              "batch put"));
    have = f.version;
  }

  for (size_t i = 0; i < batch.offsets.size(); ++i) {
    const OffsetAdvance& adv = batch.offsets[i];
    std::string key = EncodeOffsetKey(adv.topic, adv.partition);
    StoredOffset entry;
    std::string old;
    rocksdb::Status s = db_->Get(rocksdb::ReadOptions(), offsets_, key, &old);
    if (s.ok()) {
      ASSIGN_OR_RETURN(entry, DecodeOffset(old));
      if (entry.cluster_id != batch.cluster_id) entry = StoredOffset();
    } else if (!s.IsNotFound()) {
      return FromRocks(s, "offset lookup");
    }
    entry.cluster_id = batch.cluster_id;
    entry.next_offset = adv.next_offset;
    entry.messages += adv.messages;
    entry.rejected += adv.rejected;
    entry.applied += by_source[i].upserts + by_source[i].deletes;
    entry.stale += by_source[i].stale;
    RETURN_IF_ERROR(
        FromRocks(wb.Put(offsets_, key, EncodeOffset(entry)), "batch put"));
  }

  rocksdb::WriteOptions wo;
  wo.sync = options_.sync;
  RETURN_IF_ERROR(FromRocks(db_->Write(wo, &wb), "write batch"));
  counters_.batches.fetch_add(1, std::memory_order_relaxed);
  counters_.upserts.fetch_add(result.upserts, std::memory_order_relaxed);
  counters_.deletes.fetch_add(result.deletes, std::memory_order_relaxed);
  counters_.stale.fetch_add(result.stale, std::memory_order_relaxed);
  return result;
}

absl::StatusOr<std::optional<StoredOffset>> RocksDbStateStore::GetOffset(
    absl::string_view topic, int32_t partition) {
  std::string value;
  rocksdb::Status s = db_->Get(rocksdb::ReadOptions(), offsets_,
                               EncodeOffsetKey(topic, partition), &value);
  if (s.IsNotFound()) return std::optional<StoredOffset>();
  RETURN_IF_ERROR(FromRocks(s, "offset lookup"));
  ASSIGN_OR_RETURN(StoredOffset o, DecodeOffset(value));
  return std::optional<StoredOffset>(std::move(o));
}

absl::StatusOr<std::optional<int64_t>> RocksDbStateStore::StartOffset(
    absl::string_view topic, int32_t partition, absl::string_view cluster_id) {
  ASSIGN_OR_RETURN(std::optional<StoredOffset> stored,
                   GetOffset(topic, partition));
  if (!stored.has_value()) return std::optional<int64_t>();
  if (stored->cluster_id != cluster_id) {
    counters_.cluster_id_resets.fetch_add(1, std::memory_order_relaxed);
    DR_LOG(WARNING) << "state: stored offset " << stored->next_offset << " of "
                    << topic << "/" << partition << " belongs to cluster '"
                    << stored->cluster_id << "', now connected to '"
                    << cluster_id
                    << "'; re-reading the partition from the beginning";
    return std::optional<int64_t>();
  }
  return std::optional<int64_t>(stored->next_offset);
}

absl::StatusOr<std::vector<std::pair<std::string, StoredOffset>>>
RocksDbStateStore::AllOffsets() {
  std::vector<std::pair<std::string, StoredOffset>> out;
  std::unique_ptr<rocksdb::Iterator> it(
      db_->NewIterator(rocksdb::ReadOptions(), offsets_));
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    ASSIGN_OR_RETURN(
        TopicPartitionKey tp,
        DecodeOffsetKey(absl::string_view(it->key().data(), it->key().size())));
    ASSIGN_OR_RETURN(StoredOffset o,
                     DecodeOffset(absl::string_view(it->value().data(),
                                                    it->value().size())));
    out.emplace_back(absl::StrCat(tp.topic, "/", tp.partition), std::move(o));
  }
  RETURN_IF_ERROR(FromRocks(it->status(), "offset scan"));
  return out;
}

absl::StatusOr<std::vector<datarun::v1::Record>> RocksDbStateStore::Profile(
    int32_t partition, absl::string_view subject_id,
    const absl::flat_hash_set<std::string>& classes) {
  std::vector<std::string> prefixes;
  if (classes.empty()) {
    prefixes.push_back(EncodeSubjectPrefix(partition, subject_id));
  } else {
    std::vector<std::string> sorted(classes.begin(), classes.end());
    std::sort(sorted.begin(), sorted.end());
    for (const auto& c : sorted) {
      prefixes.push_back(EncodeClassPrefix(partition, subject_id, c));
    }
  }
  std::unique_ptr<rocksdb::Iterator> it = TakeIterator();
  // Back to the pool unless it failed (a failed one is dropped).
  absl::Cleanup give_back = [&] {
    if (it->status().ok()) ReturnIterator(std::move(it));
  };
  std::vector<datarun::v1::Record> out;
  for (const auto& prefix : prefixes) {
    for (it->Seek(prefix); it->Valid() && it->key().starts_with(prefix);
         it->Next()) {
      ASSIGN_OR_RETURN(std::optional<datarun::v1::Record> r,
                       LiveRecord(absl::string_view(it->value().data(),
                                                    it->value().size())));
      if (r.has_value()) out.push_back(*std::move(r));
    }
    RETURN_IF_ERROR(FromRocks(it->status(), "profile scan"));
  }
  return out;
}

absl::Status RocksDbStateStore::VisitProfile(
    int32_t partition, absl::string_view subject_id,
    absl::FunctionRef<absl::Status(absl::string_view record)> visit) {
  // As in ApplyBatch: the per-thread perf counters cost a TLS lookup on
  // every key comparison of the seek; nothing reads them here.
  rocksdb::SetPerfLevel(options_.perf_counters
                            ? rocksdb::PerfLevel::kEnableCount
                            : rocksdb::PerfLevel::kDisable);
  std::string prefix;
  prefix.reserve(8 + subject_id.size());
  AppendPartition(partition, &prefix);
  AppendEscaped(subject_id, &prefix);
  std::unique_ptr<rocksdb::Iterator> it = TakeIterator();
  absl::Cleanup give_back = [&] {
    if (it->status().ok()) ReturnIterator(std::move(it));
  };
  for (it->Seek(prefix); it->Valid() && it->key().starts_with(prefix);
       it->Next()) {
    ASSIGN_OR_RETURN(DecodedValue d,
                     DecodeRecordValue(absl::string_view(it->value().data(),
                                                         it->value().size())));
    if (d.op == kOpDelete) continue;
    RETURN_IF_ERROR(visit(d.record));
  }
  return FromRocks(it->status(), "profile scan");
}

std::unique_ptr<rocksdb::Iterator> RocksDbStateStore::TakeIterator() {
  std::unique_ptr<rocksdb::Iterator> it;
  {
    absl::MutexLock lock(&iterators_mu_);
    if (!idle_iterators_.empty()) {
      it = std::move(idle_iterators_.back());
      idle_iterators_.pop_back();
    }
  }
  // Refresh reads as of now, like a new iterator: it rebuilds only when the
  // column family's memtables or files changed, and otherwise just moves
  // the read sequence forward.
  if (it != nullptr && it->Refresh().ok()) return it;
  rocksdb::ReadOptions ro;
  ro.prefix_same_as_start = true;  // lets the prefix bloom skip files
  return std::unique_ptr<rocksdb::Iterator>(db_->NewIterator(ro, records_));
}

void RocksDbStateStore::ReturnIterator(std::unique_ptr<rocksdb::Iterator> it) {
  absl::MutexLock lock(&iterators_mu_);
  if (idle_iterators_.size() < kMaxIdleIterators) {
    idle_iterators_.push_back(std::move(it));
  }
}

absl::StatusOr<std::vector<std::vector<datarun::v1::Record>>>
RocksDbStateStore::MultiProfile(
    const std::vector<SubjectRef>& subjects,
    const absl::flat_hash_set<std::string>& classes) {
  std::vector<std::vector<datarun::v1::Record>> out;
  out.reserve(subjects.size());
  for (const auto& s : subjects) {
    ASSIGN_OR_RETURN(auto profile, Profile(s.partition, s.subject_id, classes));
    out.push_back(std::move(profile));
  }
  return out;
}

absl::StatusOr<std::optional<datarun::v1::Record>> RocksDbStateStore::Get(
    const RecordRef& ref) {
  std::string value;
  rocksdb::Status s = db_->Get(rocksdb::ReadOptions(), records_,
                               EncodeRecordKey(ref.partition, ref.subject_id,
                                               ref.data_class, ref.record_key),
                               &value);
  if (s.IsNotFound()) return std::optional<datarun::v1::Record>();
  RETURN_IF_ERROR(FromRocks(s, "get"));
  return LiveRecord(value);
}

absl::StatusOr<std::vector<std::optional<datarun::v1::Record>>>
RocksDbStateStore::MultiGet(const std::vector<RecordRef>& refs) {
  std::vector<std::string> keys;
  keys.reserve(refs.size());
  for (const auto& r : refs) {
    keys.push_back(
        EncodeRecordKey(r.partition, r.subject_id, r.data_class, r.record_key));
  }
  std::vector<rocksdb::Slice> slices(keys.begin(), keys.end());
  std::vector<rocksdb::PinnableSlice> values(keys.size());
  std::vector<rocksdb::Status> statuses(keys.size());
  if (!keys.empty()) {
    db_->MultiGet(rocksdb::ReadOptions(), records_, keys.size(), slices.data(),
                  values.data(), statuses.data());
  }
  std::vector<std::optional<datarun::v1::Record>> out(keys.size());
  for (size_t i = 0; i < keys.size(); ++i) {
    if (statuses[i].IsNotFound()) continue;
    RETURN_IF_ERROR(FromRocks(statuses[i], "multiget"));
    ASSIGN_OR_RETURN(out[i], LiveRecord(absl::string_view(values[i].data(),
                                                          values[i].size())));
  }
  return out;
}

absl::Status RocksDbStateStore::PutChainHead(int32_t partition,
                                             absl::string_view head) {
  rocksdb::WriteOptions wo;
  wo.sync = options_.sync;
  return FromRocks(db_->Put(wo, chain_heads_, ChainHeadKey(partition),
                            rocksdb::Slice(head.data(), head.size())),
                   "put chain head");
}

absl::StatusOr<std::optional<std::string>> RocksDbStateStore::GetChainHead(
    int32_t partition) {
  std::string value;
  rocksdb::Status s = db_->Get(rocksdb::ReadOptions(), chain_heads_,
                               ChainHeadKey(partition), &value);
  if (s.IsNotFound()) return std::optional<std::string>();
  RETURN_IF_ERROR(FromRocks(s, "get chain head"));
  return std::optional<std::string>(std::move(value));
}

absl::Status RocksDbStateStore::CompactAll() {
  rocksdb::CompactRangeOptions o;
  o.bottommost_level_compaction = rocksdb::BottommostLevelCompaction::kForce;
  for (auto* h : handles_) {
    RETURN_IF_ERROR(
        FromRocks(db_->CompactRange(o, h, nullptr, nullptr), "compaction"));
  }
  return absl::OkStatus();
}

absl::Status RocksDbStateStore::Flush() {
  rocksdb::FlushOptions fo;
  fo.wait = true;
  // Do not wait for compactions to clear a write stall first: at shutdown
  // that can take minutes, and compactions resume at the next start.
  fo.allow_write_stall = true;
  return FromRocks(db_->Flush(fo, handles_), "flush");
}

absl::StatusOr<uint64_t> RocksDbStateStore::CountEntries() {
  uint64_t n = 0;
  rocksdb::ReadOptions ro;
  ro.total_order_seek = true;
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(ro, records_));
  for (it->SeekToFirst(); it->Valid(); it->Next()) ++n;
  RETURN_IF_ERROR(FromRocks(it->status(), "count scan"));
  return n;
}

absl::Status RocksDbStateStore::ScanAll(
    const std::function<void(const Entry&)>& visit) {
  rocksdb::ReadOptions ro;
  ro.total_order_seek = true;
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(ro, records_));
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    Entry e;
    ASSIGN_OR_RETURN(e.address, DecodeRecordKey(absl::string_view(
                                    it->key().data(), it->key().size())));
    ASSIGN_OR_RETURN(DecodedValue d,
                     DecodeRecordValue(absl::string_view(it->value().data(),
                                                         it->value().size())));
    e.version = d.version;
    e.deleted = d.op == kOpDelete;
    e.record = d.record;
    visit(e);
  }
  return FromRocks(it->status(), "scan");
}

}  // namespace datarun::state
