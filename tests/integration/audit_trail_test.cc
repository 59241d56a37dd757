// The audit trail end to end, across processes: datarund (queries on by
// default, checkpoints sealed with big_data_bureau's key from --keys)
// against a kafka_embedded process that outlives it; queries in two daemon
// runs; `datarun audit verify` finds one unbroken chain per partition with
// the sealed checkpoints of both runs, and fails with the right reason,
// partition, sequence and offset when a copy of dr.audit has one event
// altered or one link removed. Also: datarund refuses to serve without a
// checkpoint seal.
#include <sys/wait.h>

#include <cstdio>
#include <cstdlib>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "broker_adapters/kafka/kafka_broker.h"
#include "exchange/audit/kafka/audit_bus.h"
#include "exchange/catalog/catalog.h"
#include "exchange/policy/testing/fixture.h"
#include "exchange/query/client/query_client.h"
#include "exchange/query/kafka_audit_sink.h"
#include "exchange/query/topics.h"
#include "gmock/gmock.h"
#include "google/protobuf/text_format.h"
#include "gtest/gtest.h"
#include "tests/integration/harness.h"
#include "tests/testing/run_command.h"

namespace datarun::integration {
namespace {

using ::testing::HasSubstr;

constexpr int kPartitions = 2;
constexpr char kHrss[] = "human_resources_social_security";
constexpr char kMatter[] = "urban_rural_pension_registration";
constexpr char kAltered[] = "copy.audit.altered";
constexpr char kRemoved[] = "copy.audit.removed";

using CmdResult = test_support::CommandResult;

CmdResult Shell(const std::string& binary,
                const std::vector<std::string>& args) {
  return test_support::RunCommand(RunfilePath(binary), args);
}

// The last lines of a log file, for failure messages.
std::string Tail(const std::string& path) {
  std::string text;
  if (FILE* f = fopen(path.c_str(), "r")) {
    char buf[4096];
    size_t n;
    while ((n = fread(buf, 1, sizeof(buf), f)) > 0) text.append(buf, n);
    fclose(f);
  }
  return text.size() > 3000 ? text.substr(text.size() - 3000) : text;
}

class AuditTrailTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto f = policy::testing::Fixture::Create(policy::testing::kShippedMatters,
                                              {kHrss, "big_data_bureau"});
    ASSERT_TRUE(f.ok()) << f.status();
    fixture_ = *std::move(f);
    catalog_path_ = TestPath("catalog.textproto");
    std::string text;
    ASSERT_TRUE(google::protobuf::TextFormat::PrintToString(
        fixture_->catalog().catalog(), &text));
    FILE* out = fopen(catalog_path_.c_str(), "w");
    ASSERT_NE(out, nullptr);
    fwrite(text.data(), 1, text.size(), out);
    fclose(out);
    keys_ = fixture_->keys_dir();
    ASSERT_FALSE(keys_.empty());
  }

  std::vector<std::string> Topics() const {
    std::vector<std::string> topics;
    const auto& c = fixture_->catalog().catalog();
    for (const auto& dc : c.data_classes())
      topics.push_back(catalog::DataTopicFor(dc));
    for (const auto& d : c.departments()) {
      topics.push_back(absl::StrCat("dr.dlq.", d.id()));
      topics.push_back(query::ResponseTopic(d.id()));
    }
    for (const char* t :
         {"dr.dlq.unknown", query::kRequestTopic, query::kAuditTopic,
          audit::kCheckpointTopic, kAltered, kRemoved}) {
      topics.push_back(t);
    }
    return topics;
  }

  // A group per run: a later join of the same group on the mock cluster
  // waits out the session timeout of the member that left (~44 s); offsets
  // live in the state, not in the group.
  std::vector<std::string> DaemonArgs(const std::string& bootstrap,
                                      int run) const {
    return {RunfilePath(kDatarund),
            absl::StrCat("--brokers=", bootstrap),
            absl::StrCat("--state_dir=", TestPath("state")),
            absl::StrCat("--catalog=", catalog_path_),
            absl::StrCat("--keys=", keys_),
            absl::StrCat("--partitions=", kPartitions),
            "--checkpoint_every=3",
            "--query_workers=4",
            absl::StrCat("--group_id=audit-trail-", run),
            "--block_cache_mb=64",
            "--write_buffer_mb=16"};
  }

