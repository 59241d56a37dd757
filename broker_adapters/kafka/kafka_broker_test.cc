// The Kafka adapter against the embedded cluster (librdkafka's mock brokers
// on 127.0.0.1), and against kcat as an independent Kafka client.
#include "broker_adapters/kafka/kafka_broker.h"

#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/synchronization/mutex.h"
#include "broker_adapters/embedded/embedded_cluster.h"
#include "broker_adapters/fake/fake_broker.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace datarun::broker {
namespace {

using ::testing::HasSubstr;

class Recorder : public RebalanceHandler {
 public:
  absl::flat_hash_map<TopicPartition, int64_t> OnAssigned(
      const std::vector<TopicPartition>& partitions) override {
    absl::MutexLock l(&mu);
    assigned.push_back(partitions);
    return starts;
  }
  void OnRevoked(const std::vector<TopicPartition>& partitions) override {
    absl::MutexLock l(&mu);
    revoked.push_back(partitions);
  }
  absl::Mutex mu;
  std::vector<std::vector<TopicPartition>> assigned, revoked;
  absl::flat_hash_map<TopicPartition, int64_t> starts;
};

// Produces and waits for every callback; returns the reports in send order.
std::vector<absl::StatusOr<DeliveryReport>> ProduceAll(
    Producer& producer, const std::string& topic,
    const std::vector<std::pair<std::string, std::string>>& records,
    const Headers* headers = nullptr) {
  std::vector<absl::StatusOr<DeliveryReport>> reports(
      records.size(), absl::UnknownError("no callback"));
  for (size_t i = 0; i < records.size(); ++i) {
    absl::Status s =
        producer.Send({topic, records[i].first, records[i].second, headers},
                      [&reports, i](const absl::StatusOr<DeliveryReport>& r) {
                        reports[i] = r;
                      });
    EXPECT_TRUE(s.ok()) << s;
  }
  EXPECT_TRUE(producer.Flush(absl::Seconds(30)).ok());
  return reports;
}

// What PolledBatch::VisitHeaders hands out for message i, copied.
Headers Visited(const PolledBatch& batch, size_t i) {
  Headers out;
  batch.VisitHeaders(i, [&out](absl::string_view name, absl::string_view v) {
    out.emplace_back(std::string(name), std::string(v));
  });
  return out;
}

std::vector<Message> ConsumeN(Consumer& consumer, size_t n,
                              absl::Duration timeout = absl::Seconds(20)) {
  std::vector<Message> all, batch;
  const absl::Time deadline = absl::Now() + timeout;
  while (all.size() < n && absl::Now() < deadline) {
    absl::Status s = consumer.Poll(500, absl::Milliseconds(200), &batch);
    EXPECT_TRUE(s.ok()) << s;
    all.insert(all.end(), batch.begin(), batch.end());
  }
  return all;
}

class KafkaBrokerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto cluster = EmbeddedCluster::Start(3);
    ASSERT_TRUE(cluster.ok()) << cluster.status();
    cluster_ = *std::move(cluster);
    auto broker = NewKafkaBroker({.bootstrap = cluster_->bootstrap()});
    ASSERT_TRUE(broker.ok()) << broker.status();
    broker_ = *std::move(broker);
  }

  std::unique_ptr<Producer> NewProducer(
      std::map<std::string, std::string> props = {}) {
    auto p = broker_->NewProducer({.properties = std::move(props)});
    EXPECT_TRUE(p.ok()) << p.status();
    return p.ok() ? *std::move(p) : nullptr;
  }
  // The mock cluster waits session.timeout.ms - 1 s for members to rejoin
  // at every rebalance, so group tests use the smallest value a real broker
  // accepts (group.min.session.timeout.ms = 6 s).
  std::unique_ptr<Consumer> NewConsumer(const std::string& group) {
    auto c = broker_->NewConsumer(
        {.group_id = group,
         .properties = {{"session.timeout.ms", "6000"},
                        {"heartbeat.interval.ms", "500"}}});
    EXPECT_TRUE(c.ok()) << c.status();
    return c.ok() ? *std::move(c) : nullptr;
  }

  std::unique_ptr<EmbeddedCluster> cluster_;
  std::unique_ptr<Broker> broker_;
};

