// ReadTopicRanges over the in-memory broker (broker_adapters/fake): the
// only broker here whose OffsetsForTimes answers (librdkafka's mock
// cluster, used by //tests/cli:replay_produce_test, never does), so the
// path that starts a time range at the broker's offset is tested here;
// plus topic selection, inclusive offset bounds, --follow with --to_offset,
// early stop and the stop flag.
#include "tools/cli/replay_reader.h"

#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "broker_adapters/embedded/embedded_cluster.h"
#include "broker_adapters/fake/fake_broker.h"
#include "broker_adapters/kafka/kafka_broker.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace datarun::cli {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

class ReplayReaderTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(broker_.CreateTopic("dr.audit", 2).ok());
    ASSERT_TRUE(broker_.CreateTopic("dr.data.a.x", 1).ok());
    ASSERT_TRUE(broker_.CreateTopic("dr.data.b.y", 1).ok());
    auto p = broker_.NewProducer({});
    ASSERT_TRUE(p.ok());
    producer_ = std::move(*p);
  }

  void Send(const std::string& topic, int32_t partition,
            const std::string& value) {
    broker::OutgoingMessage m;
    m.topic = topic;
    m.partition = partition;
    m.value = value;
    ASSERT_TRUE(producer_->Send(m, nullptr).ok());
  }

  // Values read, in order.
  std::vector<std::string> Read(const std::vector<std::string>& topics,
                                const ReplayRange& range, size_t max = 0,
                                absl::Status* status = nullptr) {
    auto admin = broker_.NewAdmin();
    EXPECT_TRUE(admin.ok());
    auto existing = (*admin)->ListTopics(absl::Seconds(1));
    EXPECT_TRUE(existing.ok());
    auto selected = SelectTopics(*existing, topics, range.partition);
    EXPECT_TRUE(selected.ok()) << selected.status();
    std::vector<std::string> values;
    absl::Status st = ReadTopicRanges(
        &broker_, *selected, range,
        [&](const broker::Message& m) {
          values.push_back(m.value);
          return max == 0 || values.size() < max;
        },
        nullptr);
    if (status != nullptr) {
      *status = st;
    } else {
      EXPECT_TRUE(st.ok()) << st;
    }
    return values;
  }

  broker::FakeBroker broker_;
  std::unique_ptr<broker::Producer> producer_;
};

TEST_F(ReplayReaderTest, SelectTopicsByNameAndGlob) {
  const std::vector<broker::TopicSpec> existing = {
      {"dr.audit", 2}, {"dr.data.a.x", 1}, {"dr.data.b.y", 1}};
  auto s = SelectTopics(existing, {"dr.data.*"}, -1);
  ASSERT_TRUE(s.ok());
  ASSERT_EQ(s->size(), 2u);
  EXPECT_EQ((*s)[0].name, "dr.data.a.x");
  s = SelectTopics(existing, {"dr.audit"}, 1);
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(s->size(), 1u);
  // Every selected topic must have the partition asked for.
  EXPECT_THAT(
      SelectTopics(existing, {"dr.audit", "dr.data.a.*"}, 1).status().message(),
      HasSubstr("--partition=1: topic dr.data.a.x has 1 partitions"));
  EXPECT_THAT(SelectTopics(existing, {"dr.audi"}, -1).status().message(),
              HasSubstr("--topic: no topic dr.audi on the bus"));
  EXPECT_THAT(SelectTopics(existing, {"x.*"}, -1).status().message(),
              HasSubstr("no topic matches x.*"));
}

TEST_F(ReplayReaderTest, InclusiveOffsetBoundsAndLimit) {
  for (int i = 0; i < 5; ++i) Send("dr.audit", 1, absl::StrCat("v", i));
  Send("dr.audit", 0, "other");
  ReplayRange r;
  r.partition = 1;
  r.from_offset = 1;
  r.to_offset = 3;
  EXPECT_THAT(Read({"dr.audit"}, r), ElementsAre("v1", "v2", "v3"));
  r.to_offset = -1;
  EXPECT_THAT(Read({"dr.audit"}, r), ElementsAre("v1", "v2", "v3", "v4"));
  EXPECT_THAT(Read({"dr.audit"}, r, 2), ElementsAre("v1", "v2"));
  // Past the end: nothing, at once.
  r.from_offset = 9;
  EXPECT_TRUE(Read({"dr.audit"}, r).empty());
}

