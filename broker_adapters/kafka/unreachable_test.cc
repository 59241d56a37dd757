// The Kafka adapter when the bus is unreachable: every call that takes a
// timeout returns within it (plus scheduling slack on a loaded machine)
// with an error that names what was asked and where, and closing or
// destroying clients after the bus is lost is bounded. Three ways to lose
// the bus, all with real librdkafka on 127.0.0.1: a port nobody listens on,
// the embedded cluster's broker set down under connected clients, and the
// whole embedded cluster destroyed under them.
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "broker_adapters/embedded/embedded_cluster.h"
#include "broker_adapters/kafka/kafka_broker.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/closed_port.h"

namespace datarun::broker {
namespace {

using ::testing::HasSubstr;

// What a call may take beyond its own timeout: thread wake-ups on a
// 2-core machine shared with other builds.
constexpr absl::Duration kSlack = absl::Milliseconds(1500);
constexpr absl::Duration kTimeout = absl::Seconds(1);

using test_support::ClosedPort;

absl::Duration Timed(const std::function<void()>& f) {
  const absl::Time start = absl::Now();
  f();
  return absl::Now() - start;
}

class NoopHandler : public RebalanceHandler {
 public:
  absl::flat_hash_map<TopicPartition, int64_t> OnAssigned(
      const std::vector<TopicPartition>&) override {
    ++assigned;
    return {};
  }
  void OnRevoked(const std::vector<TopicPartition>&) override {}
  int assigned = 0;
};

std::unique_ptr<Broker> Connect(const std::string& bootstrap) {
  // No connect check: the clients are what is under test.
  auto broker = NewKafkaBroker(
      {.bootstrap = bootstrap, .connect_timeout = absl::ZeroDuration()});
  EXPECT_TRUE(broker.ok()) << broker.status();
  return broker.ok() ? *std::move(broker) : nullptr;
}

std::unique_ptr<Consumer> NewConsumer(Broker& broker, const std::string& g) {
  ConsumerOptions o;
  o.group_id = g;
  o.properties = {{"session.timeout.ms", "6000"},
                  {"heartbeat.interval.ms", "500"}};
  auto c = broker.NewConsumer(o);
  EXPECT_TRUE(c.ok()) << c.status();
  return c.ok() ? *std::move(c) : nullptr;
}

// Each bounded call on clients of a bus that is gone: watermarks, poll,
// metadata, cluster id, flush, close and destruction.
void ExpectEveryCallBounded(Broker& broker, const std::string& where) {
  SCOPED_TRACE(where);
  auto consumer = NewConsumer(broker, "lost-bus");
  ASSERT_NE(consumer, nullptr);
  absl::StatusOr<Watermarks> wm;
  absl::Duration took = Timed([&] {
    wm = consumer->QueryWatermarks({"dr.audit", 3}, kTimeout);
  });
  EXPECT_LT(took, kTimeout + kSlack) << "QueryWatermarks";
  ASSERT_FALSE(wm.ok());
  EXPECT_EQ(wm.status().code(), absl::StatusCode::kUnavailable) << wm.status();
  EXPECT_THAT(std::string(wm.status().message()), HasSubstr(where));
  EXPECT_THAT(std::string(wm.status().message()), HasSubstr("dr.audit[3]"));
  EXPECT_THAT(std::string(wm.status().message()), HasSubstr("1s"));

  NoopHandler handler;
  ASSERT_TRUE(consumer->Subscribe({"t"}, &handler).ok());
  std::unique_ptr<PolledBatch> batch;
  absl::Status polled;
  took = Timed([&] { polled = consumer->PollBatch(100, kTimeout, &batch); });
  EXPECT_LT(took, kTimeout + kSlack) << "PollBatch";
  EXPECT_TRUE(polled.ok()) << polled;  // transient errors are retried inside

  auto admin = broker.NewAdmin();
  ASSERT_TRUE(admin.ok()) << admin.status();
  absl::StatusOr<std::vector<TopicSpec>> topics;
  took = Timed([&] { topics = (*admin)->ListTopics(kTimeout); });
  EXPECT_LT(took, kTimeout + kSlack) << "ListTopics";
  EXPECT_FALSE(topics.ok());
  EXPECT_TRUE(IsRetriable(topics.status())) << topics.status();
  absl::StatusOr<std::string> id;
  took = Timed([&] { id = (*admin)->ClusterId(kTimeout); });
  EXPECT_LT(took, kTimeout + kSlack) << "ClusterId";
  EXPECT_FALSE(id.ok());

  auto producer = broker.NewProducer({});
  ASSERT_TRUE(producer.ok()) << producer.status();
  int failed = 0;
  OutgoingMessage m;
  m.topic = "t";
  m.value = "v";
  for (int i = 0; i < 5; ++i) {
    ASSERT_TRUE((*producer)
                    ->Send(m,
                           [&failed](const absl::StatusOr<DeliveryReport>& r) {
                             if (!r.ok()) ++failed;
                           })
                    .ok());
  }
  absl::Status flushed;
  took = Timed([&] { flushed = (*producer)->Flush(kTimeout); });
  EXPECT_LT(took, kTimeout + kSlack) << "Flush";
  EXPECT_EQ(flushed.code(), absl::StatusCode::kDeadlineExceeded) << flushed;
  EXPECT_EQ((*producer)->InFlight(), 5);
  // Every broker is down, so the destructor does not wait its 10 s for
  // deliveries that cannot happen; the records fail, none is dropped
  // silently.
  took = Timed([&] { producer->reset(); });
  EXPECT_LT(took, kSlack) << "producer destruction";
  EXPECT_EQ(failed, 5);

  took = Timed([&] { EXPECT_TRUE(consumer->Close().ok()); });
  EXPECT_LT(took, kSlack) << "consumer Close";
  took = Timed([&] { consumer.reset(); });
  EXPECT_LT(took, kSlack) << "consumer destruction";
  took = Timed([&] { admin->reset(); });
  EXPECT_LT(took, kSlack) << "admin destruction";
}

TEST(UnreachableBus, PortNobodyListensOn) {
  ClosedPort port;
  auto broker = Connect(port.address());
  ASSERT_NE(broker, nullptr);
  ExpectEveryCallBounded(*broker, port.address());

  // The connect check itself: the address and the wait in the error.
  absl::StatusOr<std::unique_ptr<Broker>> checked;
  const absl::Duration took = Timed([&] {
    checked = NewKafkaBroker(
        {.bootstrap = port.address(), .connect_timeout = kTimeout});
  });
  EXPECT_LT(took, kTimeout + kSlack);
  ASSERT_FALSE(checked.ok());
  EXPECT_EQ(checked.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(std::string(checked.status().message()),
              HasSubstr(port.address()));
}

// Clients that knew the partition's leader and were connected to it: the
// case where librdkafka's own watermark query ignored its timeout (it
// waited for the leader for minutes).
class LostClusterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto cluster = EmbeddedCluster::Start(1);
    ASSERT_TRUE(cluster.ok()) << cluster.status();
    cluster_ = *std::move(cluster);
    ASSERT_TRUE(cluster_->CreateTopic("t", 2).ok());
    ASSERT_TRUE(cluster_->CreateTopic("dr.audit", 4).ok());
    bootstrap_ = cluster_->bootstrap();
    broker_ = Connect(bootstrap_);
    ASSERT_NE(broker_, nullptr);
    consumer_ = NewConsumer(*broker_, "connected");
    ASSERT_NE(consumer_, nullptr);
    auto wm = consumer_->QueryWatermarks({"dr.audit", 3}, absl::Seconds(10));
    ASSERT_TRUE(wm.ok()) << wm.status();
    EXPECT_EQ(wm->low, 0);
    EXPECT_EQ(wm->high, 0);
    auto producer = broker_->NewProducer({});
    ASSERT_TRUE(producer.ok()) << producer.status();
    producer_ = *std::move(producer);
    OutgoingMessage m;
    m.topic = "dr.audit";
    m.partition = 3;
    m.value = "v";
    ASSERT_TRUE(producer_->Send(m, nullptr).ok());
    ASSERT_TRUE(producer_->Flush(absl::Seconds(10)).ok());
    wm = consumer_->QueryWatermarks({"dr.audit", 3}, absl::Seconds(10));
    ASSERT_TRUE(wm.ok()) << wm.status();
    EXPECT_EQ(wm->high, 1);
  }