TEST_F(KafkaBrokerTest, RoundTripKeepsPerKeyOrderHeadersAndMurmur2) {
  ASSERT_TRUE(cluster_->CreateTopic("dr.data.police.household", 4).ok());
  auto producer = NewProducer();
  std::vector<std::pair<std::string, std::string>> records;
  for (int i = 0; i < 2000; ++i) {
    records.push_back({absl::StrCat("33010619900101", 1000 + i % 37),
                       absl::StrCat("value-", i)});
  }
  Headers headers = {{"dr-type", "datarun.v1.Household"}, {"dr-catalog", "7"}};
  auto reports =
      ProduceAll(*producer, "dr.data.police.household", records, &headers);
  std::map<std::pair<int32_t, int64_t>, size_t> by_position;
  for (size_t i = 0; i < reports.size(); ++i) {
    ASSERT_TRUE(reports[i].ok()) << reports[i].status();
    EXPECT_EQ(reports[i]->partition, Murmur2Partition(records[i].first, 4))
        << "adapter and Java client disagree on the partition of "
        << records[i].first;
    by_position[{reports[i]->partition, reports[i]->offset}] = i;
  }
  ASSERT_EQ(by_position.size(), records.size());

  Recorder rec;
  auto consumer = NewConsumer("g1");
  ASSERT_TRUE(consumer->Subscribe({"^dr\\.data\\..*"}, &rec).ok());
  std::vector<Message> got = ConsumeN(*consumer, records.size());
  ASSERT_EQ(got.size(), records.size());
  std::map<std::string, int> last_index;
  for (const Message& m : got) {
    auto it = by_position.find({m.partition, m.offset});
    ASSERT_NE(it, by_position.end());
    const size_t i = it->second;
    EXPECT_EQ(m.key, records[i].first);
    EXPECT_EQ(m.value, records[i].second);
    EXPECT_EQ(m.headers, headers);
    EXPECT_LT(absl::Now() - m.timestamp, absl::Minutes(1));
    // Records of one key come back in send order.
    auto [prev, inserted] = last_index.emplace(m.key, static_cast<int>(i));
    if (!inserted) {
      EXPECT_LT(prev->second, static_cast<int>(i)) << m.key;
      prev->second = i;
    }
  }
  ASSERT_EQ(rec.assigned.size(), 1u);
  EXPECT_EQ(rec.assigned[0].size(), 4u);
  ASSERT_TRUE(consumer->Close().ok());
  ASSERT_EQ(rec.revoked.size(), 1u);
  EXPECT_EQ(rec.revoked[0].size(), 4u);
}

// PollBatch hands out views into librdkafka's messages: every byte is the
// one produced, and a batch's views stay valid while later batches are
// polled and earlier ones released (the Ingestor holds batches until they
// are applied). Headers and timestamps are decoded on demand.
TEST_F(KafkaBrokerTest, PollBatchViewsStayValidUntilTheBatchIsReleased) {
  ASSERT_TRUE(cluster_->CreateTopic("dr.data.police.vehicle", 3).ok());
  auto producer = NewProducer();
  std::vector<std::pair<std::string, std::string>> records;
  for (int i = 0; i < 3000; ++i) {
    records.push_back(
        {absl::StrCat("K", i % 50),
         std::string(100 + i % 300, static_cast<char>('a' + i % 26))});
  }
  records[7].first = "";  // absent key
  Headers headers = {{"dr-type", "datarun.v1.Vehicle"}, {"empty", ""}};
  auto reports =
      ProduceAll(*producer, "dr.data.police.vehicle", records, &headers);
  std::map<std::pair<int32_t, int64_t>, size_t> by_position;
  for (size_t i = 0; i < reports.size(); ++i) {
    ASSERT_TRUE(reports[i].ok()) << reports[i].status();
    by_position[{reports[i]->partition, reports[i]->offset}] = i;
  }

  Recorder rec;
  auto consumer = NewConsumer("g-views");
  ASSERT_TRUE(consumer->Subscribe({"dr.data.police.vehicle"}, &rec).ok());
  std::vector<std::unique_ptr<PolledBatch>> held;
  size_t got = 0;
  const absl::Time deadline = absl::Now() + absl::Seconds(20);
  while (got < records.size() && absl::Now() < deadline) {
    std::unique_ptr<PolledBatch> batch;
    ASSERT_TRUE(consumer->PollBatch(256, absl::Milliseconds(200), &batch).ok());
    ASSERT_NE(batch, nullptr);
    got += batch->size();
    held.push_back(std::move(batch));
    // Release the oldest but one, out of order with polling.
    if (held.size() > 3) held.erase(held.begin() + 1);
  }
  ASSERT_EQ(got, records.size());
  // Check the held batches only now, after many more polls and releases.
  std::set<size_t> seen;
  for (const auto& batch : held) {
    for (size_t j = 0; j < batch->size(); ++j) {
      const MessageView& m = batch->messages()[j];
      EXPECT_EQ(m.topic, "dr.data.police.vehicle");
      auto it = by_position.find({m.partition, m.offset});
      ASSERT_NE(it, by_position.end());
      EXPECT_EQ(m.key, records[it->second].first);
      EXPECT_EQ(m.value, records[it->second].second);
      EXPECT_EQ(batch->headers(j), headers);
      EXPECT_EQ(Visited(*batch, j), headers);
      EXPECT_LT(absl::Now() - batch->timestamp(j), absl::Minutes(1));
      seen.insert(it->second);
    }
  }
  EXPECT_GT(seen.size(), 0u);
  held.clear();  // before the consumer, as PollBatch requires
  ASSERT_TRUE(consumer->Close().ok());
}

