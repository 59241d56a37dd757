#include "broker_adapters/fake/fake_broker.h"

#include <cstdint>
#include <limits>
#include <map>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace datarun::broker {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;

// Records callbacks and starts every partition where the test says.
class Recorder : public RebalanceHandler {
 public:
  absl::flat_hash_map<TopicPartition, int64_t> OnAssigned(
      const std::vector<TopicPartition>& partitions) override {
    assigned.push_back(partitions);
    return starts;
  }
  void OnRevoked(const std::vector<TopicPartition>& partitions) override {
    revoked.push_back(partitions);
  }
  std::vector<std::vector<TopicPartition>> assigned, revoked;
  absl::flat_hash_map<TopicPartition, int64_t> starts;
};

TEST(Murmur2Test, MatchesKafkaJavaClientVectors) {
  // From Kafka's UtilsTest.testMurmur2; partition count INT32_MAX keeps the
  // positive hash itself.
  const std::map<std::string, int32_t> cases = {
      {"21", -973932308},
      {"foobar", -790332482},
      {"a-little-bit-long-string", -985981536},
      {"a-little-bit-longer-string", -1486304829},
      {"lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8", -58897971},
      {"abc", 479470107},
  };
  for (const auto& [key, hash] : cases) {
    EXPECT_EQ(Murmur2Partition(key, std::numeric_limits<int32_t>::max()),
              hash & 0x7fffffff)
        << key;
  }
}

