// Two datarund instances in one consumer group split the partitions; when
// one is SIGKILLed the other takes its partitions over (reading them from
// the beginning, since it never stored their offsets), and the union of the
// two states is the complete final state.
#include <filesystem>
#include <fstream>
#include <set>
#include <string>

#include "absl/strings/str_cat.h"
#include "broker_adapters/kafka/kafka_broker.h"
#include "gtest/gtest.h"
#include "tests/integration/harness.h"

namespace datarun::integration {
namespace {

constexpr int kPartitions = 4;
constexpr int kTopics = 3;  // data topics of the test catalog
constexpr int kFirst = 6000;
constexpr int kSecond = 6000;

TEST(TwoInstanceTest, SurvivorTakesOverAndTheUnionIsComplete) {
  Process kafka;
  auto bootstrap = StartKafka(&kafka, CatalogTopics(), kPartitions);
  ASSERT_TRUE(bootstrap.ok()) << bootstrap.status();
  Workload workload(1500, 20261126);
  workload.Generate(kFirst + kSecond);
  broker::KafkaConfig config;
  config.bootstrap = *bootstrap;
  auto broker = broker::NewKafkaBroker(config);
  ASSERT_TRUE(broker.ok()) << broker.status();
  auto producer = (*broker)->NewProducer({});
  ASSERT_TRUE(producer.ok()) << producer.status();
  ASSERT_TRUE(workload.Publish(**producer, 0, kFirst).ok());

  // A short session timeout so the group notices the killed member soon.
  const std::string properties = TestPath("consumer.properties");
  {
    std::ofstream out(properties);
    out << "session.timeout.ms=6000\nheartbeat.interval.ms=500\n";
  }
  auto args = [&](const std::string& name) {
    std::filesystem::remove_all(TestPath(name + "_state"));
    std::filesystem::remove(TestPath(name + "_status"));
    return std::vector<std::string>{
        kDatarund,
        absl::StrCat("--brokers=", *bootstrap),
        absl::StrCat("--state_dir=", TestPath(name + "_state")),
        absl::StrCat("--catalog=", kCatalogPath),
        absl::StrCat("--partitions=", kPartitions),
        absl::StrCat("--kafka_properties=", properties),
        absl::StrCat("--status_file=", TestPath(name + "_status")),
        "--group_id=two-instances",
        "--block_cache_mb=64",
        "--write_buffer_mb=16",
        "--serve_queries=false"};  // ingest only: no query topics here
  };
  Process a, b;
  ASSERT_TRUE(a.Start(args("a"), TestPath("a")).ok());
  ASSERT_TRUE(b.Start(args("b"), TestPath("b")).ok());

  // Both members hold partitions and together stored every message once.
  absl::Time deadline = absl::Now() + absl::Seconds(30);
  while (true) {
    auto sa = ReadStatus(TestPath("a_status"));
    auto sb = ReadStatus(TestPath("b_status"));
    if (sa["assigned"] > 0 && sb["assigned"] > 0 &&
        sa["assigned"] + sb["assigned"] == kTopics * kPartitions &&
        sa["stored_messages"] + sb["stored_messages"] == kFirst) {
      break;
    }
    ASSERT_LT(absl::Now(), deadline) << "a: assigned=" << sa["assigned"]
                                     << " stored=" << sa["stored_messages"]
                                     << "; b: assigned=" << sb["assigned"]
                                     << " stored=" << sb["stored_messages"];
    absl::SleepFor(absl::Milliseconds(50));
  }
  a.Kill();
  ASSERT_TRUE(workload.Publish(**producer, kFirst, kFirst + kSecond).ok());

  // b ends up with every partition and every message.
  deadline = absl::Now() + absl::Seconds(40);
  while (true) {
    auto sb = ReadStatus(TestPath("b_status"));
    if (sb["assigned"] == kTopics * kPartitions &&
        sb["stored_messages"] == kFirst + kSecond) {
      break;
    }
    ASSERT_LT(absl::Now(), deadline) << "b: assigned=" << sb["assigned"]
                                     << " stored=" << sb["stored_messages"];
    absl::SleepFor(absl::Milliseconds(50));
  }
  auto exit_code = b.Terminate(absl::Seconds(20));
  ASSERT_TRUE(exit_code.ok()) << exit_code.status();
  EXPECT_EQ(*exit_code, 0);

  auto state_a = ReadState(TestPath("a_state"));
  auto state_b = ReadState(TestPath("b_state"));
  ASSERT_TRUE(state_a.ok()) << state_a.status();
  ASSERT_TRUE(state_b.ok()) << state_b.status();
  auto offsets_a = ReadOffsets(TestPath("a_state"));
  ASSERT_TRUE(offsets_a.ok());
  EXPECT_GT(offsets_a->partitions, 0u);
  EXPECT_LT(offsets_a->partitions, static_cast<size_t>(kTopics * kPartitions))
      << "a held only its share before it was killed";
  EXPECT_FALSE(state_a->empty());

  // Union: the newer entry of a and b for every record.
  std::map<std::string, Workload::Expected> united = *state_b;
  for (const auto& [name, e] : *state_a) {
    auto it = united.find(name);
    if (it == united.end() || it->second.version < e.version) united[name] = e;
  }
  const auto expected = workload.FinalState();
  EXPECT_EQ(Digest(united), Digest(expected));
  EXPECT_EQ(Digest(*state_b), Digest(expected))
      << "b re-read a's partitions from the beginning";
}

}  // namespace
}  // namespace datarun::integration
