// Crash test of the file connector: datarun-connect publishes a large CSV
// to a kafka_embedded cluster in another process and is SIGKILLed at random
// moments, then restarted, several times. Every row must reach the topic at
// least once (the position is stored only after acknowledgement), the
// number of duplicates is reported, and the exchange (datarund, RocksDB
// state, version rule) must end with exactly the state the file implies.
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/civil_time.h"
#include "absl/time/clock.h"
#include "broker_adapters/kafka/kafka_broker.h"
#include "exchange/subject/subject_id.h"
#include "gtest/gtest.h"
#include "proto/datarun/v1/departments/public_security.pb.h"
#include "tests/integration/harness.h"

namespace datarun::integration {
namespace {

constexpr char kTopic[] = "dr.data.public_security.vehicle_registration";
constexpr int kPartitions = 4;
constexpr int kRows = 40000;
constexpr int kKeys = 25000;  // rows >= kKeys are second versions
constexpr int kSubjects = 2000;
constexpr int kKills = 4;
constexpr double kRate = 6000;  // rows/s, so that kills land mid-file

std::string Subject(int key) {
  return *subject::MakeCitizenId(
      330106, absl::CivilDay(1960, 1, 1) + key % kSubjects, key % 1000);
}

struct CsvRow {
  int key;
  int version;
  bool deleted;
};

CsvRow RowSpec(int i) {
  return {i % kKeys, i / kKeys + 1, i >= kKeys && i % 10 == 0};
}

std::string Plate(int key) { return absl::StrFormat("浙A%05d", key); }
std::string Vin(int i) { return absl::StrFormat("LVIN%013d", i); }

std::string PayloadBytes(int i) {
  datarun::v1::departments::VehicleRegistration v;
  v.set_plate_number(Plate(RowSpec(i).key));
  v.set_vin(Vin(i));
  v.set_vehicle_type(datarun::v1::departments::VEHICLE_TYPE_SMALL_CAR);
  v.mutable_registration_date()->set_year(2020);
  v.mutable_registration_date()->set_month(1 + i % 12);
  v.mutable_registration_date()->set_day(1 + i % 28);
  std::string out;
  v.SerializeToString(&out);
  return out;
}

void WriteCsv(const std::string& path, int rows = kRows) {
  std::ofstream out(path + ".tmp");
  out << "sfzh,plate,version,op,vin,type,registered\n";
  for (int i = 0; i < rows; ++i) {
    CsvRow r = RowSpec(i);
    out << Subject(r.key) << "," << Plate(r.key) << "," << r.version << ","
        << (r.deleted ? "D" : "U") << "," << Vin(i) << ",小型汽车,"
        << absl::StrFormat("2020-%02d-%02d", 1 + i % 12, 1 + i % 28) << "\n";
  }
  out.close();
  std::filesystem::rename(path + ".tmp", path);  // dropped complete
}

void WriteConfig(const std::string& dir, const std::string& bootstrap,
                 const std::string& catalog) {
  std::ofstream(dir + "/mapping.textproto") << R"pb(
    data_class: "vehicle_registration"
    format: FORMAT_CSV
    subject_column: "sfzh"
    record_key_column: "plate"
    version_column: "version"
    op_column: "op"
    fields { column: "plate" field: "plate_number" required: true }
    fields { column: "vin" field: "vin" required: true }
    fields {
      column: "type"
      field: "vehicle_type"
      labels { label: "小型汽车" value: "VEHICLE_TYPE_SMALL_CAR" }
    }
    fields { column: "registered" field: "registration_date" }
  )pb";
  std::ofstream(dir + "/connector.textproto")
      << "department: \"public_security\"\n"
      << "catalog: \"" << catalog << "\"\n"
      << "mapping: \"mapping.textproto\"\n"
      << "file { drop_dir: \"drop\" suffix: \".csv\" }\n"
      << "brokers: \"" << bootstrap << "\"\n"
      << "max_rows_per_second: " << kRate << "\n"
      << "commit_interval_ms: 100\n";
}

// Every message of the data topic, from the beginning.
std::vector<broker::Message> ReadTopic(const std::string& bootstrap) {
  broker::KafkaConfig config;
  config.bootstrap = bootstrap;
  auto broker = broker::NewKafkaBroker(config);
  EXPECT_TRUE(broker.ok()) << broker.status();
  broker::ConsumerOptions options;
  // A new group per read: the mock cluster is slow to rebalance a group a
  // member just left.
  static int reads = 0;
  options.group_id = absl::StrCat("connector-crash-reader-", ++reads);
  auto consumer = (*broker)->NewConsumer(options);
  EXPECT_TRUE(consumer.ok()) << consumer.status();
  struct FromStart : broker::RebalanceHandler {
    absl::flat_hash_map<broker::TopicPartition, int64_t> OnAssigned(
        const std::vector<broker::TopicPartition>&) override {
      return {};
    }
    void OnRevoked(const std::vector<broker::TopicPartition>&) override {}
  } handler;
  EXPECT_TRUE((*consumer)->Subscribe({kTopic}, &handler).ok());
  int64_t total = 0;
  for (int p = 0; p < kPartitions; ++p) {
    auto w = (*consumer)->QueryWatermarks({kTopic, p}, absl::Seconds(10));
    EXPECT_TRUE(w.ok()) << w.status();
    EXPECT_EQ(w->low, 0) << "retention dropped messages of partition " << p;
    total += w->high - w->low;
  }
  std::vector<broker::Message> all, batch;
  const absl::Time deadline = absl::Now() + absl::Seconds(30);
  while (static_cast<int64_t>(all.size()) < total && absl::Now() < deadline) {
    EXPECT_TRUE((*consumer)->Poll(10000, absl::Milliseconds(200), &batch).ok());
    for (auto& m : batch) all.push_back(std::move(m));
  }
  EXPECT_EQ(static_cast<int64_t>(all.size()), total);
  (void)(*consumer)->Close();
  return all;
}

TEST(ConnectorCrashTest, SigkillWhilePublishingSendsEveryRowAtLeastOnce) {
  Process kafka;
  auto bootstrap = StartKafka(&kafka, CatalogTopics(), kPartitions);
  ASSERT_TRUE(bootstrap.ok()) << bootstrap.status();

  const std::string dir = TestPath("connector_crash");
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir + "/drop");
  WriteConfig(dir, *bootstrap,
              std::filesystem::absolute(RunfilePath(kCatalogPath)).string());
  WriteCsv(dir + "/drop/vehicles.csv");
  const std::vector<std::string> args = {
      RunfilePath("connectors/datarun-connect"),
      absl::StrCat("--config=", dir, "/connector.textproto")};

