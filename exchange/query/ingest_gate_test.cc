// IngestGate: a partition is served only while ingest owns it and once the
// offsets ingest stored reach the data topics' high watermarks of the
// moment the gate first saw it owned; losing and regaining a partition
// starts the catch-up over, and so does a hand-over (a fenced partition is
// not served; handover.h).
#include "exchange/query/ingest_gate.h"

#include <string>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "broker_adapters/fake/fake_broker.h"
#include "exchange/state/fake/fake_state_store.h"
#include "gtest/gtest.h"

namespace datarun::query {
namespace {

constexpr char kTopicA[] = "dr.data.public_security.household_registration";
constexpr char kTopicB[] = "dr.data.civil_affairs.low_income_assistance";

class IngestGateTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(broker_.CreateTopic(kTopicA, 2).ok());
    ASSERT_TRUE(broker_.CreateTopic(kTopicB, 2).ok());
    auto p = broker_.NewProducer({});
    ASSERT_TRUE(p.ok());
    producer_ = *std::move(p);
    auto g = IngestGate::Create(
        &broker_,
        [this] {
          absl::MutexLock l(&mu_);
          return assignment_;
        },
        &store_, &fence_);
    ASSERT_TRUE(g.ok()) << g.status();
    gate_ = *std::move(g);
  }

  void Produce(const char* topic, int32_t partition, int n) {
    for (int i = 0; i < n; ++i) {
      ASSERT_TRUE(
          producer_
              ->Send({.topic = topic, .value = "v", .partition = partition},
                     nullptr)
              .ok());
    }
  }
  void Store(const char* topic, int32_t partition, int64_t next) {
    state::IngestBatch b;
    b.cluster_id = "fake-cluster";
    b.offsets.push_back(
        {.topic = topic, .partition = partition, .next_offset = next});
    ASSERT_TRUE(store_.ApplyBatch(b).ok());
  }
  void Assign(std::vector<broker::TopicPartition> tps) {
    {
      absl::MutexLock l(&mu_);
      assignment_ = std::move(tps);
    }
    absl::SleepFor(absl::Milliseconds(150));  // past the gate's cache
  }

  broker::FakeBroker broker_;
  std::unique_ptr<broker::Producer> producer_;
  state::FakeStateStore store_;
  ChainFence fence_{2};
  absl::Mutex mu_;
  std::vector<broker::TopicPartition> assignment_ ABSL_GUARDED_BY(mu_);
  std::unique_ptr<IngestGate> gate_;
};

TEST_F(IngestGateTest, ServesOwnedPartitionsOnceCaughtUp) {
  Produce(kTopicA, 0, 3);
  Produce(kTopicB, 0, 1);
  Produce(kTopicA, 1, 5);
  EXPECT_EQ(gate_->Serves(0), Serving::kNotOwned);  // nothing assigned

  Assign({{kTopicA, 0}, {kTopicB, 0}, {"dr.query.req", 1}});
  EXPECT_EQ(gate_->Serves(0), Serving::kCatchingUp);  // nothing applied
  EXPECT_EQ(gate_->Serves(1), Serving::kNotOwned);    // only dr.data.* count
  Store(kTopicA, 0, 3);
  EXPECT_EQ(gate_->Serves(0), Serving::kCatchingUp);  // B not yet
  Store(kTopicB, 0, 1);
  EXPECT_EQ(gate_->Serves(0), Serving::kServe);
  // Later records do not stop serving (no read-your-writes promise).
  Produce(kTopicA, 0, 10);
  EXPECT_EQ(gate_->Serves(0), Serving::kServe);

  // Lost, then regained: caught up only to the new watermark (13).
  Assign({});
  EXPECT_EQ(gate_->Serves(0), Serving::kNotOwned);
  Assign({{kTopicA, 0}, {kTopicB, 0}});
  EXPECT_EQ(gate_->Serves(0), Serving::kCatchingUp);
  Store(kTopicA, 0, 13);
  EXPECT_EQ(gate_->Serves(0), Serving::kServe);
}

TEST_F(IngestGateTest, AFencedPartitionIsNotServedAndCatchesUpAfterForget) {
  Produce(kTopicA, 0, 2);
  Assign({{kTopicA, 0}});
  Store(kTopicA, 0, 2);
  EXPECT_EQ(gate_->Serves(0), Serving::kServe);
  // Handed over while the assignment still lists it (the revocation has
  // not returned yet): not served.
  fence_.Fence(0);
  gate_->Forget(0);
  EXPECT_EQ(gate_->Serves(0), Serving::kNotOwned);
  EXPECT_EQ(gate_->Serves(1), Serving::kNotOwned);  // not owned anyway
  // Assigned again without the gate seeing it unowned: it catches up to
  // the watermark of now before it is served.
  Produce(kTopicA, 0, 3);
  fence_.Unfence(0);
  EXPECT_EQ(gate_->Serves(0), Serving::kCatchingUp);
  Store(kTopicA, 0, 5);
  EXPECT_EQ(gate_->Serves(0), Serving::kServe);
}

}  // namespace
}  // namespace datarun::query