  // After the bus is gone: the connected consumer's watermark query, and
  // the producer that had delivered before.
  void ExpectConnectedClientsBounded() {
    absl::StatusOr<Watermarks> wm;
    absl::Duration took = Timed([&] {
      wm = consumer_->QueryWatermarks({"dr.audit", 3}, kTimeout);
    });
    EXPECT_LT(took, kTimeout + kSlack) << "QueryWatermarks";
    ASSERT_FALSE(wm.ok());
    EXPECT_EQ(wm.status().code(), absl::StatusCode::kUnavailable)
        << wm.status();
    EXPECT_THAT(std::string(wm.status().message()), HasSubstr(bootstrap_));
    EXPECT_THAT(std::string(wm.status().message()), HasSubstr("dr.audit[3]"));

    OutgoingMessage m;
    m.topic = "dr.audit";
    m.partition = 3;
    m.value = "late";
    absl::Status delivered = absl::UnknownError("no callback");
    ASSERT_TRUE(
        producer_
            ->Send(m,
                   [&delivered](const absl::StatusOr<DeliveryReport>& r) {
                     delivered = r.status();
                   })
            .ok());
    absl::Status flushed;
    took = Timed([&] { flushed = producer_->Flush(kTimeout); });
    EXPECT_LT(took, kTimeout + kSlack) << "Flush";
    EXPECT_FALSE(flushed.ok());
    took = Timed([&] { producer_.reset(); });
    EXPECT_LT(took, kSlack) << "producer destruction";
    EXPECT_FALSE(delivered.ok());
    // Failed by the destructor's purge.
    EXPECT_EQ(delivered.code(), absl::StatusCode::kCancelled) << delivered;
    took = Timed([&] { consumer_.reset(); });
    EXPECT_LT(took, kSlack) << "consumer destruction";
  }