  // Sends requests about subjects `first`.. until `answers` were answered
  // (a request published before the daemon's server joined gets no answer:
  // retried). Returns the answered request ids.
  std::set<std::string> Ask(broker::Broker* bus, int first, int answers) {
    query::QueryClientOptions o;
    o.department = kHrss;
    o.signer = &fixture_->signer(kHrss);
    auto client = query::QueryClient::Create(bus, o);
    EXPECT_TRUE(client.ok()) << client.status();
    std::set<std::string> answered;
    if (!client.ok()) return answered;
    const absl::Time give_up = absl::Now() + absl::Seconds(60);
    for (int n = first; static_cast<int>(answered.size()) < answers &&
                        absl::Now() < give_up;) {
      auto req =
          fixture_->Request(kHrss, kMatter, datarun::v1::QUERY_KIND_PROFILE,
                            {policy::testing::CitizenId(n)}, absl::Now());
      auto r = (*client)->Query(req, absl::Seconds(3));
      if (r.ok()) {
        answered.insert(r->request_id());
        ++n;
      }
    }
    EXPECT_EQ(static_cast<int>(answered.size()), answers);
    return answered;
  }

  std::unique_ptr<policy::testing::Fixture> fixture_;
  std::string catalog_path_;
  std::string keys_;
};

TEST_F(AuditTrailTest, RefusesToServeWithoutACheckpointSeal) {
  Process daemon;
  std::vector<std::string> args = {
      RunfilePath(kDatarund), "--embedded_kafka",
      absl::StrCat("--state_dir=", TestPath("nokeys")),
      absl::StrCat("--catalog=", catalog_path_)};
  ASSERT_TRUE(daemon.Start(args, TestPath("nokeys")).ok());
  auto code = daemon.Wait(absl::Seconds(30));
  ASSERT_TRUE(code.ok()) << code.status();
  EXPECT_EQ(*code, 2);
  // A keys directory without big_data_bureau's key.
  args.push_back(absl::StrCat("--keys=", TestPath("empty-keys")));
  Process other;
  ASSERT_TRUE(other.Start(args, TestPath("nokeys2")).ok());
  code = other.Wait(absl::Seconds(30));
  ASSERT_TRUE(code.ok()) << code.status();
  EXPECT_EQ(*code, 2);
  FILE* err = fopen(TestPath("nokeys2.err").c_str(), "r");
  ASSERT_NE(err, nullptr);
  char buf[4096] = {};
  fread(buf, 1, sizeof(buf) - 1, err);
  fclose(err);
  EXPECT_THAT(buf, HasSubstr("datarun keygen --department=big_data_bureau"));
}

