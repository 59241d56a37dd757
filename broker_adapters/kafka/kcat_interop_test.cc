// Interop with an independent Kafka client: kcat (Debian package `kcat`,
// installed by tools/setup) produces into the embedded cluster and the
// adapter consumes the same bytes, and the reverse.
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "broker_adapters/embedded/embedded_cluster.h"
#include "broker_adapters/fake/fake_broker.h"
#include "broker_adapters/kafka/kafka_broker.h"
#include "gtest/gtest.h"

namespace datarun::broker {
namespace {

constexpr char kKcat[] = "/usr/bin/kcat";

// Runs a shell command and returns its stdout; fails the test on non-zero
// exit.
std::string RunShell(const std::string& command) {
  FILE* pipe = popen(command.c_str(), "r");
  EXPECT_NE(pipe, nullptr) << command;
  if (pipe == nullptr) return "";
  std::string out;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof(buf), pipe)) > 0) out.append(buf, n);
  const int rc = pclose(pipe);
  EXPECT_EQ(rc, 0) << command;
  return out;
}

class NoopHandler : public RebalanceHandler {
 public:
  absl::flat_hash_map<TopicPartition, int64_t> OnAssigned(
      const std::vector<TopicPartition>&) override {
    return {};
  }
  void OnRevoked(const std::vector<TopicPartition>&) override {}
};

class KcatInteropTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_EQ(access(kKcat, X_OK), 0)
        << kKcat << " missing: run tools/setup (Debian package kcat)";
    cluster_ = EmbeddedCluster::Start(1).value();
    broker_ = NewKafkaBroker({.bootstrap = cluster_->bootstrap()}).value();
    tmp_ = getenv("TEST_TMPDIR");
  }

  std::unique_ptr<EmbeddedCluster> cluster_;
  std::unique_ptr<Broker> broker_;
  std::string tmp_;
};

// Subject ids, Chinese text, JSON punctuation: bytes a department sends.
std::vector<std::pair<std::string, std::string>> Records(int n) {
  std::vector<std::pair<std::string, std::string>> out;
  for (int i = 0; i < n; ++i) {
    out.push_back({absl::StrCat("3301061990010", 10000 + i),
                   absl::StrCat("{\"name\":\"张三", i,
                                "\",\"addr\":\"浙江省杭州市西湖区\",\"n\":", i,
                                ",\"bytes\":\"\x01\x02\xff\"}")});
  }
  return out;
}

TEST_F(KcatInteropTest, KcatProducesAdapterConsumesSameBytes) {
  ASSERT_TRUE(cluster_->CreateTopic("dr.data.police.household", 4).ok());
  const auto records = Records(300);
  const std::string input = tmp_ + "/in.txt";
  {
    std::ofstream out(input, std::ios::binary);
    for (const auto& [k, v] : records) out << k << '\t' << v << '\n';
  }
  // The Java client's partitioner, as every datarun producer uses.
  RunShell(absl::StrCat(kKcat, " -q -b ", cluster_->bootstrap(),
                        " -P -t dr.data.police.household -K '\t'",
                        " -H dr-type=datarun.v1.Household",
                        " -X topic.partitioner=murmur2_random < ", input));

  NoopHandler handler;
  auto consumer = broker_->NewConsumer({.group_id = "interop"}).value();
  ASSERT_TRUE(consumer->Subscribe({"dr.data.police.household"}, &handler).ok());
  std::map<std::string, Message> got;
  std::vector<Message> batch;
  const absl::Time deadline = absl::Now() + absl::Seconds(20);
  while (got.size() < records.size() && absl::Now() < deadline) {
    ASSERT_TRUE(consumer->Poll(500, absl::Milliseconds(200), &batch).ok());
    for (Message& m : batch) got[m.key] = std::move(m);
  }
  ASSERT_EQ(got.size(), records.size());
  for (const auto& [k, v] : records) {
    const Message& m = got[k];
    EXPECT_EQ(m.value, v);
    EXPECT_EQ(m.partition, Murmur2Partition(k, 4)) << k;
    ASSERT_EQ(m.headers.size(), 1u);
    EXPECT_EQ(m.headers[0].first, "dr-type");
    EXPECT_EQ(m.headers[0].second, "datarun.v1.Household");
  }
}

TEST_F(KcatInteropTest, AdapterProducesKcatConsumesSameBytes) {
  ASSERT_TRUE(cluster_->CreateTopic("dr.query.req", 3).ok());
  const auto records = Records(300);
  auto producer = broker_->NewProducer({}).value();
  Headers headers = {{"dr-catalog", "42"}};
  std::map<std::string, DeliveryReport> reports;
  for (const auto& [k, v] : records) {
    std::string key = k;
    ASSERT_TRUE(
        producer
            ->Send({"dr.query.req", k, v, &headers},
                   [&reports, key](const absl::StatusOr<DeliveryReport>& r) {
                     ASSERT_TRUE(r.ok()) << r.status();
                     reports[key] = *r;
                   })
            .ok());
  }
  ASSERT_TRUE(producer->Flush(absl::Seconds(20)).ok());
  ASSERT_EQ(reports.size(), records.size());

  // Idempotent, lz4-compressed batches must be readable by any client.
  const std::string out = RunShell(
      absl::StrCat(kKcat, " -q -b ", cluster_->bootstrap(),
                   " -C -t dr.query.req -e -f '%p\t%o\t%h\t%k\t%s\n'"));
  std::map<std::string, std::string> values;
  for (const auto& [k, v] : records) values[k] = v;
  int lines = 0;
  for (absl::string_view line : absl::StrSplit(out, '\n', absl::SkipEmpty())) {
    std::vector<std::string> f = absl::StrSplit(line, absl::MaxSplits('\t', 4));
    ASSERT_EQ(f.size(), 5u) << line;
    ++lines;
    const std::string& key = f[3];
    ASSERT_EQ(values.count(key), 1u) << key;
    EXPECT_EQ(f[4], values[key]);
    EXPECT_EQ(f[2], "dr-catalog=42");
    EXPECT_EQ(std::stoi(f[0]), reports[key].partition);
    EXPECT_EQ(std::stoll(f[1]), reports[key].offset);
  }
  EXPECT_EQ(lines, static_cast<int>(records.size()));
}

}  // namespace
}  // namespace datarun::broker
