#include "exchange/state/rocksdb/rocksdb_state_store.h"

#include <cstdlib>
#include <filesystem>
#include <string>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"

namespace datarun::state {
namespace {

using datarun::v1::Record;

std::string TempDir(absl::string_view name) {
  const char* base = std::getenv("TEST_TMPDIR");
  std::string dir = absl::StrCat(base ? base : "/tmp", "/", name);
  std::filesystem::remove_all(dir);
  return dir;
}

Record MakeRecord(absl::string_view subject, absl::string_view cls,
                  absl::string_view key, uint64_t version,
                  Record::Op op = Record::OP_UPSERT) {
  Record r;
  r.mutable_subject()->set_kind(datarun::v1::SUBJECT_KIND_CITIZEN);
  r.mutable_subject()->set_id(std::string(subject));
  r.set_data_class(std::string(cls));
  r.set_record_key(std::string(key));
  r.set_source_department("public_security");
  r.set_source_version(version);
  r.set_op(op);
  r.mutable_event_time()->set_seconds(1700000000 + version);
  if (op == Record::OP_UPSERT) {
    r.mutable_payload()->set_type_url("type.googleapis.com/x.Y");
    r.mutable_payload()->set_value(absl::StrCat("v", version));
  }
  return r;
}

RecordWrite Write(int32_t partition, Record r, int source = -1) {
  RecordWrite w;
  w.partition = partition;
  w.record = std::move(r);
  w.source = source;
  return w;
}

class RocksDbStateStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    options_.dir = TempDir(
        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    options_.block_cache_bytes = 8 << 20;
    options_.write_buffer_bytes = 4 << 20;
    Reopen();
  }
  void Reopen() {
    store_.reset();
    auto s = RocksDbStateStore::Open(options_);
    ASSERT_TRUE(s.ok()) << s.status();
    store_ = *std::move(s);
  }
  ApplyResult Apply(IngestBatch batch) {
    auto r = store_->ApplyBatch(batch);
    EXPECT_TRUE(r.ok()) << r.status();
    return r.ok() ? *r : ApplyResult{};
  }
  std::optional<Record> GetOne(int32_t p, absl::string_view subject,
                               absl::string_view cls, absl::string_view key) {
    auto r = store_->Get(
        RecordRef{p, std::string(subject), std::string(cls), std::string(key)});
    EXPECT_TRUE(r.ok()) << r.status();
    return r.ok() ? *r : std::nullopt;
  }