TEST(FakeBrokerTest, ProduceUnknownTopicIsNotFound) {
  FakeBroker broker;
  auto producer = broker.NewProducer({}).value();
  absl::Status s = producer->Send({"nope", "k", "v"}, nullptr);
  EXPECT_EQ(s.code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(std::string(s.message()), ::testing::HasSubstr("nope"));
}

TEST(FakeBrokerTest, KeysKeepPerPartitionOrderAndOffsets) {
  FakeBroker broker;
  ASSERT_TRUE(broker.CreateTopic("dr.data.a.x", 4).ok());
  auto producer = broker.NewProducer({}).value();
  std::vector<DeliveryReport> reports;
  Headers headers = {{"type", "T"}};
  for (int i = 0; i < 40; ++i) {
    std::string key = absl::StrCat("k", i % 5);
    std::string value = absl::StrCat(i);
    ASSERT_TRUE(producer
                    ->Send({"dr.data.a.x", key, value, &headers},
                           [&](const absl::StatusOr<DeliveryReport>& r) {
                             ASSERT_TRUE(r.ok());
                             reports.push_back(*r);
                           })
                    .ok());
  }
  ASSERT_EQ(reports.size(), 40u);
  for (int i = 0; i < 40; ++i) {
    EXPECT_EQ(reports[i].partition,
              Murmur2Partition(absl::StrCat("k", i % 5), 4));
  }
  Recorder rec;
  auto consumer = broker.NewConsumer({.group_id = "g"}).value();
  ASSERT_TRUE(consumer->Subscribe({"^dr\\.data\\..*"}, &rec).ok());
  std::map<std::string, std::vector<int>> by_key;
  std::vector<Message> batch;
  int total = 0;
  while (total < 40) {
    ASSERT_TRUE(consumer->Poll(7, absl::Milliseconds(100), &batch).ok());
    ASSERT_FALSE(batch.empty());
    EXPECT_LE(batch.size(), 7u);
    for (const Message& m : batch) {
      by_key[m.key].push_back(std::stoi(m.value));
      EXPECT_EQ(m.headers, headers);
    }
    total += batch.size();
  }
  ASSERT_EQ(rec.assigned.size(), 1u);
  EXPECT_EQ(rec.assigned[0].size(), 4u);
  for (const auto& [key, values] : by_key) {
    EXPECT_TRUE(std::is_sorted(values.begin(), values.end())) << key;
    EXPECT_EQ(values.size(), 8u);
  }
  ASSERT_TRUE(consumer->Poll(10, absl::Milliseconds(10), &batch).ok());
  EXPECT_THAT(batch, IsEmpty());
}

TEST(FakeBrokerTest, StartOffsetsSeekAndPause) {
  FakeBroker broker;
  ASSERT_TRUE(broker.CreateTopic("t", 1).ok());
  auto producer = broker.NewProducer({}).value();
  for (int i = 0; i < 10; ++i) {
    ASSERT_TRUE(producer->Send({"t", "", absl::StrCat(i)}, nullptr).ok());
  }
  Recorder rec;
  auto consumer = broker.NewConsumer({.group_id = "g"}).value();
  rec.starts[{"t", 0}] = 7;
  ASSERT_TRUE(consumer->Subscribe({"t"}, &rec).ok());
  std::vector<Message> batch;
  ASSERT_TRUE(consumer->Poll(100, absl::Milliseconds(100), &batch).ok());
  ASSERT_EQ(batch.size(), 3u);
  EXPECT_EQ(batch[0].offset, 7);

  ASSERT_TRUE(consumer->Seek({"t", 0}, 2).ok());
  ASSERT_TRUE(consumer->Pause({{"t", 0}}).ok());
  ASSERT_TRUE(consumer->Poll(100, absl::Milliseconds(20), &batch).ok());
  EXPECT_THAT(batch, IsEmpty());
  ASSERT_TRUE(consumer->Resume({{"t", 0}}).ok());
  ASSERT_TRUE(consumer->Poll(100, absl::Milliseconds(100), &batch).ok());
  ASSERT_EQ(batch.size(), 8u);
  EXPECT_EQ(batch[0].value, "2");
  EXPECT_EQ(consumer->Seek({"other", 0}, 0).code(),
            absl::StatusCode::kFailedPrecondition);

  auto wm = consumer->QueryWatermarks({"t", 0}, absl::Seconds(1));
  ASSERT_TRUE(wm.ok());
  EXPECT_EQ(wm->high, 10);
}

TEST(FakeBrokerTest, OffsetPastEndRestartsAtBeginning) {
  FakeBroker broker;
  ASSERT_TRUE(broker.CreateTopic("t", 1).ok());
  auto producer = broker.NewProducer({}).value();
  ASSERT_TRUE(producer->Send({"t", "", "a"}, nullptr).ok());
  Recorder rec;
  auto consumer = broker.NewConsumer({.group_id = "g"}).value();
  rec.starts[{"t", 0}] = 1000;  // e.g. stored against an older cluster
  ASSERT_TRUE(consumer->Subscribe({"t"}, &rec).ok());
  std::vector<Message> batch;
  ASSERT_TRUE(consumer->Poll(100, absl::Milliseconds(100), &batch).ok());
  ASSERT_EQ(batch.size(), 1u);
  EXPECT_EQ(batch[0].offset, 0);
}

TEST(FakeBrokerTest, GroupCoPartitionsAndRebalancesOnJoinAndLeave) {
  FakeBroker broker;
  ASSERT_TRUE(broker.CreateTopic("dr.data.a.x", 4).ok());
  ASSERT_TRUE(broker.CreateTopic("dr.data.b.y", 4).ok());
  ASSERT_TRUE(broker.CreateTopic("dr.query.req", 4).ok());
  Recorder r1, r2;  // outlive the consumers, as broker.h requires
  auto c1 = broker.NewConsumer({.group_id = "g"}).value();
  auto c2 = broker.NewConsumer({.group_id = "g"}).value();
  std::vector<Message> batch;
  ASSERT_TRUE(c1->Subscribe({"^dr\\.data\\..*"}, &r1).ok());
  ASSERT_TRUE(c1->Poll(1, absl::Milliseconds(1), &batch).ok());
  EXPECT_EQ(c1->Assignment().size(), 8u);

  ASSERT_TRUE(c2->Subscribe({"^dr\\.data\\..*"}, &r2).ok());
  ASSERT_TRUE(c1->Poll(1, absl::Milliseconds(1), &batch).ok());
  ASSERT_TRUE(c2->Poll(1, absl::Milliseconds(1), &batch).ok());
  ASSERT_EQ(r1.revoked.size(), 1u);
  EXPECT_EQ(r1.revoked[0].size(), 8u);
  std::vector<TopicPartition> want1 = {{"dr.data.a.x", 0},
                                       {"dr.data.a.x", 1},
                                       {"dr.data.b.y", 0},
                                       {"dr.data.b.y", 1}};
  std::vector<TopicPartition> want2 = {{"dr.data.a.x", 2},
                                       {"dr.data.a.x", 3},
                                       {"dr.data.b.y", 2},
                                       {"dr.data.b.y", 3}};
  EXPECT_EQ(c1->Assignment(), want1);
  EXPECT_EQ(c2->Assignment(), want2);
  EXPECT_EQ(r2.assigned.back(), want2);

  ASSERT_TRUE(c2->Close().ok());
  EXPECT_EQ(r2.revoked.back(), want2);
  ASSERT_TRUE(c1->Poll(1, absl::Milliseconds(1), &batch).ok());
  EXPECT_EQ(c1->Assignment().size(), 8u);

  // A topic created later that matches the pattern joins the assignment.
  ASSERT_TRUE(broker.CreateTopic("dr.data.c.z", 4).ok());
  ASSERT_TRUE(c1->Poll(1, absl::Milliseconds(1), &batch).ok());
  EXPECT_EQ(c1->Assignment().size(), 12u);
}

TEST(FakeBrokerTest, AdminAndFaultHooks) {
  FakeBroker broker("cid-1");
  auto admin = broker.NewAdmin().value();
  ASSERT_TRUE(admin->EnsureTopics({{"a", 3}, {"b", 1}}, absl::Seconds(1)).ok());
  ASSERT_TRUE(admin->EnsureTopics({{"a", 3}}, absl::Seconds(1)).ok());
  EXPECT_EQ(admin->EnsureTopics({{"a", 4}}, absl::Seconds(1)).code(),
            absl::StatusCode::kFailedPrecondition);
  auto topics = admin->ListTopics(absl::Seconds(1));
  ASSERT_TRUE(topics.ok());
  ASSERT_EQ(topics->size(), 2u);
  EXPECT_EQ((*topics)[0].name, "a");
  EXPECT_EQ((*topics)[0].partitions, 3);
  EXPECT_EQ(admin->ClusterId(absl::Seconds(1)).value(), "cid-1");

  auto producer = broker.NewProducer({}).value();
  broker.FailSends(1, absl::ResourceExhaustedError("queue full"));
  EXPECT_EQ(producer->Send({"a", "k", "v"}, nullptr).code(),
            absl::StatusCode::kResourceExhausted);
  broker.FailDeliveries(1, absl::UnavailableError("broker down"));
  absl::Status delivered;
  ASSERT_TRUE(producer
                  ->Send({"a", "k", "v"},
                         [&](const absl::StatusOr<DeliveryReport>& r) {
                           delivered = r.status();
                         })
                  .ok());
  EXPECT_EQ(delivered.code(), absl::StatusCode::kUnavailable);
  EXPECT_TRUE(IsRetriable(delivered));
  EXPECT_THAT(broker.Messages({"a", Murmur2Partition("k", 3)}), IsEmpty());
}

// SendRecord goes through the same checks, faults and partitioning as
// Send, and reports each outcome to the producer's DeliverySink with its
// opaque; records it refuses never reach the sink.
TEST(FakeBrokerTest, SendRecordReportsToTheSink) {
  struct Sink : DeliverySink {
    void OnDelivery(void* opaque, absl::string_view topic, int32_t partition,
                    int64_t offset, const absl::Status& status) override {
      calls.push_back({reinterpret_cast<uintptr_t>(opaque), std::string(topic),
                       partition, offset, status});
    }
    struct Call {
      uintptr_t opaque;
      std::string topic;
      int32_t partition;
      int64_t offset;
      absl::Status status;
    };
    std::vector<Call> calls;
  } sink;
  FakeBroker broker;
  ASSERT_TRUE(broker.CreateTopic("a", 3).ok());
  auto producer = broker.NewProducer({.delivery_sink = &sink}).value();
  const RecordHeader headers[] = {{"dr-type", "x"}};
  const int32_t p = Murmur2Partition("k", 3);
  ASSERT_TRUE(producer
                  ->SendRecord({"a", "k", "v1", headers},
                               reinterpret_cast<void*>(uintptr_t{7}))
                  .ok());
  ASSERT_TRUE(producer
                  ->SendRecord({"a", "k", "v2", {}, 2},
                               reinterpret_cast<void*>(uintptr_t{8}))
                  .ok());
  EXPECT_EQ(producer->SendRecord({"nope", "k", "v"}, nullptr).code(),
            absl::StatusCode::kNotFound);
  broker.FailSends(1, absl::ResourceExhaustedError("queue full"));
  EXPECT_EQ(producer->SendRecord({"a", "k", "v"}, nullptr).code(),
            absl::StatusCode::kResourceExhausted);
  broker.FailDeliveries(1, absl::UnavailableError("broker down"));
  ASSERT_TRUE(
      producer
          ->SendRecord({"a", "k", "v3"}, reinterpret_cast<void*>(uintptr_t{9}))
          .ok());

  ASSERT_EQ(sink.calls.size(), 3u);
  EXPECT_EQ(sink.calls[0].opaque, 7u);
  EXPECT_EQ(sink.calls[0].topic, "a");
  EXPECT_EQ(sink.calls[0].partition, p);
  EXPECT_EQ(sink.calls[0].offset, 0);
  EXPECT_TRUE(sink.calls[0].status.ok());
  EXPECT_EQ(sink.calls[1].opaque, 8u);
  EXPECT_EQ(sink.calls[1].partition, 2);
  EXPECT_EQ(sink.calls[1].offset, p == 2 ? 1 : 0);
  EXPECT_EQ(sink.calls[2].opaque, 9u);
  EXPECT_EQ(sink.calls[2].offset, -1);
  EXPECT_EQ(sink.calls[2].status.code(), absl::StatusCode::kUnavailable);

  std::vector<Message> stored = broker.Messages({"a", p});
  ASSERT_FALSE(stored.empty());
  EXPECT_EQ(stored[0].value, "v1");
  EXPECT_EQ(stored[0].headers, (Headers{{"dr-type", "x"}}));
  // Without a sink, fire and forget.
  auto quiet = broker.NewProducer({}).value();
  EXPECT_TRUE(quiet->SendRecord({"a", "k", "v4"}, nullptr).ok());
  EXPECT_EQ(sink.calls.size(), 3u);
}

}  // namespace
}  // namespace datarun::broker
