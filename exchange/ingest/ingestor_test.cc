#include "exchange/ingest/ingestor.h"

#include <cstdlib>
#include <filesystem>
#include <map>
#include <string>
#include <thread>

#include "absl/strings/str_cat.h"
#include "broker_adapters/fake/fake_broker.h"
#include "exchange/ingest/testing/test_data.h"
#include "exchange/state/rocksdb/rocksdb_state_store.h"
#include "gtest/gtest.h"

namespace datarun::ingest {
namespace {

using broker::FakeBroker;
using datarun::v1::Record;
using testing::CitizenId;
using testing::DataTopic;
using testing::MakeRecord;

constexpr int kPartitions = 4;

std::string TempDir(absl::string_view name) {
  const char* base = std::getenv("TEST_TMPDIR");
  std::string dir = absl::StrCat(base ? base : "/tmp", "/", name);
  std::filesystem::remove_all(dir);
  return dir;
}

std::unique_ptr<state::RocksDbStateStore> OpenStore(const std::string& dir) {
  state::RocksDbStateOptions o;
  o.dir = dir;
  o.block_cache_bytes = 8 << 20;
  o.write_buffer_bytes = 4 << 20;
  o.sync = false;
  auto s = state::RocksDbStateStore::Open(o);
  EXPECT_TRUE(s.ok()) << s.status();
  return *std::move(s);
}

void CreateTopics(FakeBroker& broker, const datarun::v1::Catalog& catalog) {
  for (const auto& c : catalog.data_classes()) {
    ASSERT_TRUE(
        broker
            .CreateTopic(DataTopic(c.source_department(), c.id()), kPartitions)
            .ok());
  }
  for (const auto& d : catalog.departments()) {
    ASSERT_TRUE(broker.CreateTopic("dr.dlq." + d.id(), kPartitions).ok());
  }
  ASSERT_TRUE(broker.CreateTopic("dr.dlq.unknown", kPartitions).ok());
}

// Runs an Ingestor on its own thread until Stop().
class Running {
 public:
  Running(broker::Broker* broker, state::StateStore* store,
          const ClassDirectory* classes, IngestOptions options = {})
      : ingestor_(broker, store, classes, testing::CheckCitizenId,
                  std::move(options)),
        thread_([this] { status_ = ingestor_.Run(&stop_); }) {}
  ~Running() { Stop(); }
  absl::Status Stop() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
    return status_;
  }
  // Waits until `n` messages were handled; false on timeout.
  bool WaitMessages(uint64_t n, absl::Duration timeout = absl::Seconds(20)) {
    absl::Time deadline = absl::Now() + timeout;
    while (ingestor_.counters().messages.load() < n) {
      if (absl::Now() > deadline) return false;
      absl::SleepFor(absl::Milliseconds(5));
    }
    return true;
  }
  Ingestor& ingestor() { return ingestor_; }

 private:
  std::atomic<bool> stop_{false};
  absl::Status status_;
  Ingestor ingestor_;
  std::thread thread_;
};

// The real store, made slow to apply, so the poller runs ahead.
class SlowStore : public state::StateStore {
 public:
  explicit SlowStore(state::StateStore* real) : real_(real) {}
  absl::StatusOr<state::ApplyResult> ApplyBatch(
      const state::IngestBatch& batch) override {
    absl::SleepFor(absl::Milliseconds(20));
    return real_->ApplyBatch(batch);
  }
  absl::StatusOr<std::optional<int64_t>> StartOffset(
      absl::string_view topic, int32_t partition,
      absl::string_view cluster_id) override {
    return real_->StartOffset(topic, partition, cluster_id);
  }
  absl::StatusOr<std::vector<std::pair<std::string, state::StoredOffset>>>
  AllOffsets() override {
    return real_->AllOffsets();
  }
  absl::StatusOr<std::optional<state::StoredOffset>> GetOffset(
      absl::string_view topic, int32_t partition) override {
    return real_->GetOffset(topic, partition);
  }
  absl::StatusOr<std::vector<Record>> Profile(
      int32_t partition, absl::string_view subject_id,
      const absl::flat_hash_set<std::string>& classes) override {
    return real_->Profile(partition, subject_id, classes);
  }
  absl::StatusOr<std::vector<std::vector<Record>>> MultiProfile(
      const std::vector<state::SubjectRef>& subjects,
      const absl::flat_hash_set<std::string>& classes) override {
    return real_->MultiProfile(subjects, classes);
  }
  absl::StatusOr<std::optional<Record>> Get(
      const state::RecordRef& ref) override {
    return real_->Get(ref);
  }
  absl::StatusOr<std::vector<std::optional<Record>>> MultiGet(
      const std::vector<state::RecordRef>& refs) override {
    return real_->MultiGet(refs);
  }
  absl::Status PutChainHead(int32_t partition,
                            absl::string_view head) override {
    return real_->PutChainHead(partition, head);
  }
  absl::StatusOr<std::optional<std::string>> GetChainHead(
      int32_t partition) override {
    return real_->GetChainHead(partition);
  }
  absl::Status Flush() override { return real_->Flush(); }
  const state::StateCounters& counters() const override {
    return real_->counters();
  }

