// StateStore on RocksDB 7.8: the production state of one datarund instance.
//
// Column families:
//   records      key_codec record key -> u64 BE source version | u8 op |
//                serialized datarun.v1.Record (a DELETE keeps a stripped
//                Record as tombstone: provenance, no payload)
//   offsets      key_codec offset key -> StoredOffset (see the .cc)
//   chain_heads  u32 BE partition -> opaque audit chain head
// The records family has a prefix extractor on partition|subject with a
// bloom filter, so a profile is one prefix scan that skips unrelated files.
// Memory is bounded: one LRU block cache, and a WriteBufferManager that
// charges the memtables of every family to that cache.
//
// Durability: every batch goes through the WAL; with `sync` (the default)
// each batch is fsync'ed before ApplyBatch returns, so even a machine crash
// loses nothing acknowledged. Without it a process crash (SIGKILL) still
// loses nothing (the OS page cache survives), a machine crash can lose the
// last batches, which are then re-consumed from Kafka because their offsets
// were lost with them.
//
// Thread-safety: as StateStore.
#ifndef DATARUN_EXCHANGE_STATE_ROCKSDB_ROCKSDB_STATE_STORE_H_
#define DATARUN_EXCHANGE_STATE_ROCKSDB_ROCKSDB_STATE_STORE_H_

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "exchange/state/key_codec.h"
#include "exchange/state/state_store.h"
#include "rocksdb/cache.h"
#include "rocksdb/db.h"
#include "rocksdb/statistics.h"

namespace datarun::state {

struct RocksDbStateOptions {
  std::string dir;
  // The one cache for data, index and filter blocks and memtables.
  size_t block_cache_bytes = size_t{512} << 20;
  // Memtables of all column families together (charged to the cache).
  size_t write_buffer_bytes = size_t{192} << 20;
  // fsync every batch (see the header comment).
  bool sync = true;

  // Write-path tuning, measured with tests/bench:ingest (docs/benchmarks.md,
  // "Ingest"); the defaults are what measured best.
  // RocksDB's per-thread perf counters on ApplyBatch's thread and on the
  // threads calling VisitProfile (touched on every key comparison of the
  // memtable insert and of the seek).
  bool perf_counters = false;
  // Memtable size of the records family (two may exist: one active, one
  // flushing), within write_buffer_bytes. 32 MiB: +27% process CPU per
  // record at 2M records (more compaction), 96 MiB: no gain.
  size_t records_write_buffer_bytes = size_t{64} << 20;
  // LZ4 on the records family's base level too (the level L0 files are
  // compacted into). Off: LZ4 was 48% of the compaction thread's CPU while
  // ingesting (~1.3 us per record of ~14). The levels below the base stay
  // LZ4; the state takes ~1.4x the disk of all-LZ4 (docs/benchmarks.md,
  // "Ingest").
  bool compress_records = false;
  // Read-path tuning of the records tables, measured with tests/bench:query
  // (docs/benchmarks.md, "Resolver profile queries"). Both are per table
  // file: a state written with other values opens and reads as before, and
  // compactions rewrite its files with these.
  // Index each records table by a hash of the subject prefixes
  // (BlockBasedTableOptions::kHashSearch) instead of a binary search over
  // the index block.
  bool records_prefix_hash_index = true;
  // Keys between restart points of a records data block (RocksDB's default:
  // 16); a seek walks up to that many delta-encoded keys after its binary
  // search. 4: -0.7k instructions per profile answer, ~2% larger tables.
  int records_block_restart_interval = 4;
  // rocksdb::Statistics at kExceptHistogramOrTimers (tickers only), for the
  // block cache hit and miss counts in Storage() (datarund's /metrics).
  bool statistics = true;
};

// Size and cache figures of the store, for /metrics (Storage()).
struct StorageStats {
  uint64_t live_data_bytes = 0;  // rocksdb.estimate-live-data-size, all CFs
  uint64_t sst_files_bytes = 0;  // rocksdb.total-sst-files-size, all CFs
  uint64_t memtable_bytes = 0;   // rocksdb.cur-size-all-mem-tables, all CFs
  uint64_t block_cache_usage_bytes = 0;  // includes charged memtables
  uint64_t block_cache_capacity_bytes = 0;
  // Lookups of data, index and filter blocks since Open (0 without
  // RocksDbStateOptions::statistics).
  uint64_t block_cache_hits = 0;
  uint64_t block_cache_misses = 0;
};

class RocksDbStateStore : public StateStore {
 public:
  // Opens or creates the state in options.dir. Errors name the directory.
  static absl::StatusOr<std::unique_ptr<RocksDbStateStore>> Open(
      const RocksDbStateOptions& options);