// The interface's default PollBatch (copies through Poll), on the fake.
TEST(PollBatchDefaultTest, CopiesThroughPoll) {
  auto broker = std::make_unique<FakeBroker>();
  auto admin = broker->NewAdmin();
  ASSERT_TRUE(admin.ok());
  ASSERT_TRUE((*admin)->EnsureTopics({{"t", 1}}, absl::Seconds(1)).ok());
  auto producer = broker->NewProducer({});
  ASSERT_TRUE(producer.ok());
  Headers headers = {{"h", "v"}};
  ProduceAll(**producer, "t", {{"k1", "v1"}, {"k2", "v2"}}, &headers);
  Recorder rec;
  auto consumer = broker->NewConsumer({.group_id = "g"});
  ASSERT_TRUE(consumer.ok());
  ASSERT_TRUE((*consumer)->Subscribe({"t"}, &rec).ok());
  std::vector<std::string> values;
  const absl::Time deadline = absl::Now() + absl::Seconds(10);
  while (values.size() < 2 && absl::Now() < deadline) {
    std::unique_ptr<PolledBatch> batch;
    ASSERT_TRUE(
        (*consumer)->PollBatch(10, absl::Milliseconds(100), &batch).ok());
    for (size_t j = 0; j < batch->size(); ++j) {
      values.emplace_back(batch->messages()[j].value);
      EXPECT_EQ(batch->messages()[j].topic, "t");
      EXPECT_EQ(batch->headers(j), headers);
      EXPECT_EQ(Visited(*batch, j), headers);
    }
  }
  EXPECT_EQ(values, (std::vector<std::string>{"v1", "v2"}));
}

TEST_F(KafkaBrokerTest, StartOffsetsSeekPauseResumeWatermarks) {
  ASSERT_TRUE(cluster_->CreateTopic("t", 1).ok());
  auto producer = NewProducer();
  std::vector<std::pair<std::string, std::string>> records;
  for (int i = 0; i < 10; ++i) records.push_back({"", absl::StrCat(i)});
  ProduceAll(*producer, "t", records);

  Recorder rec;
  auto consumer = NewConsumer("g2");
  rec.starts[{"t", 0}] = 6;
  ASSERT_TRUE(consumer->Subscribe({"t"}, &rec).ok());
  std::vector<Message> got = ConsumeN(*consumer, 4);
  ASSERT_EQ(got.size(), 4u);
  EXPECT_EQ(got[0].offset, 6);
  EXPECT_EQ(got[0].value, "6");

  auto wm = consumer->QueryWatermarks({"t", 0}, absl::Seconds(5));
  ASSERT_TRUE(wm.ok()) << wm.status();
  EXPECT_EQ(wm->low, 0);
  EXPECT_EQ(wm->high, 10);

  ASSERT_TRUE(consumer->Seek({"t", 0}, 2).ok());
  ASSERT_TRUE(consumer->Pause({{"t", 0}}).ok());
  std::vector<Message> batch;
  ASSERT_TRUE(consumer->Poll(100, absl::Milliseconds(500), &batch).ok());
  EXPECT_TRUE(batch.empty()) << "paused partition delivered " << batch.size();
  ASSERT_TRUE(consumer->Resume({{"t", 0}}).ok());
  got = ConsumeN(*consumer, 8);
  ASSERT_EQ(got.size(), 8u);
  EXPECT_EQ(got[0].offset, 2);
  EXPECT_EQ(consumer->Seek({"u", 0}, 0).code(),
            absl::StatusCode::kFailedPrecondition);
}

