// Hand-over of audit chains (handover.h): the fence's accounting, the
// ordering it gives on the embedded cluster (a link still in flight at the
// old owner lands before the new owner reads the head; a late link of the
// old owner is refused, as is a checkpoint sealing it), and the rebalance
// hook's order around the consumer's own callbacks.
#include "exchange/query/handover.h"

#include <unistd.h>

#include <cstdlib>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "broker_adapters/embedded/embedded_cluster.h"
#include "broker_adapters/kafka/kafka_broker.h"
#include "exchange/audit/audit_log.h"
#include "exchange/audit/chain_verifier.h"
#include "exchange/audit/kafka/audit_bus.h"
#include "exchange/query/kafka_audit_sink.h"
#include "exchange/query/topics.h"
#include "exchange/seal/key_store.h"
#include "exchange/seal/keyring.h"
#include "gtest/gtest.h"

namespace datarun::query {
namespace {

TEST(ChainFence, CountsAdmittedLinksAndRefusesOnceFenced) {
  ChainFence fence(2);
  EXPECT_TRUE(fence.Admit(0, 10));
  EXPECT_TRUE(fence.Admit(0, 11));
  EXPECT_EQ(fence.in_flight(0)->load(), 2);
  EXPECT_EQ(fence.in_flight(7), nullptr);
  EXPECT_TRUE(fence.Admit(7, 1)) << "untracked partitions are admitted";

  fence.Fence(0);
  EXPECT_TRUE(fence.fenced(0));
  EXPECT_FALSE(fence.fenced(1));
  EXPECT_FALSE(fence.Admit(0, 12));
  EXPECT_EQ(fence.in_flight(0)->load(), 2) << "a refused link is not counted";
  EXPECT_TRUE(fence.AdmitCheckpoint(0, 11));
  EXPECT_FALSE(fence.AdmitCheckpoint(0, 12)) << "it would seal a refused link";
  EXPECT_TRUE(fence.AdmitCheckpoint(1, 12));
  EXPECT_FALSE(fence.WaitIdle(0, absl::Now() + absl::Milliseconds(20)));
  fence.in_flight(0)->fetch_sub(1);
  std::thread ack([&] {
    absl::SleepFor(absl::Milliseconds(30));
    fence.in_flight(0)->fetch_sub(1);
  });
  EXPECT_TRUE(fence.WaitIdle(0, absl::Now() + absl::Seconds(10)));
  ack.join();

  fence.Unfence(0);
  EXPECT_FALSE(fence.fenced(0));
  EXPECT_TRUE(fence.AdmitCheckpoint(0, 12));
  EXPECT_TRUE(fence.Admit(0, 12));
}

TEST(ChainFence, FencedCheckpointSinkPassesOnlyAdmittedCheckpoints) {
  audit::MemoryAuditSink memory;
  ChainFence fence(1);
  FencedCheckpointSink sink(&memory, &fence);
  datarun::v1::SealedCheckpoint cp;
  cp.set_partition(0);
  cp.set_sequence(4);
  absl::Status got = absl::UnknownError("not called");
  fence.Fence(0);
  EXPECT_FALSE(fence.Admit(0, 4));
  sink.WriteCheckpoint(cp, [&](absl::Status st) { got = st; });
  EXPECT_EQ(got.code(), absl::StatusCode::kFailedPrecondition) << got;
  EXPECT_TRUE(memory.checkpoints().empty());
  cp.set_sequence(3);
  sink.WriteCheckpoint(cp, [&](absl::Status st) { got = st; });
  EXPECT_TRUE(got.ok()) << got;
  EXPECT_EQ(memory.checkpoints().size(), 1u);
}

datarun::v1::AuditEvent Event(const std::string& id) {
  datarun::v1::AuditEvent e;
  e.set_request_id(id);
  e.set_requester_department("civil_affairs");
  e.set_matter("low_income_assistance_application");
  e.mutable_subject()->set_id("330106195001010011");
  e.set_decision(datarun::v1::DECISION_ALLOW);
  return e;
}

// One exchange instance's audit side on the bus: its own producer, sink
// (through its fence), chain heads and log.
struct Instance {
  std::unique_ptr<broker::Producer> producer;
  std::unique_ptr<ChainFence> fence;
  std::unique_ptr<KafkaAuditSink> sink;
  std::unique_ptr<audit::KafkaCheckpointSink> checkpoints;
  std::unique_ptr<FencedCheckpointSink> fenced_checkpoints;
  std::unique_ptr<audit::KafkaChainHeads> heads;
  std::unique_ptr<audit::AuditLog> log;
};

class HandOverOnTheBus : public ::testing::Test {
 protected:
  void SetUp() override {
    auto cluster = broker::EmbeddedCluster::Start(1);
    ASSERT_TRUE(cluster.ok()) << cluster.status();
    cluster_ = *std::move(cluster);
    ASSERT_TRUE(
        cluster_->CreateTopics({kAuditTopic, audit::kCheckpointTopic}, 1).ok());
    broker::KafkaConfig config;
    config.bootstrap = cluster_->bootstrap();
    auto bus = broker::NewKafkaBroker(config);
    ASSERT_TRUE(bus.ok()) << bus.status();
    bus_ = *std::move(bus);
    const std::string dir = absl::StrCat(
        getenv("TEST_TMPDIR"), "/keys-",
        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    seal::KeyStore store(dir);
    auto pair = store.Generate("big_data_bureau", "bdb-test",
                               seal::SealAlgorithm::kEd25519);
    ASSERT_TRUE(pair.ok()) << pair.status();
    auto signer = store.LoadSigner("big_data_bureau", "bdb-test");
    ASSERT_TRUE(signer.ok()) << signer.status();
    signer_ = *std::move(signer);
    ASSERT_TRUE(keyring_
                    .Add({"big_data_bureau", "bdb-test",
                          seal::SealAlgorithm::kEd25519, pair->public_pem})
                    .ok());
  }

  // `linger`: how long its producer holds a link before sending it, so a
  // link is still in flight when the other instance acts.
  std::unique_ptr<Instance> NewInstance(absl::Duration linger) {
    auto in = std::make_unique<Instance>();
    broker::ProducerOptions po;
    po.properties = {
        {"linger.ms", absl::StrCat(absl::ToInt64Milliseconds(linger))}};
    auto producer = bus_->NewProducer(po);
    EXPECT_TRUE(producer.ok()) << producer.status();
    if (!producer.ok()) return nullptr;
    in->producer = *std::move(producer);
    in->fence = std::make_unique<ChainFence>(1);
    in->sink = std::make_unique<KafkaAuditSink>(in->producer.get(), kAuditTopic,
                                                nullptr, in->fence.get());
    in->checkpoints =
        std::make_unique<audit::KafkaCheckpointSink>(in->producer.get());
    in->fenced_checkpoints = std::make_unique<FencedCheckpointSink>(
        in->checkpoints.get(), in->fence.get());
    auto heads = audit::KafkaChainHeads::Create(bus_.get(), kAuditTopic);
    EXPECT_TRUE(heads.ok()) << heads.status();
    if (!heads.ok()) return nullptr;
    in->heads = *std::move(heads);
    EXPECT_TRUE(in->heads->WaitReady().ok());
    audit::AuditLogOptions ao;
    ao.checkpoint_every = 0;  // only the hand-over's and shutdown's seals
    in->log = std::make_unique<audit::AuditLog>(in->sink.get(), signer_.get(),
                                                nullptr, ao);
    in->log->ConnectBus(in->heads.get(), in->fenced_checkpoints.get());
    return in;
  }

  // Verifies partition 0 of the topics with its checkpoints.
  audit::ChainVerifyReport Verify(absl::Status* status) {
    auto reader = audit::AuditTopicsReader::Create(
        bus_.get(), {audit::kCheckpointTopic, kAuditTopic});
    if (!reader.ok()) {
      *status = reader.status();
      return {};
    }
    audit::ChainVerifier verifier(0, keyring_);
    audit::ReadAuditOptions ro;
    ro.partition = 0;
    *status = (*reader)->Read(
        audit::kCheckpointTopic, ro, [&](const audit::AuditRecord& r) {
          datarun::v1::SealedCheckpoint cp;
          if (!cp.ParseFromString(*r.value)) {
            return absl::DataLossError("not a checkpoint");
          }
          return verifier.AddCheckpoint(cp, r.offset);
        });
    if (status->ok()) {
      *status =
          (*reader)->Read(kAuditTopic, ro, [&](const audit::AuditRecord& r) {
            return verifier.AddLinkBytes(*r.value, r.offset);
          });
    }
    if (status->ok()) *status = verifier.Finish();
    return verifier.report();
  }

  std::unique_ptr<broker::EmbeddedCluster> cluster_;
  std::unique_ptr<broker::Broker> bus_;
  std::unique_ptr<seal::Signer> signer_;
  seal::SealKeyring keyring_;
};

TEST_F(HandOverOnTheBus, NextOwnerContinuesAfterTheLinksInFlight) {
  // The old owner's producer holds each link 2.5 s: far longer than the new
  // owner needs to read the head, so without the hand-over's wait the new
  // owner would read the head before the old owner's link lands and both
  // would append at the same sequence (a fork).
  auto old_owner = NewInstance(absl::Milliseconds(2500));
  auto new_owner = NewInstance(absl::Milliseconds(1));
  ASSERT_NE(old_owner, nullptr);
  ASSERT_NE(new_owner, nullptr);
  absl::Status in_flight_status;
  std::thread request([&] {
    in_flight_status = old_owner->log->Record(0, Event("old-0")).status();
  });
  // The link of old-0 is with the old owner's producer (appended under the
  // chain's lock, then the ack is awaited outside it).
  while (old_owner->fence->in_flight(0)->load() == 0) {
    absl::SleepFor(absl::Milliseconds(1));
  }
  const absl::Time start = absl::Now();
  absl::Status handed = HandOverChains(*old_owner->fence, *old_owner->log, {0},
                                       absl::Seconds(10));
  EXPECT_TRUE(handed.ok()) << handed;
  EXPECT_GE(absl::Now() - start, absl::Seconds(1))
      << "the hand-over waited for the link in flight";
  request.join();
  EXPECT_TRUE(in_flight_status.ok()) << in_flight_status;

  // A request the old owner still handles after the hand-over: refused,
  // nothing sent.
  auto late = old_owner->log->Record(0, Event("old-late"));
  EXPECT_FALSE(late.ok());
  EXPECT_EQ(old_owner->fence->in_flight(0)->load(), 0);

  auto next = new_owner->log->Record(0, Event("new-0"));
  ASSERT_TRUE(next.ok()) << next.status();
  EXPECT_EQ(next->sequence(), 1u) << "continues after old-0";
  auto sealed = new_owner->log->CheckpointAll(absl::Seconds(10));
  ASSERT_TRUE(sealed.ok()) << sealed.status();
  // The late refused link stopped the old owner's chain; a shutdown seal
  // of it would seal a link that is not on the bus: none is written.
  auto old_sealed = old_owner->log->CheckpointAll(absl::Seconds(10));
  EXPECT_TRUE(old_sealed.ok()) << old_sealed.status();
  ASSERT_TRUE(old_owner->producer->Flush(absl::Seconds(10)).ok());
  ASSERT_TRUE(new_owner->producer->Flush(absl::Seconds(10)).ok());

  absl::Status verified;
  audit::ChainVerifyReport report = Verify(&verified);
  EXPECT_TRUE(verified.ok()) << verified;
  EXPECT_EQ(report.links, 2u);
  EXPECT_EQ(report.last_sequence, 1u);
  // The hand-over's seal at 0 and the new owner's at 1.
  EXPECT_EQ(report.checkpoints_verified, 2u);
}

// The callbacks around a rebalance, in order (the listener's and the
// consumer's own share names and arguments: two classes keep them apart).
class ListenerOf : public RebalanceListener {
 public:
  explicit ListenerOf(std::vector<std::string>* events, absl::Mutex* mu)
      : events_(events), mu_(mu) {}
  void OnRevoking(
      const std::vector<broker::TopicPartition>& partitions) override {
    absl::MutexLock l(mu_);
    events_->push_back(absl::StrCat("listener revoking ", partitions.size()));
  }
  void OnAssigned(
      const std::vector<broker::TopicPartition>& partitions) override {
    absl::MutexLock l(mu_);
    events_->push_back(absl::StrCat("listener assigned ", partitions.size()));
  }

