#include "broker_adapters/embedded/embedded_cluster.h"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "broker_adapters/kafka/kafka_broker.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace datarun::broker {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

TEST(EmbeddedClusterTest, StartsWithTopicsAndDistinctClusterIds) {
  auto a = EmbeddedCluster::Start(3);
  ASSERT_TRUE(a.ok()) << a.status();
  auto b = EmbeddedCluster::Start(1);
  ASSERT_TRUE(b.ok()) << b.status();
  EXPECT_THAT((*a)->bootstrap(), StartsWith("127.0.0.1:"));
  EXPECT_NE((*a)->bootstrap(), (*b)->bootstrap());
  EXPECT_FALSE((*a)->cluster_id().empty());
  EXPECT_NE((*a)->cluster_id(), (*b)->cluster_id());

  ASSERT_TRUE((*a)->CreateTopics({"dr.audit", "dr.query.req"}, 6).ok());
  ASSERT_TRUE((*a)->CreateTopic("dr.audit", 6).ok());  // idempotent
  absl::Status mismatch = (*a)->CreateTopic("dr.audit", 2);
  EXPECT_EQ(mismatch.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(std::string(mismatch.message()), HasSubstr("6 partitions"));
  EXPECT_EQ((*a)->CreateTopic("bad topic", 1).code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ((*a)->CreateTopic("t", 0).code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(EmbeddedCluster::Start(0).status().code(),
            absl::StatusCode::kInvalidArgument);

  auto admin = (*a)->NewAdmin();
  auto topics = admin->ListTopics(absl::Seconds(5));
  ASSERT_TRUE(topics.ok()) << topics.status();
  ASSERT_EQ(topics->size(), 2u);
  EXPECT_EQ((*topics)[1].name, "dr.query.req");
  EXPECT_EQ((*topics)[1].partitions, 6);
  EXPECT_EQ(admin->ClusterId(absl::Seconds(1)).value(), (*a)->cluster_id());
}

TEST(EmbeddedClusterTest, InjectedProduceErrorsReachTheDeliveryCallback) {
  auto cluster = EmbeddedCluster::Start(1).value();
  ASSERT_TRUE(cluster->CreateTopic("t", 1).ok());
  auto broker = NewKafkaBroker({.bootstrap = cluster->bootstrap()}).value();
  auto producer = broker->NewProducer({}).value();
  // Warm up so that metadata and the producer id are in place.
  ASSERT_TRUE(producer->Send({"t", "k", "warm"}, nullptr).ok());
  ASSERT_TRUE(producer->Flush(absl::Seconds(10)).ok());

  // 6 NOT_LEADER_FOR_PARTITION twice: retriable, the producer retries and
  // the record is acknowledged.
  cluster->PushRequestErrors(0, {6, 6});
  absl::StatusOr<DeliveryReport> report = absl::UnknownError("no callback");
  absl::Status sent = producer->Send(
      {"t", "k", "after-retries"},
      [&](const absl::StatusOr<DeliveryReport>& r) { report = r; });
  ASSERT_TRUE(sent.ok()) << sent;
  ASSERT_TRUE(producer->Flush(absl::Seconds(20)).ok());
  ASSERT_TRUE(report.ok()) << report.status();

  // 29 TOPIC_AUTHORIZATION_FAILED: not retriable, surfaces at once (and
  // librdkafka then fails further sends to the topic until its next
  // metadata refresh, so this comes last).
  cluster->PushRequestErrors(/*Produce*/ 0, {29});
  absl::Status delivered = absl::UnknownError("no callback");
  ASSERT_TRUE(producer
                  ->Send({"t", "k", "v"},
                         [&](const absl::StatusOr<DeliveryReport>& r) {
                           delivered = r.status();
                         })
                  .ok());
  ASSERT_TRUE(producer->Flush(absl::Seconds(10)).ok());
  EXPECT_EQ(delivered.code(), absl::StatusCode::kPermissionDenied) << delivered;
  EXPECT_FALSE(IsRetriable(delivered));
}

// The standalone binary: ready file, topics, clean exit on SIGTERM.
TEST(KafkaEmbeddedBinaryTest, WritesBootstrapFileAndExitsZeroOnSigterm) {
  const std::string dir = getenv("TEST_TMPDIR");
  const std::string file = dir + "/bootstrap";
  const std::string binary = "broker_adapters/embedded/kafka_embedded";
  ASSERT_EQ(access(binary.c_str(), X_OK), 0) << binary;
  const pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    execl(binary.c_str(), binary.c_str(), "--brokers=2", "--partitions=5",
          "--topics=dr.query.req,dr.audit",
          ("--bootstrap_file=" + file).c_str(), static_cast<char*>(nullptr));
    _exit(127);
  }
  std::string bootstrap;
  const absl::Time deadline = absl::Now() + absl::Seconds(20);
  while (bootstrap.empty() && absl::Now() < deadline) {
    std::ifstream in(file);
    std::getline(in, bootstrap);
    if (bootstrap.empty()) absl::SleepFor(absl::Milliseconds(50));
  }
  ASSERT_THAT(bootstrap, StartsWith("127.0.0.1:"));

  auto broker = NewKafkaBroker({.bootstrap = bootstrap});
  ASSERT_TRUE(broker.ok()) << broker.status();
  auto admin = (*broker)->NewAdmin().value();
  auto topics = admin->ListTopics(absl::Seconds(5));
  ASSERT_TRUE(topics.ok()) << topics.status();
  ASSERT_EQ(topics->size(), 2u);
  EXPECT_EQ((*topics)[0].name, "dr.audit");
  EXPECT_EQ((*topics)[0].partitions, 5);

  ASSERT_EQ(kill(pid, SIGTERM), 0);
  int status = 0;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0);
}

}  // namespace
}  // namespace datarun::broker
