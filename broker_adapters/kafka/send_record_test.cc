// Producer::SendRecord (the allocation-free send path with a DeliverySink)
// of the Kafka adapter, against the embedded cluster.
#include <atomic>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "broker_adapters/embedded/embedded_cluster.h"
#include "broker_adapters/kafka/kafka_broker.h"
#include "broker_adapters/partitioner.h"
#include "gtest/gtest.h"

namespace datarun::broker {
namespace {

struct Outcome {
  std::string topic;
  int32_t partition = -2;
  int64_t offset = -2;
  absl::Status status = absl::UnknownError("not delivered");
  int calls = 0;
};

// Records every outcome by opaque (an index), and whether two deliveries
// ever overlapped (broker.h: they must not).
class RecordingSink : public DeliverySink {
 public:
  explicit RecordingSink(size_t n) : outcomes(n) {}
  void OnDelivery(void* opaque, absl::string_view topic, int32_t partition,
                  int64_t offset, const absl::Status& status) override {
    if (inside.exchange(true)) overlapped = true;
    const uintptr_t i = reinterpret_cast<uintptr_t>(opaque);
    if (i < outcomes.size()) {
      Outcome& o = outcomes[i];
      o.topic = std::string(topic);
      o.partition = partition;
      o.offset = offset;
      o.status = status;
      ++o.calls;
    } else {
      ++unknown;
    }
    inside = false;
  }
  std::vector<Outcome> outcomes;
  std::atomic<bool> inside{false}, overlapped{false};
  int unknown = 0;
};

class NoRebalance : public RebalanceHandler {
 public:
  absl::flat_hash_map<TopicPartition, int64_t> OnAssigned(
      const std::vector<TopicPartition>&) override {
    return {};
  }
  void OnRevoked(const std::vector<TopicPartition>&) override {}
};

class SendRecordTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto cluster = EmbeddedCluster::Start(3);
    ASSERT_TRUE(cluster.ok()) << cluster.status();
    cluster_ = *std::move(cluster);
    broker_ = NewKafkaBroker({.bootstrap = cluster_->bootstrap()}).value();
  }
  std::unique_ptr<EmbeddedCluster> cluster_;
  std::unique_ptr<Broker> broker_;
};