 private:
  std::vector<std::string>* const events_;
  absl::Mutex* const mu_;
};

class HandlerOf : public broker::RebalanceHandler {
 public:
  HandlerOf(std::vector<std::string>* events, absl::Mutex* mu)
      : events_(events), mu_(mu) {}
  absl::flat_hash_map<broker::TopicPartition, int64_t> OnAssigned(
      const std::vector<broker::TopicPartition>& partitions) override {
    absl::MutexLock l(mu_);
    events_->push_back(absl::StrCat("consumer assigned ", partitions.size()));
    return {};
  }
  void OnRevoked(
      const std::vector<broker::TopicPartition>& partitions) override {
    absl::MutexLock l(mu_);
    events_->push_back(absl::StrCat("consumer revoked ", partitions.size()));
  }

 private:
  std::vector<std::string>* const events_;
  absl::Mutex* const mu_;
};

TEST_F(HandOverOnTheBus, HookTellsTheListenerBeforeRevokingAndAfterAssigning) {
  absl::Mutex mu;
  std::vector<std::string> events;
  ListenerOf listener(&events, &mu);
  HandlerOf handler(&events, &mu);
  RebalanceHookBroker hooked(bus_.get());
  hooked.SetListener(&listener);
  broker::ConsumerOptions co;
  co.group_id = "hook-test";
  co.properties = {{"session.timeout.ms", "6000"},
                   {"heartbeat.interval.ms", "500"}};
  auto consumer = hooked.NewConsumer(co);
  ASSERT_TRUE(consumer.ok()) << consumer.status();
  ASSERT_TRUE((*consumer)->Subscribe({kAuditTopic}, &handler).ok());
  std::vector<broker::Message> batch;
  const absl::Time deadline = absl::Now() + absl::Seconds(30);
  while ((*consumer)->Assignment().empty() && absl::Now() < deadline) {
    ASSERT_TRUE((*consumer)->Poll(10, absl::Milliseconds(100), &batch).ok());
  }
  ASSERT_FALSE((*consumer)->Assignment().empty());
  ASSERT_TRUE((*consumer)->Close().ok());
  hooked.SetListener(nullptr);
  absl::MutexLock l(&mu);
  EXPECT_EQ(events, (std::vector<std::string>{
                        "consumer assigned 1", "listener assigned 1",
                        "listener revoking 1", "consumer revoked 1"}));
}

TEST(DataPartitionsTest, CountsEachStatePartitionOnce) {
  EXPECT_EQ(DataPartitions({{"dr.data.a", 2},
                            {"dr.data.b", 2},
                            {"dr.data.a", 0},
                            {"dr.query.req", 5}}),
            (std::vector<int32_t>{0, 2}));
}

}  // namespace
}  // namespace datarun::query