TEST_F(KafkaBrokerTest, StoredOffsetPastEndRestartsAtBeginning) {
  ASSERT_TRUE(cluster_->CreateTopic("t", 1).ok());
  auto producer = NewProducer();
  ProduceAll(*producer, "t", {{"k", "a"}, {"k", "b"}});
  Recorder rec;
  auto consumer = NewConsumer("g3");
  rec.starts[{"t", 0}] = 5000;  // stored against an older cluster
  ASSERT_TRUE(consumer->Subscribe({"t"}, &rec).ok());
  std::vector<Message> got = ConsumeN(*consumer, 2);
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0].offset, 0);
}

TEST_F(KafkaBrokerTest, TwoConsumersSplitCoPartitionedTopicsOnJoinAndLeave) {
  ASSERT_TRUE(cluster_->CreateTopics({"dr.data.a.x", "dr.data.b.y"}, 4).ok());
  Recorder r1, r2;  // outlive the consumers, as broker.h requires
  auto c1 = NewConsumer("exchange");
  auto c2 = NewConsumer("exchange");
  std::vector<Message> batch;
  ASSERT_TRUE(c1->Subscribe({"^dr\\.data\\..*"}, &r1).ok());
  absl::Time deadline = absl::Now() + absl::Seconds(20);
  while (c1->Assignment().size() < 8 && absl::Now() < deadline) {
    ASSERT_TRUE(c1->Poll(10, absl::Milliseconds(100), &batch).ok());
  }
  ASSERT_EQ(c1->Assignment().size(), 8u);

  ASSERT_TRUE(c2->Subscribe({"^dr\\.data\\..*"}, &r2).ok());
  deadline = absl::Now() + absl::Seconds(30);
  while ((c1->Assignment().size() != 4 || c2->Assignment().size() != 4) &&
         absl::Now() < deadline) {
    ASSERT_TRUE(c1->Poll(10, absl::Milliseconds(50), &batch).ok());
    ASSERT_TRUE(c2->Poll(10, absl::Milliseconds(50), &batch).ok());
  }
  ASSERT_EQ(c1->Assignment().size(), 4u);
  ASSERT_EQ(c2->Assignment().size(), 4u);
  // Co-partitioned: each member holds the same partition numbers of both
  // topics.
  for (Consumer* c : {c1.get(), c2.get()}) {
    std::set<int32_t> a, b;
    for (const TopicPartition& tp : c->Assignment()) {
      (tp.topic == "dr.data.a.x" ? a : b).insert(tp.partition);
    }
    EXPECT_EQ(a, b);
  }
  {
    absl::MutexLock l(&r1.mu);
    ASSERT_FALSE(r1.revoked.empty());
    // Eager: the join revoked everything c1 had. (Under load the mock may
    // run one more rebalance round, so only the first one is checked.)
    EXPECT_EQ(r1.revoked.front().size(), 8u);
    EXPECT_EQ(r1.assigned.back(), c1->Assignment());
  }
  {
    absl::MutexLock l(&r2.mu);
    EXPECT_EQ(r2.assigned.back(), c2->Assignment());
  }

  const std::vector<TopicPartition> c2_had = c2->Assignment();
  ASSERT_TRUE(c2->Close().ok());
  {
    absl::MutexLock l(&r2.mu);
    ASSERT_FALSE(r2.revoked.empty());
    EXPECT_EQ(r2.revoked.back(), c2_had);
  }
  deadline = absl::Now() + absl::Seconds(30);
  while (c1->Assignment().size() != 8 && absl::Now() < deadline) {
    ASSERT_TRUE(c1->Poll(10, absl::Milliseconds(100), &batch).ok());
  }
  EXPECT_EQ(c1->Assignment().size(), 8u);
}