  const uint64_t seed = std::random_device()();
  SCOPED_TRACE(absl::StrCat("seed=", seed));
  std::mt19937_64 rng(seed);
  int kills_mid_file = 0;
  for (int round = 0; round < kKills; ++round) {
    Process connector;
    ASSERT_TRUE(connector.Start(args, dir + "/connect").ok());
    absl::SleepFor(absl::Milliseconds(300 + rng() % 1200));
    connector.Kill();
    if (std::filesystem::exists(dir + "/drop/vehicles.csv")) ++kills_mid_file;
    std::ifstream state(dir + "/drop/.datarun-position");
    std::string position;
    std::getline(state, position);
    std::printf("kill %d: committed position '%s'\n", round, position.c_str());
  }
  EXPECT_GE(kills_mid_file, kKills - 1);

  Process last;
  std::vector<std::string> final_args = args;
  final_args.push_back("--exit_when_idle");
  ASSERT_TRUE(last.Start(final_args, dir + "/connect").ok());
  auto exit_code = last.Wait(absl::Seconds(40));
  ASSERT_TRUE(exit_code.ok()) << exit_code.status();
  ASSERT_EQ(*exit_code, 0);
  EXPECT_TRUE(std::filesystem::exists(dir + "/drop/.done/vehicles.csv"));

  // At least once: every row's (key, version) is on the topic.
  std::vector<broker::Message> messages = ReadTopic(*bootstrap);
  std::map<std::pair<std::string, uint64_t>, int> seen;
  for (const auto& m : messages) {
    datarun::v1::Record r;
    ASSERT_TRUE(r.ParseFromString(m.value));
    ASSERT_EQ(m.key, r.subject().id());
    ++seen[{r.record_key(), r.source_version()}];
  }
  int missing = 0;
  for (int i = 0; i < kRows; ++i) {
    CsvRow r = RowSpec(i);
    if (seen.find({Plate(r.key), static_cast<uint64_t>(r.version)}) ==
        seen.end()) {
      ++missing;
    }
  }
  EXPECT_EQ(missing, 0);
  EXPECT_EQ(seen.size(), static_cast<size_t>(kRows));
  const size_t duplicates = messages.size() - seen.size();
  std::printf("rows=%d messages=%zu duplicates=%zu (%.2f%%) kills=%d\n", kRows,
              messages.size(), duplicates, 100.0 * duplicates / kRows, kKills);
  ::testing::Test::RecordProperty("duplicates", static_cast<int>(duplicates));

