// Audit chain hand-over between datarund instances (issue #5): queries keep
// flowing while the partitions move — a second instance joins the group
// (a rebalance while both run), then the first is stopped with SIGTERM
// (its partitions move to the second) — and afterwards every chain of
// dr.audit verifies with its sealed checkpoints (the ChainVerifier over the
// topics, as `datarun audit verify` runs it: no fork) and every answered
// request is audited exactly once (two owners answering the same request would
// put it on the chain twice).
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "broker_adapters/kafka/kafka_broker.h"
#include "exchange/audit/chain_verifier.h"
#include "exchange/audit/kafka/audit_bus.h"
#include "exchange/catalog/catalog.h"
#include "exchange/policy/testing/fixture.h"
#include "exchange/query/client/query_client.h"
#include "exchange/query/topics.h"
#include "google/protobuf/text_format.h"
#include "gtest/gtest.h"
#include "tests/integration/harness.h"

namespace datarun::integration {
namespace {

constexpr int kPartitions = 2;
constexpr int kLoadThreads = 6;
constexpr char kHrss[] = "human_resources_social_security";
constexpr char kMatter[] = "urban_rural_pension_registration";

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

// Closed-loop requests from kLoadThreads threads through one client until
// Stop; remembers the answered request ids.
class Load {
 public:
  Load(query::QueryClient* client, policy::testing::Fixture* fixture)
      : client_(client), fixture_(fixture) {}
  ~Load() { Stop(); }

  void Start() {
    for (int t = 0; t < kLoadThreads; ++t) {
      threads_.emplace_back([this, t] {
        for (int n = t * 100000; !stop_.load(); ++n) {
          auto req = fixture_->Request(
              kHrss, kMatter, datarun::v1::QUERY_KIND_PROFILE,
              {policy::testing::CitizenId(n % 100000 + t * 100000)},
              absl::Now());
          auto r = client_->Query(req, absl::Seconds(2));
          if (!r.ok()) continue;  // dropped during a hand-over: retried
          absl::MutexLock l(&mu_);
          answered_.insert(r->request_id());
        }
      });
    }
  }
  void Stop() {
    stop_.store(true);
    for (auto& t : threads_) t.join();
    threads_.clear();
  }
  size_t answered() {
    absl::MutexLock l(&mu_);
    return answered_.size();
  }
  // Waits until `more` requests beyond `from` were answered.
  bool WaitAnswered(size_t from, size_t more, absl::Duration timeout) {
    const absl::Time deadline = absl::Now() + timeout;
    while (answered() < from + more) {
      if (absl::Now() > deadline) return false;
      absl::SleepFor(absl::Milliseconds(20));
    }
    return true;
  }
  std::set<std::string> ids() {
    absl::MutexLock l(&mu_);
    return answered_;
  }

 private:
  query::QueryClient* const client_;
  policy::testing::Fixture* const fixture_;
  std::atomic<bool> stop_{false};
  std::vector<std::thread> threads_;
  absl::Mutex mu_;
  std::set<std::string> answered_ ABSL_GUARDED_BY(mu_);
};

class HandoverTest : public ::testing::Test {
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
    std::ofstream(catalog_path_) << text;
    keys_ = fixture_->keys_dir();
    ASSERT_FALSE(keys_.empty());
    properties_ = TestPath("consumer.properties");
    std::ofstream(properties_)
        << "session.timeout.ms=6000\nheartbeat.interval.ms=250\n";
  }

  int DataTopics() const {
    return fixture_->catalog().catalog().data_classes_size();
  }

  // Every topic datarund uses: the embedded cluster does not create topics
  // for clients (its CreateTopics waits for a controller it does not have).
  std::vector<std::string> Topics() const {
    std::vector<std::string> topics;
    const auto& c = fixture_->catalog().catalog();
    for (const auto& dc : c.data_classes())
      topics.push_back(catalog::DataTopicFor(dc));
    for (const auto& d : c.departments()) {
      topics.push_back(absl::StrCat("dr.dlq.", d.id()));
      topics.push_back(query::ResponseTopic(d.id()));
    }
    for (const char* t : {"dr.dlq.unknown", query::kRequestTopic,
                          query::kAuditTopic, audit::kCheckpointTopic}) {
      topics.push_back(t);
    }
    return topics;
  }

  std::vector<std::string> DaemonArgs(const std::string& bootstrap,
                                      const std::string& name) const {
    return {RunfilePath(kDatarund),
            absl::StrCat("--brokers=", bootstrap),
            absl::StrCat("--state_dir=", TestPath(name + "_state")),
            absl::StrCat("--status_file=", TestPath(name + "_status")),
            absl::StrCat("--catalog=", catalog_path_),
            absl::StrCat("--keys=", keys_),
            absl::StrCat("--partitions=", kPartitions),
            absl::StrCat("--kafka_properties=", properties_),
            "--checkpoint_every=7",
            "--query_workers=8",
            "--group_id=handover",
            "--block_cache_mb=16",
            "--write_buffer_mb=8"};
  }

  // Waits until the status files show `a` + `b` partitions held (by
  // whichever of the two instances).
  void WaitAssigned(const std::string& name, int assigned) {
    const absl::Time deadline = absl::Now() + absl::Seconds(30);
    while (true) {
      auto s = ReadStatus(TestPath(name + "_status"));
      if (static_cast<int>(s["assigned"]) == assigned) return;
      ASSERT_LT(absl::Now(), deadline)
          << name << " holds " << s["assigned"] << " partitions, expected "
          << assigned << "\n"
          << Tail(TestPath(name + ".err"));
      absl::SleepFor(absl::Milliseconds(20));
    }
  }