TEST_F(AuditTrailTest, OneChainAcrossRestartsAndTamperingDetected) {
  Process kafka;
  auto bootstrap = StartKafka(&kafka, Topics(), kPartitions);
  ASSERT_TRUE(bootstrap.ok()) << bootstrap.status();
  broker::KafkaConfig config;
  config.bootstrap = *bootstrap;
  auto bus = broker::NewKafkaBroker(config);
  ASSERT_TRUE(bus.ok()) << bus.status();

  std::set<std::string> asked;
  for (int run = 0; run < 2; ++run) {
    Process daemon;
    ASSERT_TRUE(daemon
                    .Start(DaemonArgs(*bootstrap, run),
                           TestPath(absl::StrCat("datarund", run)))
                    .ok());
    for (const auto& id : Ask(bus->get(), run * 100, 5)) asked.insert(id);
    auto code = daemon.Terminate(absl::Seconds(60));
    ASSERT_TRUE(code.ok()) << code.status();
    ASSERT_EQ(*code, 0) << Tail(
        TestPath(absl::StrCat("datarund", run, ".err")));
  }
  ASSERT_EQ(asked.size(), 10u);

  // Every answered request is on the chains, which form one unbroken chain
  // per partition across both runs.
  auto links = query::ReadAuditTopics(bus->get(), {query::kAuditTopic});
  ASSERT_TRUE(links.ok()) << links.status();
  std::set<std::string> audited;
  for (const auto& [tp, chain] : *links) {
    for (const auto& link : chain) {
      datarun::v1::AuditEvent e;
      ASSERT_TRUE(e.ParseFromString(link.event_bytes()));
      audited.insert(e.request_id());
    }
  }
  for (const auto& id : asked) EXPECT_EQ(audited.count(id), 1u) << id;

  const std::string brokers = absl::StrCat("--brokers=", *bootstrap);
  const std::string catalog = absl::StrCat("--catalog=", catalog_path_);
  CmdResult ok = Shell("tools/datarun", {"audit", "verify", brokers, catalog});
  EXPECT_EQ(ok.exit_code, 0) << ok.out << ok.err;
  EXPECT_THAT(ok.out, HasSubstr("audit chain intact"));
  // The longer chain (10 links over 2 partitions: at least 5) is checked
  // alone and tampered with below.
  uint64_t total = 0;
  int32_t target_p = -1;
  size_t target_links = 0;
  for (const auto& [tp, chain] : *links) {
    total += chain.size();
    EXPECT_THAT(ok.out,
                HasSubstr(absl::StrCat("partition ", tp.partition, ": intact, ",
                                       chain.size(), " links, sequence 0..",
                                       chain.size() - 1)));
    if (chain.size() > target_links) {
      target_p = tp.partition;
      target_links = chain.size();
    }
  }
  EXPECT_THAT(ok.out, HasSubstr(absl::StrCat(" ", total, " links, ")));
  CmdResult one =
      Shell("tools/datarun", {"audit", "verify", brokers, catalog, "--json",
                              absl::StrCat("--partition=", target_p)});
  EXPECT_EQ(one.exit_code, 0) << one.out << one.err;
  EXPECT_THAT(one.out, HasSubstr("{\"intact\":true,"));
  EXPECT_THAT(one.out, HasSubstr(absl::StrCat("\"links\":", target_links)));
  EXPECT_THAT(one.out,
              HasSubstr(absl::StrCat("\"last_sequence\":", target_links - 1)));
  EXPECT_THAT(one.out, ::testing::Not(HasSubstr("\"checkpoints_verified\":0,")))
      << one.out;

  // An insider's copies of the topic: one event altered in place, one link
  // left out.
  auto producer = (*bus)->NewProducer({});
  ASSERT_TRUE(producer.ok());
  ASSERT_GE(target_links, 3u);
  for (const auto& [tp, chain] : *links) {
    for (size_t i = 0; i < chain.size(); ++i) {
      datarun::v1::ChainLink link = chain[i];
      const bool target = tp.partition == target_p && i == 1;
      std::string altered_value = link.SerializeAsString();
      if (target) {
        datarun::v1::AuditEvent e;
        ASSERT_TRUE(e.ParseFromString(link.event_bytes()));
        e.set_officer_id("nobody");
        datarun::v1::ChainLink changed = link;
        changed.set_event_bytes(e.SerializeAsString());
        altered_value = changed.SerializeAsString();
      }
      const std::string value = link.SerializeAsString();
      broker::OutgoingMessage m;
      m.partition = tp.partition;
      m.topic = kAltered;
      m.value = altered_value;
      ASSERT_TRUE((*producer)->Send(m, nullptr).ok());
      if (!target) {
        m.topic = kRemoved;
        m.value = value;
        ASSERT_TRUE((*producer)->Send(m, nullptr).ok());
      }
    }
  }
  ASSERT_TRUE((*producer)->Flush(absl::Seconds(10)).ok());
  CmdResult altered =
      Shell("tools/datarun", {"audit", "verify", brokers, catalog,
                              absl::StrCat("--audit_topic=", kAltered)});
  EXPECT_EQ(altered.exit_code, 1) << altered.out << altered.err;
  EXPECT_THAT(altered.out,
              HasSubstr(absl::StrCat("partition ", target_p,
                                     ": BROKEN at sequence 1, offset 1")));
  EXPECT_THAT(altered.out, HasSubstr("event altered"));
  CmdResult removed = Shell(
      "tools/datarun", {"audit", "verify", brokers, catalog,
                        absl::StrCat("--audit_topic=", kRemoved), "--json"});
  EXPECT_EQ(removed.exit_code, 1) << removed.out << removed.err;
  EXPECT_THAT(removed.out, HasSubstr("\"intact\":false"));
  EXPECT_THAT(removed.out,
              HasSubstr("\"broken\":{\"sequence\":2,\"offset\":1,"));
  EXPECT_THAT(removed.out, HasSubstr("links removed before it"));

  // Usage errors.
  EXPECT_EQ(Shell("tools/datarun", {"audit", "verify", catalog}).exit_code, 2);
  EXPECT_EQ(Shell("tools/datarun",
                  {"audit", "verify", brokers, catalog, "--partition=9"})
                .exit_code,
            2);
  kafka.Kill();
}

}  // namespace
}  // namespace datarun::integration