  // The exchange applies the topic; its state must be exactly the file's.
  const std::string state_dir = dir + "/state";
  const std::string status_file = dir + "/status";
  Process daemon;
  ASSERT_TRUE(daemon
                  .Start({RunfilePath(kDatarund),
                          absl::StrCat("--brokers=", *bootstrap),
                          absl::StrCat("--state_dir=", state_dir),
                          absl::StrCat("--catalog=", RunfilePath(kCatalogPath)),
                          absl::StrCat("--partitions=", kPartitions),
                          "--group_id=connector-crash",
                          "--serve_queries=false",  // ingest only
                          absl::StrCat("--status_file=", status_file)},
                         dir + "/datarund")
                  .ok());
  const absl::Time deadline = absl::Now() + absl::Seconds(40);
  while (ReadStatus(status_file)["stored_messages"] < messages.size()) {
    ASSERT_LT(absl::Now(), deadline)
        << "datarund caught up only to "
        << ReadStatus(status_file)["stored_messages"];
    absl::SleepFor(absl::Milliseconds(50));
  }
  auto stopped = daemon.Terminate(absl::Seconds(20));
  ASSERT_TRUE(stopped.ok()) << stopped.status();
  auto actual = ReadState(state_dir);
  ASSERT_TRUE(actual.ok()) << actual.status();

  std::map<std::string, Workload::Expected> expected;
  for (int i = 0; i < kRows; ++i) {
    CsvRow r = RowSpec(i);
    Workload::Expected& e = expected[EntryName(
        Subject(r.key), "vehicle_registration", Plate(r.key))];
    if (static_cast<uint64_t>(r.version) < e.version) continue;
    e.version = r.version;
    e.deleted = r.deleted;
    e.payload = r.deleted ? "" : PayloadBytes(i);
  }
  ASSERT_EQ(actual->size(), expected.size());
  int mismatches = 0;
  for (const auto& [name, e] : expected) {
    auto it = actual->find(name);
    if (it == actual->end() || it->second.version != e.version ||
        it->second.deleted != e.deleted || it->second.payload != e.payload) {
      if (++mismatches <= 3) ADD_FAILURE() << "state differs at " << name;
    }
  }
  EXPECT_EQ(mismatches, 0);
  EXPECT_EQ(Digest(*actual), Digest(expected));
}

TEST(ConnectorCrashTest, SigtermStopsCleanlyAndResumesWithoutDuplicates) {
  constexpr int kSmall = 12000;  // < kKeys: one version per key
  Process kafka;
  auto bootstrap = StartKafka(&kafka, CatalogTopics(), kPartitions);
  ASSERT_TRUE(bootstrap.ok()) << bootstrap.status();
  const std::string dir = TestPath("connector_sigterm");
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir + "/drop");
  WriteConfig(dir, *bootstrap,
              std::filesystem::absolute(RunfilePath(kCatalogPath)).string());
  WriteCsv(dir + "/drop/vehicles.csv", kSmall);
  const std::vector<std::string> args = {
      RunfilePath("connectors/datarun-connect"),
      absl::StrCat("--config=", dir, "/connector.textproto")};

  Process connector;
  ASSERT_TRUE(connector.Start(args, dir + "/connect").ok());
  absl::SleepFor(absl::Milliseconds(800));
  auto code = connector.Terminate(absl::Seconds(20));
  ASSERT_TRUE(code.ok()) << code.status();
  EXPECT_EQ(*code, 0);
  // A graceful stop commits exactly what was acknowledged: the committed
  // line (header + rows) matches the records on the topic.
  std::ifstream state(dir + "/drop/.datarun-position");
  std::string file, offset;
  uint64_t line = 0;
  state >> file >> offset >> line;
  ASSERT_EQ(file, "vehicles.csv");
  ASSERT_GT(line, 1u);
  ASSERT_LT(line, static_cast<uint64_t>(kSmall) + 1) << "stopped too late";
  EXPECT_EQ(ReadTopic(*bootstrap).size(), line - 1);

  Process rest;
  std::vector<std::string> final_args = args;
  final_args.push_back("--exit_when_idle");
  ASSERT_TRUE(rest.Start(final_args, dir + "/connect").ok());
  auto exit_code = rest.Wait(absl::Seconds(30));
  ASSERT_TRUE(exit_code.ok()) << exit_code.status();
  ASSERT_EQ(*exit_code, 0);
  std::vector<broker::Message> all = ReadTopic(*bootstrap);
  EXPECT_EQ(all.size(), static_cast<size_t>(kSmall)) << "duplicates or gaps";
  std::set<std::string> keys;
  for (const auto& m : all) {
    datarun::v1::Record r;
    ASSERT_TRUE(r.ParseFromString(m.value));
    keys.insert(r.record_key());
  }
  EXPECT_EQ(keys.size(), static_cast<size_t>(kSmall));
}

}  // namespace
}  // namespace datarun::integration