  std::unique_ptr<policy::testing::Fixture> fixture_;
  std::string catalog_path_;
  std::string keys_;
  std::string properties_;
};

TEST_F(HandoverTest, PartitionsMoveUnderLoadWithoutForkingAChain) {
  Process kafka;
  auto bootstrap = StartKafka(&kafka, Topics(), kPartitions);
  ASSERT_TRUE(bootstrap.ok()) << bootstrap.status();
  broker::KafkaConfig config;
  config.bootstrap = *bootstrap;
  auto bus = broker::NewKafkaBroker(config);
  ASSERT_TRUE(bus.ok()) << bus.status();
  const int all = DataTopics() * kPartitions;

  Process a;
  ASSERT_TRUE(a.Start(DaemonArgs(*bootstrap, "a"), TestPath("a")).ok());
  query::QueryClientOptions o;
  o.department = kHrss;
  o.signer = &fixture_->signer(kHrss);
  auto client = query::QueryClient::Create(bus->get(), o);
  ASSERT_TRUE(client.ok()) << client.status();
  WaitAssigned("a", all);
  Load load(client->get(), fixture_.get());
  load.Start();
  ASSERT_TRUE(load.WaitAnswered(0, 20, absl::Seconds(30)))
      << "a answered " << load.answered() << "\n"
      << Tail(TestPath("a.err"));

  // A rebalance while both run: a gives up partitions to b under load.
  Process b;
  ASSERT_TRUE(b.Start(DaemonArgs(*bootstrap, "b"), TestPath("b")).ok());
  const absl::Time deadline = absl::Now() + absl::Seconds(30);
  while (true) {
    auto sa = ReadStatus(TestPath("a_status"));
    auto sb = ReadStatus(TestPath("b_status"));
    if (sa["assigned"] > 0 && sb["assigned"] > 0 &&
        static_cast<int>(sa["assigned"] + sb["assigned"]) == all) {
      break;
    }
    ASSERT_LT(absl::Now(), deadline)
        << "a holds " << sa["assigned"] << ", b " << sb["assigned"] << "\n"
        << Tail(TestPath("b.err"));
    absl::SleepFor(absl::Milliseconds(20));
  }
  ASSERT_TRUE(load.WaitAnswered(load.answered(), 30, absl::Seconds(30)));

  // A clean stop of a under load: its partitions move to b.
  auto code = a.Terminate(absl::Seconds(30));
  ASSERT_TRUE(code.ok()) << code.status();
  EXPECT_EQ(*code, 0) << Tail(TestPath("a.err"));
  WaitAssigned("b", all);
  ASSERT_TRUE(load.WaitAnswered(load.answered(), 30, absl::Seconds(30)))
      << Tail(TestPath("b.err"));
  load.Stop();
  code = b.Terminate(absl::Seconds(30));
  ASSERT_TRUE(code.ok()) << code.status();
  EXPECT_EQ(*code, 0) << Tail(TestPath("b.err"));

  // The auditor's view, as `datarun audit verify` runs it: every chain with
  // its sealed checkpoints through the ChainVerifier (no fork, checkpoints
  // of both instances verified); and every answered request's link on the
  // chains exactly once.
  const std::set<std::string> answered = load.ids();
  auto reader = audit::AuditTopicsReader::Create(
      bus->get(), {audit::kCheckpointTopic, query::kAuditTopic});
  ASSERT_TRUE(reader.ok()) << reader.status();
  std::map<std::string, int> audited;
  uint64_t links = 0, checkpoints = 0;
  for (int32_t p = 0; p < kPartitions; ++p) {
    audit::ChainVerifier verifier(p, fixture_->keyring());
    audit::ReadAuditOptions ro;
    ro.partition = p;
    absl::Status st = (*reader)->Read(
        audit::kCheckpointTopic, ro, [&](const audit::AuditRecord& r) {
          datarun::v1::SealedCheckpoint cp;
          if (!cp.ParseFromString(*r.value)) {
            return absl::DataLossError("not a checkpoint");
          }
          return verifier.AddCheckpoint(cp, r.offset);
        });
    ASSERT_TRUE(st.ok()) << st;
    st = (*reader)->Read(query::kAuditTopic, ro,
                         [&](const audit::AuditRecord& r) {
                           datarun::v1::ChainLink link;
                           datarun::v1::AuditEvent e;
                           if (link.ParseFromString(*r.value) &&
                               e.ParseFromString(link.event_bytes())) {
                             ++audited[e.request_id()];
                           }
                           return verifier.AddLinkBytes(*r.value, r.offset);
                         });
    EXPECT_TRUE(st.ok()) << "partition " << p << ": " << st;
    st = verifier.Finish();
    EXPECT_TRUE(st.ok()) << "partition " << p << ": " << st;
    EXPECT_GT(verifier.report().links, 0u) << "partition " << p;
    EXPECT_GT(verifier.report().checkpoints_verified, 0u) << "partition " << p;
    links += verifier.report().links;
    checkpoints += verifier.report().checkpoints_verified;
  }
  int missing = 0, duplicated = 0;
  for (const auto& id : answered) {
    auto it = audited.find(id);
    if (it == audited.end()) {
      ++missing;
    } else if (it->second > 1) {
      ++duplicated;
    }
  }
  EXPECT_EQ(missing, 0) << "of " << answered.size() << " answered requests";
  EXPECT_EQ(duplicated, 0) << "of " << answered.size()
                           << " answered requests were audited by two owners";
  std::printf("%zu answered, %llu links, %llu checkpoints verified\n",
              answered.size(), static_cast<unsigned long long>(links),
              static_cast<unsigned long long>(checkpoints));
  kafka.Kill();
}

}  // namespace
}  // namespace datarun::integration
