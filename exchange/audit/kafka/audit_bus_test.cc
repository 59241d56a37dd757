// The audit trail on the embedded Kafka cluster: links through the Kafka
// sink, checkpoints on dr.audit.checkpoint, a second AuditLog continuing the
// chains from the heads read back, and the streaming reader + verifier over
// what is stored.
#include "exchange/audit/kafka/audit_bus.h"

#include <unistd.h>

#include <cstdlib>
#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "broker_adapters/embedded/embedded_cluster.h"
#include "broker_adapters/kafka/kafka_broker.h"
#include "exchange/audit/audit_log.h"
#include "exchange/audit/chain_verifier.h"
#include "exchange/query/kafka_audit_sink.h"
#include "exchange/query/topics.h"
#include "exchange/seal/key_store.h"
#include "exchange/seal/keyring.h"
#include "gtest/gtest.h"

namespace datarun::audit {
namespace {

datarun::v1::AuditEvent Event(int i) {
  datarun::v1::AuditEvent e;
  e.set_request_id(absl::StrCat("req-", i));
  e.set_requester_department("civil_affairs");
  e.set_matter("low_income_assistance_application");
  e.mutable_subject()->set_id("330106195001010011");
  e.set_decision(datarun::v1::DECISION_ALLOW);
  return e;
}

TEST(AuditBus, ChainsContinueAcrossLogsAndVerifyFromTheTopics) {
  auto cluster = broker::EmbeddedCluster::Start(1);
  ASSERT_TRUE(cluster.ok()) << cluster.status();
  ASSERT_TRUE(
      (*cluster)->CreateTopics({query::kAuditTopic, kCheckpointTopic}, 3).ok());
  broker::KafkaConfig config;
  config.bootstrap = (*cluster)->bootstrap();
  auto bus = broker::NewKafkaBroker(config);
  ASSERT_TRUE(bus.ok()) << bus.status();

  const std::string dir = absl::StrCat(getenv("TEST_TMPDIR"), "/keys");
  seal::KeyStore store(dir);
  auto pair = store.Generate("big_data_bureau", "bdb-test",
                             seal::SealAlgorithm::kEd25519);
  ASSERT_TRUE(pair.ok()) << pair.status();
  auto signer = store.LoadSigner("big_data_bureau", "bdb-test");
  ASSERT_TRUE(signer.ok()) << signer.status();
  seal::SealKeyring keyring;
  ASSERT_TRUE(keyring
                  .Add({"big_data_bureau", "bdb-test",
                        seal::SealAlgorithm::kEd25519, pair->public_pem})
                  .ok());

  auto producer = (*bus)->NewProducer({});
  ASSERT_TRUE(producer.ok()) << producer.status();
  query::KafkaAuditSink links(producer->get());
  KafkaCheckpointSink checkpoints(producer->get());
  AuditLogOptions options;
  options.checkpoint_every = 4;
  for (int run = 0; run < 2; ++run) {
    auto heads = KafkaChainHeads::Create(bus->get(), query::kAuditTopic);
    ASSERT_TRUE(heads.ok()) << heads.status();
    if (run == 0) {
      auto empty = (*heads)->LastLink(2);
      ASSERT_TRUE(empty.ok()) << empty.status();
      EXPECT_FALSE(empty->has_value());
    }
    AuditLog log(&links, signer->get(), nullptr, options);
    log.ConnectBus(heads->get(), &checkpoints);
    for (int i = 0; i < 5; ++i) {
      auto link = log.Record(i % 2, Event(run * 100 + i));
      ASSERT_TRUE(link.ok()) << link.status();
      // Partition 0 gets 3 links a run, partition 1 gets 2.
      EXPECT_EQ(link->sequence(),
                static_cast<uint64_t>(run * (i % 2 ? 2 : 3) + i / 2));
    }
    auto sealed = log.CheckpointAll(absl::Seconds(10));
    ASSERT_TRUE(sealed.ok()) << sealed.status();
    // Run 1's partition 1 ended on a periodic checkpoint (sequence 3).
    EXPECT_EQ(*sealed, run == 0 ? 2 : 1);
  }
  auto head = KafkaChainHeads::Create(bus->get(), query::kAuditTopic);
  ASSERT_TRUE(head.ok());
  auto last = (*head)->LastLink(0);
  ASSERT_TRUE(last.ok() && last->has_value()) << last.status();
  EXPECT_EQ((*last)->sequence, 5u);

  auto reader = AuditTopicsReader::Create(
      bus->get(), {kCheckpointTopic, query::kAuditTopic, "no.such.topic"});
  ASSERT_TRUE(reader.ok()) << reader.status();
  EXPECT_EQ((*reader)->Read("no.such.topic", {}, nullptr).code(),
            absl::StatusCode::kNotFound);
  for (int32_t p = 0; p < 2; ++p) {
    ChainVerifier verifier(p, keyring);
    ReadAuditOptions ro;
    ro.partition = p;
    absl::Status st =
        (*reader)->Read(kCheckpointTopic, ro, [&](const AuditRecord& r) {
          datarun::v1::SealedCheckpoint cp;
          EXPECT_TRUE(cp.ParseFromString(*r.value));
          return verifier.AddCheckpoint(cp, r.offset);
        });
    ASSERT_TRUE(st.ok()) << st;
    st = (*reader)->Read(query::kAuditTopic, ro, [&](const AuditRecord& r) {
      return verifier.AddLinkBytes(*r.value, r.offset);
    });
    ASSERT_TRUE(st.ok()) << st << " " << verifier.status();
    ASSERT_TRUE(verifier.Finish().ok()) << verifier.status();
    EXPECT_EQ(verifier.report().links, p == 0 ? 6u : 4u);
    // Partition 0: 3 (every 4), 2 and 5 (shutdowns); 1: 1 and 3.
    EXPECT_EQ(verifier.report().checkpoints_verified, p == 0 ? 3u : 2u);
  }
}

}  // namespace
}  // namespace datarun::audit