 private:
  state::StateStore* real_;
};

class IngestorTest : public ::testing::Test {
 protected:
  IngestorTest() : catalog_(testing::TestCatalog(2, 2)), classes_(catalog_) {}
  void SetUp() override {
    CreateTopics(broker_, catalog_);
    producer_ = broker_.NewProducer({}).value();
  }
  void Send(absl::string_view topic, absl::string_view key,
            absl::string_view value) {
    ASSERT_TRUE(producer_->Send({topic, key, value}, nullptr).ok());
  }
  void Publish(const Record& r) {
    Send(DataTopic(r.source_department(), r.data_class()), r.subject().id(),
         r.SerializeAsString());
  }
  uint64_t StoredMessages(state::StateStore& store) {
    uint64_t n = 0;
    auto offsets = store.AllOffsets();
    EXPECT_TRUE(offsets.ok()) << offsets.status();
    if (!offsets.ok()) return 0;
    for (const auto& [tp, o] : *offsets) n += o.messages;
    return n;
  }

  datarun::v1::Catalog catalog_;
  CatalogClassDirectory classes_;
  FakeBroker broker_{"cluster-A"};
  std::unique_ptr<broker::Producer> producer_;
};

TEST_F(IngestorTest, AppliesValidRecordsAndSendsBadOnesToTheDlq) {
  auto store = OpenStore(TempDir("ingest_basic"));
  // 100 subjects x class0 (single) + class1 (two keys), then updates and a
  // delete.
  for (int i = 0; i < 100; ++i) {
    Publish(MakeRecord("dept00", "dept00_class0", CitizenId(i), "", 1));
    Publish(MakeRecord("dept01", "dept01_class1", CitizenId(i), "K1", 1));
    Publish(MakeRecord("dept01", "dept01_class1", CitizenId(i), "K2", 1));
  }
  Publish(MakeRecord("dept00", "dept00_class0", CitizenId(5), "", 2));
  Publish(MakeRecord("dept01", "dept01_class1", CitizenId(6), "K1", 2, true));
  // Bad ones: one per reason.
  Send(DataTopic("dept00", "dept00_class0"), CitizenId(1), "\xff\xff garbage");
  Record unknown = MakeRecord("dept00", "nope", CitizenId(1), "", 1);
  Send(DataTopic("dept00", "dept00_class0"), CitizenId(1),
       unknown.SerializeAsString());
  Record forged = MakeRecord("dept01", "dept00_class0", CitizenId(1), "", 9);
  Send(DataTopic("dept00", "dept00_class0"), CitizenId(1),
       forged.SerializeAsString());
  std::string bad_id = CitizenId(2);
  bad_id[17] = bad_id[17] == '0' ? '1' : '0';
  Publish(MakeRecord("dept00", "dept00_class0", bad_id, "", 9));
  Record wrong_key = MakeRecord("dept00", "dept00_class0", CitizenId(3), "", 9);
  Send(DataTopic("dept00", "dept00_class0"), CitizenId(4),
       wrong_key.SerializeAsString());
  const uint64_t total = 300 + 2 + 5;

  Running run(&broker_, store.get(), &classes_);
  ASSERT_TRUE(run.WaitMessages(total));
  ASSERT_TRUE(run.Stop().ok());

  const auto& c = run.ingestor().counters();
  EXPECT_EQ(c.applied.load(), 302u);
  EXPECT_EQ(c.stale.load(), 0u);
  EXPECT_EQ(c.rejected[int(RejectReason::kUndecodable)].load(), 1u);
  EXPECT_EQ(c.rejected[int(RejectReason::kUnknownClass)].load(), 1u);
  EXPECT_EQ(c.rejected[int(RejectReason::kNotAuthoritative)].load(), 1u);
  EXPECT_EQ(c.rejected[int(RejectReason::kInvalidSubject)].load(), 1u);
  EXPECT_EQ(c.rejected[int(RejectReason::kMalformed)].load(), 1u);
  EXPECT_EQ(c.dlq_sent.load(), 5u);
  EXPECT_EQ(StoredMessages(*store), total);

  // State: subject 5 has version 2 of class0; subject 6 lost K1.
  int32_t p5 = broker::Murmur2Partition(CitizenId(5), kPartitions);
  auto r5 = store->Profile(p5, CitizenId(5), {"dept00_class0"}).value();
  ASSERT_EQ(r5.size(), 1u);
  EXPECT_EQ(r5[0].source_version(), 2u);
  int32_t p6 = broker::Murmur2Partition(CitizenId(6), kPartitions);
  auto r6 = store->Profile(p6, CitizenId(6), {}).value();
  ASSERT_EQ(r6.size(), 2u);
  EXPECT_EQ(r6[1].record_key(), "K2");

  // DLQ: original bytes, reason header.
  std::map<std::string, int> reasons;
  for (int p = 0; p < kPartitions; ++p) {
    for (const auto& m : broker_.Messages({"dr.dlq.dept00", p})) {
      for (const auto& [k, v] : m.headers) {
        if (k == "dr-dlq-reason") ++reasons[v];
        if (k == "dr-dlq-reason" && v == "undecodable") {
          EXPECT_EQ(m.value, "\xff\xff garbage");
        }
      }
    }
  }
  EXPECT_EQ(reasons, (std::map<std::string, int>{{"invalid_subject", 1},
                                                 {"malformed", 1},
                                                 {"not_authoritative", 1},
                                                 {"undecodable", 1},
                                                 {"unknown_class", 1}}));
}

TEST_F(IngestorTest, RestartResumesAtStoredOffsetsWithoutReplay) {
  const std::string dir = TempDir("ingest_restart");
  auto store = OpenStore(dir);
  for (int i = 0; i < 200; ++i) {
    Publish(MakeRecord("dept00", "dept00_class0", CitizenId(i), "", 1));
  }
  {
    Running run(&broker_, store.get(), &classes_);
    ASSERT_TRUE(run.WaitMessages(200));
    ASSERT_TRUE(run.Stop().ok());
  }
  store.reset();
  store = OpenStore(dir);
  for (int i = 0; i < 50; ++i) {
    Publish(MakeRecord("dept00", "dept00_class0", CitizenId(i), "", 2));
  }
  Running run(&broker_, store.get(), &classes_);
  ASSERT_TRUE(run.WaitMessages(50));
  absl::SleepFor(absl::Milliseconds(200));  // nothing more must come
  ASSERT_TRUE(run.Stop().ok());
  EXPECT_EQ(run.ingestor().counters().messages.load(), 50u);
  EXPECT_EQ(run.ingestor().counters().stale.load(), 0u);
  EXPECT_EQ(StoredMessages(*store), 250u);
  EXPECT_EQ(store->counters().cluster_id_resets.load(), 0u);
}

TEST_F(IngestorTest, NewClusterIdRereadsFromTheBeginning) {
  auto store = OpenStore(TempDir("ingest_cluster"));
  for (int i = 0; i < 40; ++i) {
    Publish(MakeRecord("dept00", "dept00_class0", CitizenId(i), "", 3));
  }
  {
    Running run(&broker_, store.get(), &classes_);
    ASSERT_TRUE(run.WaitMessages(40));
    ASSERT_TRUE(run.Stop().ok());
  }
  // A restarted embedded cluster: new id, empty, then republished (fewer
  // messages than the stored offsets point past).
  FakeBroker fresh("cluster-B");
  CreateTopics(fresh, catalog_);
  auto producer = fresh.NewProducer({}).value();
  for (int i = 0; i < 10; ++i) {
    Record r = MakeRecord("dept00", "dept00_class0", CitizenId(i), "", 3);
    ASSERT_TRUE(producer
                    ->Send({DataTopic("dept00", "dept00_class0"),
                            r.subject().id(), r.SerializeAsString()},
                           nullptr)
                    .ok());
  }
  Running run(&fresh, store.get(), &classes_);
  ASSERT_TRUE(run.WaitMessages(10));
  ASSERT_TRUE(run.Stop().ok());
  EXPECT_GT(store->counters().cluster_id_resets.load(), 0u);
  EXPECT_EQ(run.ingestor().counters().stale.load(), 10u);  // same versions
  auto offsets = store->AllOffsets();
  ASSERT_TRUE(offsets.ok()) << offsets.status();
  // Partitions that received messages on cluster-B count them afresh; an
  // entry of cluster-A left on an empty partition is never used again.
  uint64_t on_b = 0;
  for (const auto& [tp, o] : *offsets) {
    if (o.cluster_id == "cluster-B") on_b += o.messages;
  }
  EXPECT_EQ(on_b, 10u);
}

TEST_F(IngestorTest, BoundedQueuePausesAndStillAppliesEverything) {
  auto real = OpenStore(TempDir("ingest_pause"));
  SlowStore slow(real.get());
  state::StateStore* store = &slow;
  for (int i = 0; i < 3000; ++i) {
    Publish(MakeRecord("dept01", "dept01_class0", CitizenId(i), "", 1));
  }
  IngestOptions o;
  o.max_batch_messages = 100;
  o.max_queued_batches = 1;
  o.poll_timeout = absl::Milliseconds(5);
  o.pause_after = absl::Milliseconds(10);
  Running run(&broker_, store, &classes_, o);
  ASSERT_TRUE(run.WaitMessages(3000, absl::Seconds(40)));
  ASSERT_TRUE(run.Stop().ok());
  EXPECT_EQ(run.ingestor().counters().applied.load(), 3000u);
  EXPECT_GE(run.ingestor().counters().batches.load(), 3000u / 100);
  EXPECT_GT(run.ingestor().counters().pauses.load(), 0u);
  EXPECT_EQ(StoredMessages(*store), 3000u);
}

TEST_F(IngestorTest, TwoMembersSplitPartitionsAndTheSurvivorTakesOver) {
  auto store_a = OpenStore(TempDir("ingest_two_a"));
  auto store_b = OpenStore(TempDir("ingest_two_b"));
  for (int i = 0; i < 400; ++i) {
    Publish(MakeRecord("dept00", "dept00_class0", CitizenId(i), "", 1));
  }
  Running a(&broker_, store_a.get(), &classes_);
  Running b(&broker_, store_b.get(), &classes_);
  absl::Time deadline = absl::Now() + absl::Seconds(20);
  while (StoredMessages(*store_a) + StoredMessages(*store_b) < 400 ||
         a.ingestor().Assignment().empty() ||
         b.ingestor().Assignment().empty()) {
    ASSERT_LT(absl::Now(), deadline) << "members did not split the work";
    absl::SleepFor(absl::Milliseconds(10));
  }
  ASSERT_TRUE(a.Stop().ok());
  for (int i = 0; i < 400; ++i) {
    Publish(MakeRecord("dept00", "dept00_class0", CitizenId(i), "", 2));
  }
  // b takes every partition; a's were never stored by b, so b reads them
  // from the beginning and ends with every subject at version 2.
  deadline = absl::Now() + absl::Seconds(20);
  while (true) {
    int at_v2 = 0;
    for (int i = 0; i < 400; ++i) {
      int32_t p = broker::Murmur2Partition(CitizenId(i), kPartitions);
      auto r = store_b->Profile(p, CitizenId(i), {}).value();
      if (r.size() == 1 && r[0].source_version() == 2) ++at_v2;
    }
    if (at_v2 == 400) break;
    ASSERT_LT(absl::Now(), deadline) << at_v2 << " of 400 at version 2";
    absl::SleepFor(absl::Milliseconds(20));
  }
  ASSERT_TRUE(b.Stop().ok());
}

}  // namespace
}  // namespace datarun::ingest