// Records of SendRecord (two topics, headers, explicit and key partitions)
// and of Send interleaved on one producer: each SendRecord outcome reaches
// the sink once with its opaque, at the partition murmur2 picks, at the
// offset where a consumer then finds exactly that record.
TEST_F(SendRecordTest, RoundTripReportsPartitionsAndOffsetsToTheSink) {
  ASSERT_TRUE(cluster_->CreateTopic("dr.data.a", 4).ok());
  ASSERT_TRUE(cluster_->CreateTopic("dr.data.b", 3).ok());
  constexpr int kRecords = 3000;
  RecordingSink sink(kRecords);
  auto producer = broker_->NewProducer({.delivery_sink = &sink}).value();
  const RecordHeader headers[] = {{"dr-type", "datarun.v1.Household"},
                                  {"dr-catalog", "7"}};
  std::vector<std::string> keys, values;
  for (int i = 0; i < kRecords; ++i) {
    keys.push_back(absl::StrCat("33010619900101", 1000 + i % 41));
    values.push_back(absl::StrCat("value-", i));
  }
  std::atomic<int> old_style_acked{0};
  for (int i = 0; i < kRecords; ++i) {
    const bool to_b = i % 3 == 0;
    OutgoingRecord r{to_b ? "dr.data.b" : "dr.data.a", keys[i], values[i]};
    if (i % 2 == 0) r.headers = headers;
    if (i % 10 == 5) r.partition = 2;  // explicit partition
    ASSERT_TRUE(
        producer
            ->SendRecord(r, reinterpret_cast<void*>(static_cast<uintptr_t>(i)))
            .ok());
    if (i % 100 == 0) {
      ASSERT_TRUE(producer
                      ->Send({"dr.data.a", "old", "old-style"},
                             [&](const absl::StatusOr<DeliveryReport>& d) {
                               if (d.ok()) ++old_style_acked;
                             })
                      .ok());
    }
  }
  ASSERT_TRUE(producer->Flush(absl::Seconds(30)).ok());
  EXPECT_EQ(producer->InFlight(), 0);
  EXPECT_EQ(old_style_acked.load(), kRecords / 100);
  EXPECT_EQ(sink.unknown, 0);
  EXPECT_FALSE(sink.overlapped.load());

  std::map<std::tuple<std::string, int32_t, int64_t>, int> by_position;
  for (int i = 0; i < kRecords; ++i) {
    const Outcome& o = sink.outcomes[i];
    ASSERT_EQ(o.calls, 1) << i;
    ASSERT_TRUE(o.status.ok()) << i << ": " << o.status;
    const bool to_b = i % 3 == 0;
    EXPECT_EQ(o.topic, to_b ? "dr.data.b" : "dr.data.a");
    EXPECT_EQ(o.partition,
              i % 10 == 5 ? 2 : Murmur2Partition(keys[i], to_b ? 3 : 4))
        << i;
    EXPECT_GE(o.offset, 0);
    by_position[{o.topic, o.partition, o.offset}] = i;
  }
  ASSERT_EQ(by_position.size(), static_cast<size_t>(kRecords));

  NoRebalance handler;
  auto consumer = broker_->NewConsumer({.group_id = "g-send-record"}).value();
  ASSERT_TRUE(consumer->Subscribe({"dr.data.a", "dr.data.b"}, &handler).ok());
  const size_t total = kRecords + kRecords / 100;
  std::vector<Message> all, batch;
  const absl::Time deadline = absl::Now() + absl::Seconds(30);
  while (all.size() < total && absl::Now() < deadline) {
    ASSERT_TRUE(consumer->Poll(1000, absl::Milliseconds(200), &batch).ok());
    all.insert(all.end(), batch.begin(), batch.end());
  }
  ASSERT_EQ(all.size(), total);
  int matched = 0;
  for (const Message& m : all) {
    if (m.key == "old") continue;
    auto it = by_position.find({m.topic, m.partition, m.offset});
    ASSERT_NE(it, by_position.end())
        << ToString({m.topic, m.partition}) << "@" << m.offset;
    const int i = it->second;
    EXPECT_EQ(m.key, keys[i]);
    EXPECT_EQ(m.value, values[i]);
    if (i % 2 == 0) {
      EXPECT_EQ(m.headers, (Headers{{"dr-type", "datarun.v1.Household"},
                                    {"dr-catalog", "7"}}));
    } else {
      EXPECT_TRUE(m.headers.empty());
    }
    ++matched;
  }
  EXPECT_EQ(matched, kRecords);
  ASSERT_TRUE(consumer->Close().ok());
}