TEST_F(KafkaBrokerTest, AdminListsTopicsAndClusterId) {
  ASSERT_TRUE(cluster_->CreateTopics({"dr.audit", "dr.query.req"}, 3).ok());
  auto admin = broker_->NewAdmin();
  ASSERT_TRUE(admin.ok()) << admin.status();
  auto topics = (*admin)->ListTopics(absl::Seconds(5));
  ASSERT_TRUE(topics.ok()) << topics.status();
  ASSERT_EQ(topics->size(), 2u);
  EXPECT_EQ((*topics)[0].name, "dr.audit");
  EXPECT_EQ((*topics)[0].partitions, 3);
  EXPECT_EQ((*admin)->ClusterId(absl::Seconds(5)).value(),
            cluster_->cluster_id());
  EXPECT_EQ((*admin)->EnsureTopics({{"dr.audit", 5}}, absl::Seconds(5)).code(),
            absl::StatusCode::kFailedPrecondition);
  EXPECT_TRUE((*admin)->EnsureTopics({{"dr.audit", 3}}, absl::Seconds(5)).ok());
  // The embedded cluster has no CreateTopics API: a clear, bounded error.
  absl::Status created =
      (*admin)->EnsureTopics({{"dr.dlq.police", 3}}, absl::Seconds(2));
  EXPECT_EQ(created.code(), absl::StatusCode::kDeadlineExceeded) << created;
  EXPECT_THAT(std::string(created.message()),
              HasSubstr("EmbeddedCluster::CreateTopics"));

  auto embedded_admin = cluster_->NewAdmin();
  ASSERT_TRUE(
      embedded_admin->EnsureTopics({{"dr.data.x.y", 3}}, absl::Seconds(5))
          .ok());
  EXPECT_EQ(embedded_admin->ListTopics(absl::Seconds(5))->size(), 3u);
}

// A limit of the embedded cluster, pinned so that a librdkafka upgrade that
// changes it is noticed: its Metadata API is too old for
// allow.auto.create.topics=false, so a topic a producer names that does not
// exist is created with 4 partitions. The daemon must create every topic
// before clients start (EmbeddedCluster::CreateTopics).
TEST_F(KafkaBrokerTest, EmbeddedClusterAutoCreatesUnknownTopics) {
  auto producer = NewProducer({{"message.timeout.ms", "5000"}});
  absl::StatusOr<DeliveryReport> delivered = absl::UnknownError("none");
  ASSERT_TRUE(producer
                  ->Send({"dr.data.typo", "k", "v"},
                         [&](const absl::StatusOr<DeliveryReport>& r) {
                           delivered = r;
                         })
                  .ok());
  ASSERT_TRUE(producer->Flush(absl::Seconds(20)).ok());
  EXPECT_TRUE(delivered.ok()) << delivered.status();
  auto admin = broker_->NewAdmin().value();
  auto topics = admin->ListTopics(absl::Seconds(5)).value();
  ASSERT_EQ(topics.size(), 1u);
  EXPECT_EQ(topics[0].name, "dr.data.typo");
  EXPECT_EQ(topics[0].partitions, 4);
}

TEST_F(KafkaBrokerTest, BrokerDownDuringProduceLosesNothingAcknowledged) {
  ASSERT_TRUE(cluster_->CreateTopic("dr.data.tax.income", 3).ok());
  auto producer = NewProducer();
  constexpr int kRecords = 6000;
  absl::Mutex mu;
  std::map<std::string, DeliveryReport> acked;
  int failed = 0;
  for (int i = 0; i < kRecords; ++i) {
    if (i == kRecords / 3) ASSERT_TRUE(cluster_->SetBrokerDown(1).ok());
    if (i == 2 * kRecords / 3) ASSERT_TRUE(cluster_->SetBrokerUp(1).ok());
    std::string value = absl::StrCat("r", i);
    ASSERT_TRUE(
        producer
            ->Send({"dr.data.tax.income", absl::StrCat("k", i % 50), value},
                   [&, value](const absl::StatusOr<DeliveryReport>& r) {
                     absl::MutexLock l(&mu);
                     if (r.ok()) {
                       acked[value] = *r;
                     } else {
                       ++failed;
                     }
                   })
            .ok());
    if (i % 100 == 0) absl::SleepFor(absl::Milliseconds(5));
  }
  ASSERT_TRUE(producer->Flush(absl::Seconds(60)).ok());
  EXPECT_EQ(failed, 0);
  EXPECT_EQ(acked.size(), static_cast<size_t>(kRecords));

  Recorder rec;
  auto consumer = NewConsumer("g-down");
  ASSERT_TRUE(consumer->Subscribe({"dr.data.tax.income"}, &rec).ok());
  std::vector<Message> got = ConsumeN(*consumer, kRecords, absl::Seconds(30));
  // Drain anything extra (duplicates would show up here).
  std::vector<Message> batch;
  ASSERT_TRUE(consumer->Poll(1000, absl::Seconds(1), &batch).ok());
  got.insert(got.end(), batch.begin(), batch.end());
  std::map<std::string, int> seen;
  for (const Message& m : got) {
    ++seen[m.value];
    auto it = acked.find(m.value);
    if (it != acked.end()) {
      EXPECT_EQ(it->second.partition, m.partition);
      EXPECT_EQ(it->second.offset, m.offset) << m.value;
    }
  }
  for (const auto& [value, report] : acked) {
    EXPECT_EQ(seen[value], 1) << value << " acknowledged at "
                              << report.partition << "/" << report.offset;
  }
  EXPECT_EQ(got.size(), acked.size());
}