  RocksDbStateOptions options_;
  std::unique_ptr<RocksDbStateStore> store_;
};

TEST_F(RocksDbStateStoreTest, NewerVersionReplacesOlderAndEqualAreIgnored) {
  IngestBatch b;
  b.records.push_back(Write(1, MakeRecord("S1", "vehicle", "A1", 5)));
  EXPECT_EQ(Apply(b).upserts, 1u);

  IngestBatch older;
  older.records.push_back(Write(1, MakeRecord("S1", "vehicle", "A1", 4)));
  older.records.push_back(Write(1, MakeRecord("S1", "vehicle", "A1", 5)));
  ApplyResult r = Apply(older);
  EXPECT_EQ(r.upserts, 0u);
  EXPECT_EQ(r.stale, 2u);
  EXPECT_EQ(GetOne(1, "S1", "vehicle", "A1")->payload().value(), "v5");

  IngestBatch newer;
  newer.records.push_back(Write(1, MakeRecord("S1", "vehicle", "A1", 9)));
  EXPECT_EQ(Apply(newer).upserts, 1u);
  auto got = GetOne(1, "S1", "vehicle", "A1");
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(got->source_version(), 9u);
  EXPECT_EQ(got->payload().value(), "v9");
  EXPECT_EQ(got->source_department(), "public_security");
  EXPECT_EQ(got->event_time().seconds(), 1700000009);
}

TEST_F(RocksDbStateStoreTest, VersionRuleHoldsInsideOneBatch) {
  // Out-of-order versions of one key in one batch: the highest wins, the
  // rest are counted stale.
  IngestBatch b;
  b.records.push_back(Write(0, MakeRecord("S", "c", "", 3)));
  b.records.push_back(Write(0, MakeRecord("S", "c", "", 7)));
  b.records.push_back(Write(0, MakeRecord("S", "c", "", 6)));
  ApplyResult r = Apply(b);
  EXPECT_EQ(r.upserts, 2u);
  EXPECT_EQ(r.stale, 1u);
  EXPECT_EQ(GetOne(0, "S", "c", "")->source_version(), 7u);
}

TEST_F(RocksDbStateStoreTest, InterleavedKeysUseTheirOwnStoredVersions) {
  // Several keys, some stored, some new, interleaved in arrival order: each
  // write is checked against its own key's stored or earlier-in-batch
  // version, never a neighbour's.
  IngestBatch first;
  first.records.push_back(Write(2, MakeRecord("A", "c", "", 5)));
  first.records.push_back(Write(2, MakeRecord("C", "c", "", 5)));
  EXPECT_EQ(Apply(first).upserts, 2u);

  IngestBatch b;
  b.records.push_back(Write(2, MakeRecord("B", "c", "", 1)));  // new
  b.records.push_back(Write(2, MakeRecord("A", "c", "", 3)));  // stale
  b.records.push_back(Write(2, MakeRecord("C", "c", "", 6)));  // newer
  b.records.push_back(Write(2, MakeRecord("A", "c", "", 6)));  // newer
  b.records.push_back(Write(2, MakeRecord("B", "c", "", 1)));  // equal
  b.records.push_back(Write(2, MakeRecord("C", "c", "", 4)));  // stale
  b.records.push_back(Write(3, MakeRecord("A", "c", "", 1)));  // other part.
  ApplyResult r = Apply(b);
  EXPECT_EQ(r.upserts, 4u);
  EXPECT_EQ(r.stale, 3u);
  EXPECT_EQ(GetOne(2, "A", "c", "")->source_version(), 6u);
  EXPECT_EQ(GetOne(2, "B", "c", "")->source_version(), 1u);
  EXPECT_EQ(GetOne(2, "C", "c", "")->source_version(), 6u);
  EXPECT_EQ(GetOne(3, "A", "c", "")->source_version(), 1u);
}

TEST_F(RocksDbStateStoreTest, TombstoneBlocksOlderUpsertAndNewerRevives) {
  IngestBatch b;
  b.records.push_back(Write(2, MakeRecord("S", "estate", "T1", 10)));
  b.records.push_back(
      Write(2, MakeRecord("S", "estate", "T1", 11, Record::OP_DELETE)));
  ApplyResult r = Apply(b);
  EXPECT_EQ(r.upserts, 1u);
  EXPECT_EQ(r.deletes, 1u);
  EXPECT_FALSE(GetOne(2, "S", "estate", "T1").has_value());

  Reopen();  // the tombstone is durable
  IngestBatch late;
  late.records.push_back(Write(2, MakeRecord("S", "estate", "T1", 10)));
  EXPECT_EQ(Apply(late).stale, 1u);
  EXPECT_FALSE(GetOne(2, "S", "estate", "T1").has_value());
  auto profile = store_->Profile(2, "S", {});
  ASSERT_TRUE(profile.ok());
  EXPECT_TRUE(profile->empty());
  auto entries = store_->CountEntries();
  ASSERT_TRUE(entries.ok());
  EXPECT_EQ(*entries, 1u);  // the tombstone

  IngestBatch revive;
  revive.records.push_back(Write(2, MakeRecord("S", "estate", "T1", 12)));
  EXPECT_EQ(Apply(revive).upserts, 1u);
  EXPECT_EQ(GetOne(2, "S", "estate", "T1")->source_version(), 12u);
}

TEST_F(RocksDbStateStoreTest, ProfileIsOneSubjectAcrossClassesOnly) {
  IngestBatch b;
  b.records.push_back(Write(4, MakeRecord("AB", "vehicle", "P2", 1)));
  b.records.push_back(Write(4, MakeRecord("A", "vehicle", "P1", 1)));
  b.records.push_back(Write(4, MakeRecord("A", "household", "", 1)));
  b.records.push_back(Write(4, MakeRecord("A", "vehicle", "P0", 1)));
  b.records.push_back(Write(5, MakeRecord("A", "vehicle", "other-part", 1)));
  b.records.push_back(
      Write(4, MakeRecord("A", "insurance", "", 2, Record::OP_DELETE)));
  Apply(b);
  ASSERT_TRUE(store_->Flush().ok());  // read from table files too
  b.records.clear();
  b.records.push_back(Write(4, MakeRecord("A", "credit", "", 1)));
  Apply(b);

  auto all = store_->Profile(4, "A", {});
  ASSERT_TRUE(all.ok()) << all.status();
  std::vector<std::string> got;
  for (const auto& r : *all)
    got.push_back(r.data_class() + "/" + r.record_key());
  EXPECT_EQ(got, (std::vector<std::string>{"credit/", "household/",
                                           "vehicle/P0", "vehicle/P1"}));

  auto vehicles = store_->Profile(4, "A", {"vehicle", "absent"});
  ASSERT_TRUE(vehicles.ok());
  ASSERT_EQ(vehicles->size(), 2u);
  EXPECT_EQ((*vehicles)[0].record_key(), "P0");

  auto many = store_->MultiProfile({{4, "AB"}, {4, "nobody"}, {5, "A"}}, {});
  ASSERT_TRUE(many.ok());
  ASSERT_EQ(many->size(), 3u);
  EXPECT_EQ((*many)[0].size(), 1u);
  EXPECT_EQ((*many)[1].size(), 0u);
  EXPECT_EQ((*many)[2].size(), 1u);

  auto multi = store_->MultiGet({{4, "A", "household", ""},
                                 {4, "A", "insurance", ""},
                                 {4, "A", "vehicle", "P9"},
                                 {5, "A", "vehicle", "other-part"}});
  ASSERT_TRUE(multi.ok());
  EXPECT_TRUE((*multi)[0].has_value());
  EXPECT_FALSE((*multi)[1].has_value());  // tombstone
  EXPECT_FALSE((*multi)[2].has_value());
  EXPECT_TRUE((*multi)[3].has_value());
}

// Profile reuses its iterators: each scan must still see every write made
// before it, across memtable writes, deletes and flushes.
TEST_F(RocksDbStateStoreTest, ProfileSeesWritesMadeAfterEarlierProfiles) {
  auto keys = [&](absl::string_view subject) {
    auto p = store_->Profile(1, subject, {});
    EXPECT_TRUE(p.ok()) << p.status();
    std::vector<std::string> got;
    if (p.ok()) {
      for (const auto& r : *p) got.push_back(r.record_key());
    }
    return got;
  };
  auto apply = [&](Record r) {
    IngestBatch b;
    b.records.push_back(Write(1, std::move(r)));
    Apply(b);
  };
  EXPECT_TRUE(keys("S").empty());
  apply(MakeRecord("S", "vehicle", "P1", 1));
  EXPECT_EQ(keys("S"), (std::vector<std::string>{"P1"}));
  apply(MakeRecord("S", "vehicle", "P2", 1));
  EXPECT_EQ(keys("S"), (std::vector<std::string>{"P1", "P2"}));
  ASSERT_TRUE(store_->Flush().ok());
  EXPECT_EQ(keys("S"), (std::vector<std::string>{"P1", "P2"}));
  apply(MakeRecord("S", "vehicle", "P1", 2, Record::OP_DELETE));
  EXPECT_EQ(keys("S"), (std::vector<std::string>{"P2"}));
  apply(MakeRecord("S", "vehicle", "P3", 1));
  ASSERT_TRUE(store_->Flush().ok());
  EXPECT_EQ(keys("S"), (std::vector<std::string>{"P2", "P3"}));
  // Two scans at once take two iterators; both are right.
  auto outer = store_->Profile(1, "S", {});
  apply(MakeRecord("T", "vehicle", "Q1", 1));
  EXPECT_EQ(keys("T"), (std::vector<std::string>{"Q1"}));
  ASSERT_TRUE(outer.ok());
  EXPECT_EQ(outer->size(), 2u);
}

// VisitProfile hands out the stored bytes of what Profile returns (same
// records, same order, tombstones and other subjects left out) and stops at
// the visitor's first error.
TEST_F(RocksDbStateStoreTest, VisitProfileGivesTheBytesProfileParses) {
  IngestBatch b;
  b.records.push_back(Write(4, MakeRecord("A", "vehicle", "P1", 3)));
  b.records.push_back(Write(4, MakeRecord("A", "household", "", 1)));
  b.records.push_back(Write(4, MakeRecord("AB", "vehicle", "P2", 1)));
  b.records.push_back(
      Write(4, MakeRecord("A", "insurance", "", 2, Record::OP_DELETE)));
  Apply(b);
  ASSERT_TRUE(store_->Flush().ok());
  b.records.clear();
  b.records.push_back(Write(4, MakeRecord("A", "credit", "", 7)));
  b.records.push_back(Write(4, MakeRecord("A", "vehicle", "P0", 1)));
  Apply(b);

  auto profile = store_->Profile(4, "A", {});
  ASSERT_TRUE(profile.ok()) << profile.status();
  ASSERT_EQ(profile->size(), 4u);
  std::vector<Record> visited;
  absl::Status st = store_->VisitProfile(4, "A", [&](absl::string_view bytes) {
    Record r;
    EXPECT_TRUE(r.ParseFromArray(bytes.data(), bytes.size()));
    visited.push_back(std::move(r));
    return absl::OkStatus();
  });
  ASSERT_TRUE(st.ok()) << st;
  ASSERT_EQ(visited.size(), profile->size());
  for (size_t i = 0; i < visited.size(); ++i) {
    EXPECT_EQ(visited[i].SerializeAsString(), (*profile)[i].SerializeAsString())
        << i;
  }
  EXPECT_EQ(visited[0].data_class(), "credit");
  EXPECT_EQ(visited[0].source_version(), 7u);

  int calls = 0;
  st = store_->VisitProfile(4, "A", [&](absl::string_view) {
    ++calls;
    return absl::DataLossError("stop here");
  });
  EXPECT_EQ(st, absl::DataLossError("stop here"));
  EXPECT_EQ(calls, 1);
  // The iterator given back after the visitor's error still works.
  calls = 0;
  ASSERT_TRUE(store_
                  ->VisitProfile(4, "nobody",
                                 [&](absl::string_view) {
                                   ++calls;
                                   return absl::OkStatus();
                                 })
                  .ok());
  EXPECT_EQ(calls, 0);
  ASSERT_TRUE(store_
                  ->VisitProfile(4, "AB",
                                 [&](absl::string_view) {
                                   ++calls;
                                   return absl::OkStatus();
                                 })
                  .ok());
  EXPECT_EQ(calls, 1);
}

TEST_F(RocksDbStateStoreTest, OffsetsAreWrittenWithTheRecordsAndCount) {
  IngestBatch b;
  b.cluster_id = "cluster-1";
  b.offsets.push_back({"dr.data.police.household", 3, 100, 3, 1});
  b.records.push_back(Write(3, MakeRecord("S", "household", "", 1), 0));
  b.records.push_back(Write(3, MakeRecord("S", "household", "", 1), 0));
  Apply(b);
  Reopen();
  auto o = store_->GetOffset("dr.data.police.household", 3);
  ASSERT_TRUE(o.ok() && o->has_value());
  EXPECT_EQ((*o)->next_offset, 100);
  EXPECT_EQ((*o)->cluster_id, "cluster-1");
  EXPECT_EQ((*o)->messages, 3u);
  EXPECT_EQ((*o)->rejected, 1u);
  EXPECT_EQ((*o)->applied, 1u);
  EXPECT_EQ((*o)->stale, 1u);

  // The next batch accumulates.
  IngestBatch next;
  next.cluster_id = "cluster-1";
  next.offsets.push_back({"dr.data.police.household", 3, 150, 50, 0});
  next.records.push_back(Write(3, MakeRecord("S", "household", "", 2), 0));
  Apply(next);
  o = store_->GetOffset("dr.data.police.household", 3);
  EXPECT_EQ((*o)->next_offset, 150);
  EXPECT_EQ((*o)->messages, 53u);
  EXPECT_EQ((*o)->applied, 2u);

  auto start = store_->StartOffset("dr.data.police.household", 3, "cluster-1");
  ASSERT_TRUE(start.ok());
  EXPECT_EQ(start->value(), 150);
  auto none = store_->StartOffset("dr.data.police.household", 4, "cluster-1");
  ASSERT_TRUE(none.ok());
  EXPECT_FALSE(none->has_value());
  auto all = store_->AllOffsets();
  ASSERT_TRUE(all.ok());
  ASSERT_EQ(all->size(), 1u);
  EXPECT_EQ((*all)[0].first, "dr.data.police.household/3");
}

TEST_F(RocksDbStateStoreTest, ClusterIdChangeRereadsAndRestartsCounters) {
  IngestBatch b;
  b.cluster_id = "old";
  b.offsets.push_back({"t", 0, 500, 500, 0});
  Apply(b);
  EXPECT_EQ(store_->counters().cluster_id_resets.load(), 0u);
  auto start = store_->StartOffset("t", 0, "new");
  ASSERT_TRUE(start.ok());
  EXPECT_FALSE(start->has_value()) << "must not reuse another cluster's offset";
  EXPECT_EQ(store_->counters().cluster_id_resets.load(), 1u);

  IngestBatch fresh;
  fresh.cluster_id = "new";
  fresh.offsets.push_back({"t", 0, 7, 7, 0});
  Apply(fresh);
  auto o = store_->GetOffset("t", 0);
  EXPECT_EQ((*o)->cluster_id, "new");
  EXPECT_EQ((*o)->next_offset, 7);
  EXPECT_EQ((*o)->messages, 7u);
  EXPECT_EQ(store_->StartOffset("t", 0, "new")->value(), 7);
}

TEST_F(RocksDbStateStoreTest, ChainHeadsPersist) {
  EXPECT_FALSE(store_->GetChainHead(1)->has_value());
  ASSERT_TRUE(store_->PutChainHead(1, "head-bytes").ok());
  Reopen();
  EXPECT_EQ(store_->GetChainHead(1)->value(), "head-bytes");
}

// The records tables' index type and restart interval are per table file:
// a state written before they changed (binary-search index, RocksDB's
// restart interval) opens and reads the same with the current ones, next to
// files written with them, and after a compaction rewrote them all.
TEST_F(RocksDbStateStoreTest, StateWrittenWithEarlierTableOptionsReadsTheSame) {
  auto subject = [](int i) { return absl::StrCat("S", i); };
  auto apply = [&](int from, int to, uint64_t version) {
    IngestBatch b;
    for (int i = from; i < to; ++i) {
      // Several data blocks' worth of keys, three per subject.
      b.records.push_back(
          Write(i % 4, MakeRecord(subject(i), "household", "", version)));
      b.records.push_back(
          Write(i % 4, MakeRecord(subject(i), "vehicle", "P1", version)));
      b.records.push_back(
          Write(i % 4, MakeRecord(subject(i), "vehicle", "P2", version)));
    }
    Apply(b);
    ASSERT_TRUE(store_->Flush().ok());
  };
  // What every read path gives, subject by subject.
  auto read_all = [&](int n) {
    std::vector<std::string> out;
    for (int i = 0; i < n; ++i) {
      auto p = store_->Profile(i % 4, subject(i), {});
      EXPECT_TRUE(p.ok()) << p.status();
      std::string line = subject(i) + ":";
      if (p.ok()) {
        for (const auto& r : *p) {
          absl::StrAppend(&line, " ", r.data_class(), "/", r.record_key(), "@",
                          r.source_version());
        }
      }
      auto vehicles = store_->Profile(i % 4, subject(i), {"vehicle"});
      EXPECT_TRUE(vehicles.ok());
      if (vehicles.ok()) absl::StrAppend(&line, " v", vehicles->size());
      int visited = 0;
      EXPECT_TRUE(store_
                      ->VisitProfile(i % 4, subject(i),
                                     [&](absl::string_view) {
                                       ++visited;
                                       return absl::OkStatus();
                                     })
                      .ok());
      auto got = GetOne(i % 4, subject(i), "vehicle", "P2");
      absl::StrAppend(&line, " visited ", visited, " get ",
                      got.has_value() ? got->source_version() : 0);
      out.push_back(line);
    }
    // An absent subject between present ones, and one past the last.
    auto none = store_->Profile(1, "S1x", {});
    EXPECT_TRUE(none.ok() && none->empty());
    none = store_->Profile(3, "zzz", {});
    EXPECT_TRUE(none.ok() && none->empty());
    return out;
  };

  options_.records_prefix_hash_index = false;
  options_.records_block_restart_interval = 16;
  Reopen();
  apply(0, 400, 1);
  const std::vector<std::string> before = read_all(400);
  ASSERT_EQ(before[7],
            "S7: household/@1 vehicle/P1@1 vehicle/P2@1 v2 "
            "visited 3 get 1");

  options_ = RocksDbStateOptions{options_.dir};
  options_.block_cache_bytes = 8 << 20;
  options_.write_buffer_bytes = 4 << 20;
  ASSERT_TRUE(options_.records_prefix_hash_index);
  Reopen();
  EXPECT_EQ(read_all(400), before);
  // New files next to the old ones: half the subjects rewritten, new ones.
  apply(200, 600, 2);
  std::vector<std::string> want = before;
  want.resize(600);
  auto after = read_all(600);
  for (int i = 200; i < 600; ++i) {
    want[i] = absl::StrCat(subject(i),
                           ": household/@2 vehicle/P1@2 vehicle/P2@2 v2 "
                           "visited 3 get 2");
  }
  EXPECT_EQ(after, want);
  // Everything rewritten with the current options.
  ASSERT_TRUE(store_->CompactAll().ok());
  Reopen();
  EXPECT_EQ(read_all(600), want);
}

TEST(RocksDbStateStoreOpenTest, UnusableDirectoryIsAClearError) {
  RocksDbStateOptions o;
  o.dir = "/proc/definitely/not/writable";
  auto s = RocksDbStateStore::Open(o);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.status().message().find("/proc/definitely/not/writable"),
            std::string::npos);
  o.dir = "";
  EXPECT_FALSE(RocksDbStateStore::Open(o).ok());
}

}  // namespace
}  // namespace datarun::state
