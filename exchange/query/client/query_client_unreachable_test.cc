// QueryClient when the bus is unreachable: Create and Query fail within
// their timeouts with an error that points at the bus (not at datarund),
// and destroying the client is bounded. Real librdkafka on 127.0.0.1: a
// port nobody listens on, and the embedded cluster lost under a client
// that had joined.
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "broker_adapters/embedded/embedded_cluster.h"
#include "broker_adapters/kafka/kafka_broker.h"
#include "exchange/query/client/query_client.h"
#include "exchange/query/topics.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/closed_port.h"

namespace datarun::query {
namespace {

using ::testing::HasSubstr;

constexpr char kDepartment[] = "public_security";
// Scheduling slack on a 2-core machine shared with other builds.
constexpr absl::Duration kSlack = absl::Milliseconds(1500);

datarun::v1::QueryRequest Request() {
  datarun::v1::QueryRequest q;
  q.set_kind(datarun::v1::QUERY_KIND_PROFILE);
  q.set_matter("m");
  auto* s = q.add_subjects();
  s->set_kind(datarun::v1::SUBJECT_KIND_CITIZEN);
  s->set_id("11010519491231002X");
  return q;
}

std::unique_ptr<broker::Broker> Connect(const std::string& bootstrap) {
  auto broker = broker::NewKafkaBroker(
      {.bootstrap = bootstrap, .connect_timeout = absl::ZeroDuration()});
  EXPECT_TRUE(broker.ok()) << broker.status();
  return broker.ok() ? *std::move(broker) : nullptr;
}

TEST(QueryClientUnreachable, CreateFailsWithinJoinTimeoutNamingTheAddress) {
  test_support::ClosedPort port;
  ASSERT_TRUE(port.ok());
  const std::string address = port.address();

  auto broker = Connect(address);
  ASSERT_NE(broker, nullptr);
  QueryClientOptions o;
  o.department = kDepartment;
  o.join_timeout = absl::Seconds(2);
  const absl::Time start = absl::Now();
  auto client = QueryClient::Create(broker.get(), o);
  // The join timeout, the 1 s probe, and tearing the client down.
  EXPECT_LT(absl::Now() - start, o.join_timeout + absl::Seconds(1) + kSlack);
  ASSERT_FALSE(client.ok());
  EXPECT_EQ(client.status().code(), absl::StatusCode::kDeadlineExceeded);
  EXPECT_THAT(
      std::string(client.status().message()),
      HasSubstr("no Kafka broker answered at bootstrap.servers=" + address));
}

TEST(QueryClientUnreachable, QueryAfterTheBusIsLostFailsWithinItsTimeout) {
  auto cluster = broker::EmbeddedCluster::Start(1);
  ASSERT_TRUE(cluster.ok()) << cluster.status();
  ASSERT_TRUE((*cluster)->CreateTopic(kRequestTopic, 2).ok());
  ASSERT_TRUE((*cluster)->CreateTopic(ResponseTopic(kDepartment), 2).ok());
  auto broker = Connect((*cluster)->bootstrap());
  ASSERT_NE(broker, nullptr);
  QueryClientOptions o;
  o.department = kDepartment;
  auto client = QueryClient::Create(broker.get(), o);
  ASSERT_TRUE(client.ok()) << client.status();

  // Nobody serves the requests: the request reached the bus, so the
  // timeout points at datarund.
  auto answer = (*client)->Query(Request(), absl::Seconds(1));
  ASSERT_FALSE(answer.ok());
  EXPECT_THAT(std::string(answer.status().message()),
              HasSubstr("is datarund running"));

  cluster->reset();
  const absl::Time start = absl::Now();
  answer = (*client)->Query(Request(), absl::Seconds(1));
  EXPECT_LT(absl::Now() - start, absl::Seconds(1) + kSlack);
  ASSERT_FALSE(answer.ok());
  EXPECT_EQ(answer.status().code(), absl::StatusCode::kDeadlineExceeded);
  EXPECT_THAT(std::string(answer.status().message()),
              HasSubstr("is Kafka reachable?"));

  // The unacknowledged request does not hold the client's destruction.
  const absl::Time destroy = absl::Now();
  client->reset();
  EXPECT_LT(absl::Now() - destroy, kSlack);
}

}  // namespace
}  // namespace datarun::query