  std::unique_ptr<EmbeddedCluster> cluster_;
  std::string bootstrap_;
  std::unique_ptr<Broker> broker_;
  std::unique_ptr<Consumer> consumer_;
  std::unique_ptr<Producer> producer_;
};

TEST_F(LostClusterTest, BrokerSetDown) {
  ASSERT_TRUE(cluster_->SetBrokerDown(1).ok());
  ExpectConnectedClientsBounded();
  ExpectEveryCallBounded(*broker_, bootstrap_);
}

TEST_F(LostClusterTest, ClusterDestroyed) {
  cluster_.reset();
  ExpectConnectedClientsBounded();
  ExpectEveryCallBounded(*broker_, bootstrap_);
}

// The same calls against a live cluster still work after a broker came
// back: the bounded watermark query is not a weaker one.
TEST_F(LostClusterTest, WatermarksAgainOnceTheBrokerIsBack) {
  ASSERT_TRUE(cluster_->SetBrokerDown(1).ok());
  auto wm = consumer_->QueryWatermarks({"dr.audit", 3}, kTimeout);
  EXPECT_FALSE(wm.ok());
  ASSERT_TRUE(cluster_->SetBrokerUp(1).ok());
  const absl::Time deadline = absl::Now() + absl::Seconds(20);
  do {
    wm = consumer_->QueryWatermarks({"dr.audit", 3}, absl::Seconds(2));
  } while (!wm.ok() && absl::Now() < deadline);
  ASSERT_TRUE(wm.ok()) << wm.status();
  EXPECT_EQ(wm->low, 0);
  EXPECT_EQ(wm->high, 1);
  auto empty = consumer_->QueryWatermarks({"dr.audit", 0}, absl::Seconds(5));
  ASSERT_TRUE(empty.ok()) << empty.status();
  EXPECT_EQ(empty->low, 0);
  EXPECT_EQ(empty->high, 0);
  auto unknown = consumer_->QueryWatermarks({"t", 7}, absl::Seconds(5));
  EXPECT_FALSE(unknown.ok());
  EXPECT_NE(unknown.status().code(), absl::StatusCode::kUnavailable)
      << unknown.status();
}

}  // namespace
}  // namespace datarun::broker