  ~RocksDbStateStore() override;

  absl::StatusOr<ApplyResult> ApplyBatch(const IngestBatch& batch) override;
  absl::StatusOr<std::optional<int64_t>> StartOffset(
      absl::string_view topic, int32_t partition,
      absl::string_view cluster_id) override;
  absl::StatusOr<std::vector<std::pair<std::string, StoredOffset>>> AllOffsets()
      override;
  absl::StatusOr<std::optional<StoredOffset>> GetOffset(
      absl::string_view topic, int32_t partition) override;
  absl::StatusOr<std::vector<datarun::v1::Record>> Profile(
      int32_t partition, absl::string_view subject_id,
      const absl::flat_hash_set<std::string>& classes) override;
  absl::Status VisitProfile(
      int32_t partition, absl::string_view subject_id,
      absl::FunctionRef<absl::Status(absl::string_view record)> visit) override;
  absl::StatusOr<std::vector<std::vector<datarun::v1::Record>>> MultiProfile(
      const std::vector<SubjectRef>& subjects,
      const absl::flat_hash_set<std::string>& classes) override;
  absl::StatusOr<std::optional<datarun::v1::Record>> Get(
      const RecordRef& ref) override;
  absl::StatusOr<std::vector<std::optional<datarun::v1::Record>>> MultiGet(
      const std::vector<RecordRef>& refs) override;
  absl::Status PutChainHead(int32_t partition, absl::string_view head) override;
  absl::StatusOr<std::optional<std::string>> GetChainHead(
      int32_t partition) override;
  absl::Status Flush() override;
  const StateCounters& counters() const override { return counters_; }

  // Compacts every column family down to its last level, rewriting each
  // table file with the current table options. Blocks until done; for tools
  // and tests.
  absl::Status CompactAll();

  // Number of stored record entries including tombstones (full scan; for
  // tests and tools).
  absl::StatusOr<uint64_t> CountEntries();

  // Every stored entry in key order, tombstones included (for tests, state
  // dumps and checks). `record` holds the stored Record bytes.
  struct Entry {
    RecordAddress address;
    uint64_t version = 0;
    bool deleted = false;
    absl::string_view record;
  };
  absl::Status ScanAll(const std::function<void(const Entry&)>& visit);

  rocksdb::DB* db() { return db_.get(); }

  // Reads a few DB properties and tickers; cheap (no I/O), any thread.
  StorageStats Storage() const;

 private:
  RocksDbStateStore() = default;

  RocksDbStateOptions options_;
  std::unique_ptr<rocksdb::DB> db_;
  std::shared_ptr<rocksdb::Cache> cache_;
  std::shared_ptr<rocksdb::Statistics> statistics_;  // null: off
  // Owned by db_; destroyed before it in the destructor.
  std::vector<rocksdb::ColumnFamilyHandle*> handles_;
  rocksdb::ColumnFamilyHandle* records_ = nullptr;
  rocksdb::ColumnFamilyHandle* offsets_ = nullptr;
  rocksdb::ColumnFamilyHandle* chain_heads_ = nullptr;
  StateCounters counters_;
  // Serialises ApplyBatch: the version read and the write are one step.
  absl::Mutex apply_mu_;

  // Profile scans reuse iterators: creating one costs as much as the seek
  // (a SuperVersion reference and a merging iterator over every memtable
  // and level), Refresh() almost nothing while no flush or compaction has
  // happened since. One idle iterator per concurrent reader at most; an idle
  // one keeps the memtables and table files it last saw alive until it is
  // used again or the store closes.
  static constexpr size_t kMaxIdleIterators = 16;
  std::unique_ptr<rocksdb::Iterator> TakeIterator();
  void ReturnIterator(std::unique_ptr<rocksdb::Iterator> it);
  absl::Mutex iterators_mu_;
  std::vector<std::unique_ptr<rocksdb::Iterator>> idle_iterators_
      ABSL_GUARDED_BY(iterators_mu_);
};

}  // namespace datarun::state

#endif  // DATARUN_EXCHANGE_STATE_ROCKSDB_ROCKSDB_STATE_STORE_H_