TEST_F(KafkaBrokerTest, QueueFullIsResourceExhaustedAfterMaxBlock) {
  ASSERT_TRUE(cluster_->CreateTopic("t", 1).ok());
  // Nothing can leave while every broker is down, so the queue fills up.
  for (int b = 1; b <= 3; ++b) ASSERT_TRUE(cluster_->SetBrokerDown(b).ok());
  auto p = broker_->NewProducer(
      {.max_block = absl::Milliseconds(200),
       .properties = {{"queue.buffering.max.messages", "5"},
                      {"message.timeout.ms", "2000"}}});
  ASSERT_TRUE(p.ok()) << p.status();
  absl::Status s;
  int accepted = 0;
  for (int i = 0; i < 10 && s.ok(); ++i) {
    s = (*p)->Send({"t", "k", "v"}, nullptr);
    if (s.ok()) ++accepted;
  }
  EXPECT_EQ(accepted, 5);
  EXPECT_EQ(s.code(), absl::StatusCode::kResourceExhausted) << s;
  EXPECT_TRUE(IsRetriable(s));
  // The queued ones fail with a retriable timeout, through their callbacks.
  EXPECT_TRUE((*p)->Flush(absl::Seconds(10)).ok());
  EXPECT_EQ((*p)->InFlight(), 0);
}

TEST(KafkaConfigTest, UnknownPropertyIsAClearError) {
  auto cluster = EmbeddedCluster::Start(1).value();
  auto broker = NewKafkaBroker(
      {.bootstrap = cluster->bootstrap(), .properties = {{"lingr.ms", "5"}}});
  ASSERT_FALSE(broker.ok());
  EXPECT_EQ(broker.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(broker.status().message()), HasSubstr("lingr.ms"));

  auto ok = NewKafkaBroker({.bootstrap = cluster->bootstrap()}).value();
  auto p = ok->NewProducer({.properties = {{"acks", "sometimes"}}});
  ASSERT_FALSE(p.ok());
  EXPECT_THAT(std::string(p.status().message()), HasSubstr("acks"));
  EXPECT_THAT(std::string(p.status().message()),
              HasSubstr("ProducerOptions.properties"));
  EXPECT_EQ(ok->NewConsumer({}).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(KafkaConfigTest, UnreachableBootstrapFailsFastNotHangs) {
  const absl::Time start = absl::Now();
  // Port 1 on loopback: nobody listens, connections are refused.
  auto broker = NewKafkaBroker(
      {.bootstrap = "127.0.0.1:1", .connect_timeout = absl::Seconds(2)});
  ASSERT_FALSE(broker.ok());
  EXPECT_EQ(broker.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(std::string(broker.status().message()), HasSubstr("127.0.0.1:1"));
  EXPECT_LT(absl::Now() - start, absl::Seconds(6));
}

TEST(KafkaConfigTest, LoadPropertiesFile) {
  const std::string path =
      absl::StrCat(getenv("TEST_TMPDIR"), "/client.properties");
  {
    std::ofstream out(path);
    out << "# real cluster\nsecurity.protocol=SASL_SSL\n"
        << "  sasl.mechanism : SCRAM-SHA-512\n\n! comment\nlinger.ms=20\n";
  }
  auto props = LoadProperties(path);
  ASSERT_TRUE(props.ok()) << props.status();
  EXPECT_EQ(props->at("security.protocol"), "SASL_SSL");
  EXPECT_EQ(props->at("sasl.mechanism"), "SCRAM-SHA-512");
  EXPECT_EQ(props->size(), 3u);
  {
    std::ofstream out(path);
    out << "linger.ms=1\nbroken line\n";
  }
  auto bad = LoadProperties(path);
  ASSERT_FALSE(bad.ok());
  EXPECT_THAT(std::string(bad.status().message()), HasSubstr(":2:"));
  EXPECT_EQ(LoadProperties("/nonexistent/x").status().code(),
            absl::StatusCode::kNotFound);
}

}  // namespace
}  // namespace datarun::broker