TEST_F(ReplayReaderTest, TimeRangeStartsAtTheBrokersOffset) {
  Send("dr.data.a.x", 0, "early");
  absl::SleepFor(absl::Milliseconds(20));
  const absl::Time from = absl::Now();
  Send("dr.data.a.x", 0, "inside");
  const absl::Time to = absl::Now();
  absl::SleepFor(absl::Milliseconds(20));
  Send("dr.data.a.x", 0, "late");
  // The fake's OffsetsForTimes answers like Kafka's.
  auto consumer = broker_.NewConsumer({.group_id = "probe"});
  ASSERT_TRUE(consumer.ok());
  auto offsets = (*consumer)->OffsetsForTimes(
      {{{"dr.data.a.x", 0}, from},
       {{"dr.data.a.x", 0}, absl::Now() + absl::Hours(1)}},
      absl::Seconds(1));
  ASSERT_TRUE(offsets.ok());
  EXPECT_THAT(*offsets, ElementsAre(1, broker::kOffsetEnd));

  ReplayRange r;
  r.from_time = from;
  r.to_time = to;
  EXPECT_THAT(Read({"dr.data.*"}, r), ElementsAre("inside"));
  r.to_time.reset();
  EXPECT_THAT(Read({"dr.data.a.x"}, r), ElementsAre("inside", "late"));
  r.from_time.reset();
  r.to_time = to;
  EXPECT_THAT(Read({"dr.data.a.x"}, r), ElementsAre("early", "inside"));
  // Later than every record: the broker says so, nothing is read.
  r.from_time = absl::Now() + absl::Hours(1);
  r.to_time.reset();
  EXPECT_TRUE(Read({"dr.data.a.x"}, r).empty());
}

TEST_F(ReplayReaderTest, FollowFromALaterTimeStartsAtTheEnd) {
  Send("dr.data.b.y", 0, "old");
  ReplayRange r;
  r.follow = true;
  r.to_offset = 1;  // ends the follow once the new record is read
  r.from_time = absl::Now() + absl::Milliseconds(100);
  std::thread later([&] {
    absl::SleepFor(absl::Milliseconds(300));
    Send("dr.data.b.y", 0, "new");
  });
  EXPECT_THAT(Read({"dr.data.b.y"}, r), ElementsAre("new"));
  later.join();
}

TEST_F(ReplayReaderTest, FollowEndsAtToOffset) {
  Send("dr.data.b.y", 0, "a");
  ReplayRange r;
  r.follow = true;
  r.to_offset = 1;
  std::thread later([&] {
    absl::SleepFor(absl::Milliseconds(300));
    Send("dr.data.b.y", 0, "b");
    Send("dr.data.b.y", 0, "c");
  });
  // Returns once offset 1 arrived, though "c" follows.
  EXPECT_THAT(Read({"dr.data.b.y"}, r), ElementsAre("a", "b"));
  later.join();
}

TEST_F(ReplayReaderTest, StopFlagEndsFollow) {
  Send("dr.data.b.y", 0, "a");
  ReplayRange r;
  r.follow = true;
  std::atomic<bool> stop{false};
  std::vector<std::string> values;
  auto admin = broker_.NewAdmin();
  auto existing = (*admin)->ListTopics(absl::Seconds(1));
  auto selected = SelectTopics(*existing, {"dr.data.b.y"}, -1);
  absl::Status st = ReadTopicRanges(
      &broker_, *selected, r,
      [&](const broker::Message& m) {
        values.push_back(m.value);
        stop = true;
        return true;
      },
      &stop);
  EXPECT_TRUE(st.ok()) << st;
  EXPECT_THAT(values, ElementsAre("a"));
}

// The Kafka consumer asks the broker (rd_kafka_offsets_for_times) rather
// than answering kUnimplemented. librdkafka's mock cluster does not index
// time: it answers "none" (kOffsetEnd) even for 1970, which is what makes
// ReadTopicRanges scan there.
TEST(ReplayReaderKafka, KafkaConsumerAnswersOffsetsForTimes) {
  auto cluster = broker::EmbeddedCluster::Start();
  ASSERT_TRUE(cluster.ok()) << cluster.status();
  ASSERT_TRUE((*cluster)->CreateTopic("dr.audit", 2).ok());
  broker::KafkaConfig config;
  config.bootstrap = (*cluster)->bootstrap();
  auto bus = broker::NewKafkaBroker(config);
  ASSERT_TRUE(bus.ok()) << bus.status();
  auto consumer = (*bus)->NewConsumer({.group_id = "probe"});
  ASSERT_TRUE(consumer.ok()) << consumer.status();
  auto offsets = (*consumer)->OffsetsForTimes(
      {{{"dr.audit", 0}, absl::UnixEpoch()}, {{"dr.audit", 1}, absl::Now()}},
      absl::Seconds(10));
  ASSERT_TRUE(offsets.ok()) << offsets.status();
  EXPECT_THAT(*offsets, ElementsAre(broker::kOffsetEnd, broker::kOffsetEnd));
}

}  // namespace
}  // namespace datarun::cli