// Back-pressure and errors: with every broker down the queue fills, the
// next SendRecord gives up after max_block with kResourceExhausted and its
// record never reaches the sink; the queued ones fail for good (message
// timeout) and reach the sink with the error and offset -1.
TEST_F(SendRecordTest, QueueFullAndFailedDeliveriesReachTheSinkAsErrors) {
  ASSERT_TRUE(cluster_->CreateTopic("t", 1).ok());
  for (int b = 1; b <= 3; ++b) ASSERT_TRUE(cluster_->SetBrokerDown(b).ok());
  RecordingSink sink(10);
  auto p = broker_->NewProducer(
      {.max_block = absl::Milliseconds(200),
       .properties = {{"queue.buffering.max.messages", "5"},
                      {"message.timeout.ms", "2000"}},
       .delivery_sink = &sink});
  ASSERT_TRUE(p.ok()) << p.status();
  absl::Status s;
  int accepted = 0;
  for (uintptr_t i = 0; i < 10 && s.ok(); ++i) {
    s = (*p)->SendRecord({"t", "k", "v"}, reinterpret_cast<void*>(i));
    if (s.ok()) ++accepted;
  }
  EXPECT_EQ(accepted, 5);
  EXPECT_EQ(s.code(), absl::StatusCode::kResourceExhausted) << s;
  EXPECT_TRUE(IsRetriable(s));
  ASSERT_TRUE((*p)->Flush(absl::Seconds(10)).ok());
  EXPECT_EQ((*p)->InFlight(), 0);
  for (int i = 0; i < 10; ++i) {
    const Outcome& o = sink.outcomes[i];
    if (i < accepted) {
      EXPECT_EQ(o.calls, 1) << i;
      EXPECT_FALSE(o.status.ok()) << i;
      EXPECT_TRUE(IsRetriable(o.status)) << o.status;
      EXPECT_NE(o.status.message().find("delivering to t"), std::string::npos)
          << o.status;
      EXPECT_EQ(o.topic, "t");
      EXPECT_EQ(o.offset, -1);
    } else {
      EXPECT_EQ(o.calls, 0) << "rejected record " << i << " reached the sink";
    }
  }
}

// Opaque values round-trip bit for bit (pointers and integers up to 2^63);
// one with the top bit set is refused, not silently truncated.
TEST_F(SendRecordTest, OpaqueRoundTripsAndTopBitIsRefused) {
  ASSERT_TRUE(cluster_->CreateTopic("o", 2).ok());
  struct Capture : DeliverySink {
    void OnDelivery(void* opaque, absl::string_view, int32_t, int64_t,
                    const absl::Status& status) override {
      absl::MutexLock l(&mu);
      seen.push_back(opaque);
      ok = ok && status.ok();
    }
    absl::Mutex mu;
    std::vector<void*> seen;
    bool ok = true;
  } sink;
  auto producer = broker_->NewProducer({.delivery_sink = &sink}).value();
  int object = 0;
  std::vector<void*> sent = {nullptr, &object,
                             reinterpret_cast<void*>(uintptr_t{1}),
                             reinterpret_cast<void*>(uintptr_t{3}),
                             reinterpret_cast<void*>((uintptr_t{1} << 63) - 1)};
  for (void* o : sent) {
    ASSERT_TRUE(producer->SendRecord({"o", "k", "v"}, o).ok());
  }
  absl::Status s = producer->SendRecord(
      {"o", "k", "v"}, reinterpret_cast<void*>(uintptr_t{1} << 63));
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << s;
  ASSERT_TRUE(producer->Flush(absl::Seconds(20)).ok());
  absl::MutexLock l(&sink.mu);
  EXPECT_TRUE(sink.ok);
  // One partition per key: delivered in send order.
  EXPECT_EQ(sink.seen, sent);
}

// Without a sink SendRecord is fire and forget; Flush still waits for the
// records and sends a lingering batch at once instead of after linger.ms.
TEST_F(SendRecordTest, NoSinkFireAndForgetAndFlushSkipsLinger) {
  ASSERT_TRUE(cluster_->CreateTopic("f", 1).ok());
  auto producer =
      broker_->NewProducer({.properties = {{"linger.ms", "60000"}}}).value();
  for (int i = 0; i < 100; ++i) {
    ASSERT_TRUE(producer->SendRecord({"f", "", absl::StrCat(i)}, nullptr).ok());
  }
  EXPECT_EQ(producer->InFlight(), 100);
  // A minute of linger would outlast this timeout many times over.
  ASSERT_TRUE(producer->Flush(absl::Seconds(10)).ok());
  EXPECT_EQ(producer->InFlight(), 0);
  auto consumer = broker_->NewConsumer({.group_id = "g-f"}).value();
  auto marks = consumer->QueryWatermarks({"f", 0}, absl::Seconds(5));
  ASSERT_TRUE(marks.ok()) << marks.status();
  EXPECT_EQ(marks->high, 100);
}

}  // namespace
}  // namespace datarun::broker
