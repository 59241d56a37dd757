// Crash test of the exchange core: datarund is SIGKILLed at random moments
// while it ingests a stream of upserts and deletes, and restarted on the
// same state directory. The final state must equal the state the stream
// implies (count and content digest), and the stored offset counters prove
// that every message was applied exactly once: none lost, none replayed.
#include <filesystem>
#include <random>
#include <string>
#include <thread>

#include "absl/strings/str_cat.h"
#include "broker_adapters/kafka/kafka_broker.h"
#include "gtest/gtest.h"
#include "tests/integration/harness.h"

namespace datarun::integration {
namespace {

constexpr int kPartitions = 4;
constexpr int kEvents = 40000;
constexpr int kKills = 4;

std::vector<std::string> DaemonArgs(const std::string& bootstrap,
                                    const std::string& state_dir,
                                    const std::string& status_file, int round) {
  // A new group per start: the killed member would otherwise hold its
  // partitions until the group's session timeout. Offsets live in the state,
  // not in the group, so the group id does not affect where ingest resumes.
  return {kDatarund,
          absl::StrCat("--brokers=", bootstrap),
          absl::StrCat("--state_dir=", state_dir),
          absl::StrCat("--catalog=", kCatalogPath),
          absl::StrCat("--partitions=", kPartitions),
          absl::StrCat("--group_id=crash-", round),
          absl::StrCat("--status_file=", status_file),
          "--batch_messages=512",
          "--block_cache_mb=64",
          "--write_buffer_mb=16",
          "--serve_queries=false"};  // ingest only: no query topics here
}

TEST(CrashTest, SigkillAtRandomMomentsLosesNothingAndAppliesNothingTwice) {
  Process kafka;
  auto bootstrap = StartKafka(&kafka, CatalogTopics(), kPartitions);
  ASSERT_TRUE(bootstrap.ok()) << bootstrap.status();

  const uint64_t seed = std::random_device()();
  SCOPED_TRACE(absl::StrCat("seed=", seed));
  Workload workload(2000, seed);
  workload.Generate(kEvents);

  broker::KafkaConfig config;
  config.bootstrap = *bootstrap;
  auto broker = broker::NewKafkaBroker(config);
  ASSERT_TRUE(broker.ok()) << broker.status();
  auto producer = (*broker)->NewProducer({});
  ASSERT_TRUE(producer.ok()) << producer.status();
  absl::Status published;
  std::thread publisher([&] {
    published = workload.Publish(**producer, 0, kEvents, absl::Seconds(14));
  });

  const std::string state_dir = TestPath("crash_state");
  const std::string status_file = TestPath("crash_status");
  std::filesystem::remove_all(state_dir);
  std::mt19937_64 rng(seed);
  int kills_while_ingesting = 0;
  for (int round = 0; round < kKills; ++round) {
    std::filesystem::remove(status_file);
    Process daemon;
    ASSERT_TRUE(
        daemon
            .Start(DaemonArgs(*bootstrap, state_dir, status_file, round),
                   TestPath("datarund"))
            .ok());
    // Wait until this process has applied something, then kill it at a
    // random moment of the next 1.5 s.
    const absl::Time deadline = absl::Now() + absl::Seconds(20);
    while (ReadStatus(status_file)["messages"] == 0 && absl::Now() < deadline) {
      absl::SleepFor(absl::Milliseconds(20));
    }
    absl::SleepFor(absl::Milliseconds(rng() % 1500));
    auto status = ReadStatus(status_file);
    daemon.Kill();
    if (status["messages"] > 0 && status["stored_messages"] < kEvents) {
      ++kills_while_ingesting;
    }
    std::printf("kill %d: stored_messages=%llu\n", round,
                static_cast<unsigned long long>(status["stored_messages"]));
  }
  publisher.join();
  ASSERT_TRUE(published.ok()) << published;
  EXPECT_GE(kills_while_ingesting, kKills - 1);

  // Last start: let it catch up, then stop it cleanly.
  std::filesystem::remove(status_file);
  Process daemon;
  ASSERT_TRUE(daemon
                  .Start(DaemonArgs(*bootstrap, state_dir, status_file, kKills),
                         TestPath("datarund"))
                  .ok());
  const absl::Time deadline = absl::Now() + absl::Seconds(40);
  while (ReadStatus(status_file)["stored_messages"] < kEvents) {
    ASSERT_LT(absl::Now(), deadline)
        << "caught up only to " << ReadStatus(status_file)["stored_messages"];
    absl::SleepFor(absl::Milliseconds(50));
  }
  auto exit_code = daemon.Terminate(absl::Seconds(20));
  ASSERT_TRUE(exit_code.ok()) << exit_code.status();
  EXPECT_EQ(*exit_code, 0);

  // Exactly once: every message is counted once in the offsets written
  // with the records; each changed the state (versions only grow per
  // record, so a replayed message would be counted stale).
  auto totals = ReadOffsets(state_dir);
  ASSERT_TRUE(totals.ok()) << totals.status();
  EXPECT_EQ(totals->messages, static_cast<uint64_t>(kEvents));
  EXPECT_EQ(totals->applied, static_cast<uint64_t>(kEvents));
  EXPECT_EQ(totals->stale, 0u);
  EXPECT_EQ(totals->rejected, 0u);

  auto actual = ReadState(state_dir);
  ASSERT_TRUE(actual.ok()) << actual.status();
  const auto expected = workload.FinalState();
  EXPECT_EQ(Digest(*actual), Digest(expected));
  ASSERT_EQ(actual->size(), expected.size());
  int mismatches = 0;
  for (const auto& [name, e] : expected) {
    auto it = actual->find(name);
    if (it == actual->end() || it->second.version != e.version ||
        it->second.deleted != e.deleted || it->second.payload != e.payload) {
      if (++mismatches <= 5) ADD_FAILURE() << "state differs at " << name;
    }
  }
  EXPECT_EQ(mismatches, 0);
}

}  // namespace
}  // namespace datarun::integration
