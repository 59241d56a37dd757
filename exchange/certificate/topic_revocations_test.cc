// Revocations published to dr.cert.revoked on the embedded Kafka-protocol
// cluster and read back by a fresh reader; tombstones skipped, bad values
// reported with their offset.
#include "exchange/certificate/topic_revocations.h"

#include <memory>

#include "broker_adapters/embedded/embedded_cluster.h"
#include "broker_adapters/kafka/kafka_broker.h"
#include "gtest/gtest.h"

namespace datarun::certificate {
namespace {

class TopicRevocationsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto cluster = broker::EmbeddedCluster::Start();
    ASSERT_TRUE(cluster.ok()) << cluster.status();
    cluster_ = *std::move(cluster);
    ASSERT_TRUE(cluster_->CreateTopic(std::string(kRevocationTopic), 2).ok());
    broker::KafkaConfig config;
    config.bootstrap = cluster_->bootstrap();
    auto b = broker::NewKafkaBroker(config);
    ASSERT_TRUE(b.ok()) << b.status();
    broker_ = *std::move(b);
    auto producer = broker_->NewProducer({});
    ASSERT_TRUE(producer.ok()) << producer.status();
    producer_ = *std::move(producer);
  }

  std::unique_ptr<broker::EmbeddedCluster> cluster_;
  std::unique_ptr<broker::Broker> broker_;
  std::unique_ptr<broker::Producer> producer_;
};

TEST_F(TopicRevocationsTest, PublishedRevocationsAreReadBack) {
  // An empty topic reads as an empty list, promptly.
  auto empty = ReadRevocationTopic(*broker_, absl::Seconds(20));
  ASSERT_TRUE(empty.ok()) << empty.status();
  EXPECT_EQ((*empty)->size(), 0u);

  for (int i = 0; i < 5; ++i) {
    v1::CertificateRevocation r;
    r.set_serial(
        absl::StrCat("public_security-20261126000000-00000000000000", i, i));
    r.set_issuer_department("public_security");
    r.set_reason("测试");
    ASSERT_TRUE(PublishRevocation(*producer_, r, absl::Seconds(10)).ok());
  }
  // A tombstone (which issuers must not send) is ignored.
  broker::OutgoingMessage tombstone;
  tombstone.topic = kRevocationTopic;
  tombstone.key = "public_security-20261126000000-0000000000000000";
  ASSERT_TRUE(producer_->Send(tombstone, nullptr).ok());
  ASSERT_TRUE(producer_->Flush(absl::Seconds(10)).ok());

  auto list = ReadRevocationTopic(*broker_, absl::Seconds(20));
  ASSERT_TRUE(list.ok()) << list.status();
  EXPECT_EQ((*list)->size(), 5u);
  auto found = (*list)->Find("public_security-20261126000000-0000000000000033");
  ASSERT_TRUE(found.ok());
  ASSERT_EQ(found->size(), 1u);
  EXPECT_EQ((*found)[0].reason(), "测试");
}

TEST_F(TopicRevocationsTest, BadValueIsReportedWithItsOffset) {
  broker::OutgoingMessage bad;
  bad.topic = kRevocationTopic;
  bad.key = "x";
  bad.value = "not json";
  bad.partition = 1;
  ASSERT_TRUE(producer_->Send(bad, nullptr).ok());
  ASSERT_TRUE(producer_->Flush(absl::Seconds(10)).ok());
  auto list = ReadRevocationTopic(*broker_, absl::Seconds(20));
  EXPECT_TRUE(absl::IsInvalidArgument(list.status())) << list.status();
  EXPECT_NE(list.status().message().find("dr.cert.revoked[1] offset 0"),
            absl::string_view::npos)
      << list.status();
}

TEST_F(TopicRevocationsTest, RevocationWithoutIssuerIsRefused) {
  v1::CertificateRevocation r;
  r.set_serial("s");
  EXPECT_TRUE(absl::IsInvalidArgument(
      PublishRevocation(*producer_, r, absl::Seconds(1))));
}

// The cluster is gone: reading and publishing fail within their timeouts
// (plus scheduling slack), and closing the producer does not wait.
TEST_F(TopicRevocationsTest, LostBusFailsWithinTheTimeout) {
  const absl::Duration slack = absl::Milliseconds(1500);
  cluster_.reset();
  absl::Time start = absl::Now();
  auto list = ReadRevocationTopic(*broker_, absl::Seconds(2));
  EXPECT_LT(absl::Now() - start, absl::Seconds(2) + slack);
  EXPECT_FALSE(list.ok());
  EXPECT_TRUE(broker::IsRetriable(list.status())) << list.status();

  v1::CertificateRevocation r;
  r.set_serial("public_security-20261126000000-0000000000000001");
  r.set_issuer_department("public_security");
  start = absl::Now();
  const absl::Status published =
      PublishRevocation(*producer_, r, absl::Seconds(1));
  EXPECT_LT(absl::Now() - start, absl::Seconds(1) + slack);
  EXPECT_TRUE(absl::IsDeadlineExceeded(published)) << published;
  start = absl::Now();
  producer_.reset();
  EXPECT_LT(absl::Now() - start, slack);
}

}  // namespace
}  // namespace datarun::certificate
