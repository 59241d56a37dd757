// QueryServer, QueryClient and KafkaAuditSink on the in-memory broker with
// the real Resolver and policy: responses on the requester's topic keyed by
// request id, requests of partitions owned elsewhere skipped, a partition
// catching up held, malformed requests dropped, no response without the
// audit ack, audit links on their own partition acked on delivery only.
// (The same over the embedded Kafka cluster: tests/integration/query_*.)
#include "exchange/query/query_server.h"

#include <atomic>
#include <memory>
#include <string>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "broker_adapters/fake/fake_broker.h"
#include "exchange/audit/audit_log.h"
#include "exchange/audit/audit_sink.h"
#include "exchange/policy/testing/fixture.h"
#include "exchange/query/client/query_client.h"
#include "exchange/query/kafka_audit_sink.h"
#include "exchange/query/partitioner.h"
#include "exchange/resolver/resolver.h"
#include "exchange/state/fake/fake_state_store.h"
#include "gtest/gtest.h"
#include "prometheus/text_serializer.h"

namespace datarun::query {
namespace {

using policy::testing::CitizenId;

constexpr char kMatter[] = "urban_rural_pension_registration";
constexpr char kHrss[] = "human_resources_social_security";
constexpr int32_t kPartitions = 4;

class QueryServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto f = policy::testing::Fixture::Create(policy::testing::kShippedMatters,
                                              {kHrss});
    ASSERT_TRUE(f.ok()) << f.status();
    fixture_ = *std::move(f);
    for (const char* t : {kRequestTopic, kAuditTopic})
      ASSERT_TRUE(broker_.CreateTopic(t, kPartitions).ok());
    ASSERT_TRUE(broker_.CreateTopic(ResponseTopic(kHrss), 2).ok());
    log_ = std::make_unique<audit::AuditLog>(&sink_, nullptr, nullptr);
    resolver_ = std::make_unique<resolver::Resolver>(
        fixture_->policy(), store_, *log_,
        [](absl::string_view id) { return SubjectPartition(id, kPartitions); });
  }
  void TearDown() override {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
  }

  void StartServer(std::function<Serving(int32_t)> serves,
                   QueryMetrics* metrics = nullptr,
                   QueryTrace* trace = nullptr) {
    QueryServerOptions o;
    o.metrics = metrics;
    o.trace = trace;
    o.serves = std::move(serves);
    o.workers = 4;
    o.catch_up_wait = absl::Seconds(5);
    server_ = std::make_unique<QueryServer>(&broker_, resolver_.get(), o);
    thread_ = std::thread([this] { status_ = server_->Run(&stop_); });
    while (!server_->ready()) absl::SleepFor(absl::Milliseconds(5));
  }

  std::unique_ptr<QueryClient> Client() {
    QueryClientOptions o;
    o.department = kHrss;
    o.signer = &fixture_->signer(kHrss);
    auto c = QueryClient::Create(&broker_, o);
    EXPECT_TRUE(c.ok()) << c.status();
    return c.ok() ? *std::move(c) : nullptr;
  }

  datarun::v1::QueryRequest Request(const std::string& subject) {
    auto q = fixture_->Request(kHrss, kMatter, datarun::v1::QUERY_KIND_PROFILE,
                               {subject}, absl::Now());
    q.clear_request_id();
    return q;
  }

  broker::FakeBroker broker_;
  std::unique_ptr<policy::testing::Fixture> fixture_;
  state::FakeStateStore store_;
  audit::MemoryAuditSink sink_;
  std::unique_ptr<audit::AuditLog> log_;
  std::unique_ptr<resolver::Resolver> resolver_;
  std::unique_ptr<QueryServer> server_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
  absl::Status status_;
};

TEST_F(QueryServerTest, AnswersOnTheRequestersTopicKeyedByRequestId) {
  StartServer(nullptr);
  auto client = Client();
  ASSERT_NE(client, nullptr);
  auto r = client->Query(Request(CitizenId(1)), absl::Seconds(10));
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->decision(), datarun::v1::DECISION_ALLOW) << r->denial_reason();
  EXPECT_FALSE(r->audit_event_id().empty());
  EXPECT_EQ(sink_.size(), 1u);
  // On the bus: the request keyed by subject on its partition, the response
  // keyed by request id.
  const int32_t p = SubjectPartition(CitizenId(1), kPartitions);
  auto reqs = broker_.Messages({kRequestTopic, p});
  ASSERT_EQ(reqs.size(), 1u);
  EXPECT_EQ(reqs[0].key, CitizenId(1));
  size_t responses = 0;
  for (int32_t rp = 0; rp < 2; ++rp) {
    for (const auto& m : broker_.Messages({ResponseTopic(kHrss), rp})) {
      EXPECT_EQ(m.key, r->request_id());
      ++responses;
    }
  }
  EXPECT_EQ(responses, 1u);
}

TEST_F(QueryServerTest, AnsweredRequestsMoveTheQueryMetrics) {
  prometheus::Registry registry;
  std::vector<std::string> matters;
  for (const auto& m : fixture_->policy().catalog().catalog().matters())
    matters.push_back(m.id());
  QueryMetrics metrics(registry, matters, kPartitions);
  StartServer(nullptr, &metrics);
  auto client = Client();
  ASSERT_NE(client, nullptr);
  auto allowed = client->Query(Request(CitizenId(1)), absl::Seconds(10));
  ASSERT_TRUE(allowed.ok()) << allowed.status();
  ASSERT_EQ(allowed->decision(), datarun::v1::DECISION_ALLOW);
  // A matter not in the catalog: denied, and timed under "unknown".
  auto q = fixture_->Request(kHrss, "no_such_matter",
                             datarun::v1::QUERY_KIND_PROFILE, {CitizenId(1)},
                             absl::Now());
  q.clear_request_id();
  auto denied = client->Query(q, absl::Seconds(10));
  ASSERT_TRUE(denied.ok()) << denied.status();
  ASSERT_EQ(denied->denial_rule(), "policy.unknown_matter");
  stop_ = true;  // the metrics are taken after Respond: wait for the workers
  thread_.join();

  const std::string t =
      prometheus::TextSerializer().Serialize(registry.Collect());
  auto has = [&t](const std::string& line) {
    return t.find("\n" + line + "\n") != std::string::npos;
  };
  EXPECT_TRUE(
      has("datarun_query_requests_total{decision=\"allow\","
          "kind=\"profile\"} 1"))
      << t;
  EXPECT_TRUE(
      has("datarun_query_requests_total{decision=\"deny\","
          "kind=\"profile\"} 1"));
  EXPECT_TRUE(
      has("datarun_policy_denials_total{rule=\"policy.unknown_matter\"} 1"));
  EXPECT_TRUE(
      has(absl::StrCat("datarun_query_duration_seconds_count{kind=\""
                       "profile\",matter=\"",
                       kMatter, "\"} 1")));
  EXPECT_TRUE(
      has("datarun_query_duration_seconds_count{kind=\"profile\","
          "matter=\"unknown\"} 1"));
  // Both links on the subject's partition: sequences 0 and 1.
  const int32_t p = SubjectPartition(CitizenId(1), kPartitions);
  EXPECT_TRUE(has(
      absl::StrCat("datarun_audit_chain_sequence{partition=\"", p, "\"} 1")));
}

TEST_F(QueryServerTest, SkipsOtherInstancesPartitionsAndDropsMalformed) {
  const std::string ours = CitizenId(1);
  std::string theirs;
  for (int i = 2; theirs.empty(); ++i) {
    if (SubjectPartition(CitizenId(i), kPartitions) !=
        SubjectPartition(ours, kPartitions))
      theirs = CitizenId(i);
  }
  const int32_t mine = SubjectPartition(ours, kPartitions);
  StartServer([mine](int32_t p) {
    return p == mine ? Serving::kServe : Serving::kNotOwned;
  });
  auto client = Client();
  ASSERT_NE(client, nullptr);
  auto skipped = client->Query(Request(theirs), absl::Milliseconds(500));
  EXPECT_EQ(skipped.status().code(), absl::StatusCode::kDeadlineExceeded);
  EXPECT_EQ(server_->counters().not_served.load(), 1u);
  EXPECT_EQ(sink_.size(), 0u);  // not ours: not audited here either

  auto producer = broker_.NewProducer({});
  ASSERT_TRUE(producer.ok());
  ASSERT_TRUE((*producer)
                  ->Send({.topic = kRequestTopic,
                          .key = ours,
                          .value = "\xff\xff not a request"},
                         nullptr)
                  .ok());
  auto answered = client->Query(Request(ours), absl::Seconds(10));
  ASSERT_TRUE(answered.ok()) << answered.status();
  EXPECT_EQ(server_->counters().malformed.load(), 1u);
}

TEST_F(QueryServerTest, HoldsRequestsWhileIngestCatchesUp) {
  std::atomic<bool> caught_up{false};
  StartServer([&](int32_t) {
    return caught_up.load() ? Serving::kServe : Serving::kCatchingUp;
  });
  auto client = Client();
  ASSERT_NE(client, nullptr);
  auto id = client->Send(Request(CitizenId(1)));
  ASSERT_TRUE(id.ok());
  absl::SleepFor(absl::Milliseconds(200));
  EXPECT_EQ(sink_.size(), 0u);  // held, not answered
  caught_up = true;
  auto r = client->Await(*id, absl::Seconds(10));
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->decision(), datarun::v1::DECISION_ALLOW);
}

TEST_F(QueryServerTest, NoResponseWithoutTheAuditAck) {
  sink_.Fail(absl::UnavailableError("dr.audit down"));
  StartServer(nullptr);
  auto client = Client();
  ASSERT_NE(client, nullptr);
  auto r = client->Query(Request(CitizenId(1)), absl::Milliseconds(500));
  EXPECT_EQ(r.status().code(), absl::StatusCode::kDeadlineExceeded);
  EXPECT_EQ(server_->counters().failed.load(), 1u);
  EXPECT_EQ(server_->counters().answered.load(), 0u);
}

TEST_F(QueryServerTest, TraceMarksEveryStageOfEachRequest) {
  QueryTrace trace;
  auto producer = broker_.NewProducer({});
  ASSERT_TRUE(producer.ok()) << producer.status();
  // The audit link goes through the Kafka sink, which marks the audit
  // stages of the request its worker thread is resolving.
  KafkaAuditSink sink(producer->get(), kAuditTopic, &trace);
  audit::AuditLog log(&sink, nullptr, nullptr);
  resolver_ = std::make_unique<resolver::Resolver>(
      fixture_->policy(), store_, log,
      [](absl::string_view id) { return SubjectPartition(id, kPartitions); });
  StartServer(nullptr, nullptr, &trace);
  QueryClientOptions o;
  o.department = kHrss;
  o.signer = &fixture_->signer(kHrss);
  o.trace = &trace;
  auto client = QueryClient::Create(&broker_, o);
  ASSERT_TRUE(client.ok()) << client.status();
  for (int i = 0; i < 3; ++i) {
    auto r = (*client)->Query(Request(CitizenId(i)), absl::Seconds(10));
    ASSERT_TRUE(r.ok()) << r.status();
    EXPECT_EQ(r->decision(), datarun::v1::DECISION_ALLOW);
  }
  // The server's response delivery report may trail the client's read.
  const absl::Time deadline = absl::Now() + absl::Seconds(10);
  while (server_->counters().delivered.load() < 3 && absl::Now() < deadline)
    absl::SleepFor(absl::Milliseconds(5));
  const QueryTrace::Summary s = trace.Summarize();
  EXPECT_EQ(s.complete, 3u) << trace.Format();
  EXPECT_GT(s.total_p50_us, 0);
  for (const auto& st : s.stages) {
    // Every span but the response's ack (a side branch) is in order.
    if (st.to != TraceStage::kResponseDelivered) {
      EXPECT_GE(st.p50_us, 0)
          << TraceStageName(st.from) << " -> " << TraceStageName(st.to);
    }
  }
  // A link written outside a traced request marks nothing.
  datarun::v1::ChainLink link;
  link.set_partition(1);
  sink.Write(link, [](absl::Status) {});
  EXPECT_EQ(trace.Summarize().complete, 3u);
  stop_ = true;
  thread_.join();  // the log and sink go before TearDown
}

TEST(KafkaAuditSink, AcksOnDeliveryOnTheLinksPartition) {
  broker::FakeBroker broker;
  ASSERT_TRUE(broker.CreateTopic(kAuditTopic, kPartitions).ok());
  auto producer = broker.NewProducer({});
  ASSERT_TRUE(producer.ok());
  KafkaAuditSink sink(producer->get());
  datarun::v1::ChainLink link;
  link.set_partition(2);
  link.set_sequence(0);
  link.set_event_bytes("event");
  absl::Status acked = absl::UnknownError("not called");
  sink.Write(link, [&](absl::Status s) { acked = s; });
  ASSERT_TRUE((*producer)->Flush(absl::Seconds(5)).ok());
  EXPECT_TRUE(acked.ok()) << acked;
  auto stored = broker.Messages({kAuditTopic, 2});
  ASSERT_EQ(stored.size(), 1u);
  datarun::v1::ChainLink back;
  ASSERT_TRUE(back.ParseFromString(stored[0].value));
  EXPECT_EQ(back.event_bytes(), "event");

  broker.FailDeliveries(1, absl::UnavailableError("broker gone"));
  link.set_sequence(1);
  sink.Write(link, [&](absl::Status s) { acked = s; });
  ASSERT_TRUE((*producer)->Flush(absl::Seconds(5)).ok());
  EXPECT_EQ(acked.code(), absl::StatusCode::kUnavailable);
  broker.FailSends(1, absl::ResourceExhaustedError("queue full"));
  sink.Write(link, [&](absl::Status s) { acked = s; });
  EXPECT_EQ(acked.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_NE(std::string(acked.message()).find("audit link 2-1"),
            std::string::npos)
      << acked;

  // Read back: only the delivered link; a foreign value is DataLoss.
  auto links = ReadAuditLinks(&broker, 2, absl::Seconds(5));
  ASSERT_TRUE(links.ok()) << links.status();
  ASSERT_EQ(links->size(), 1u);
  EXPECT_EQ((*links)[0].sequence(), 0u);
  ASSERT_TRUE(
      (*producer)
          ->Send({.topic = kAuditTopic, .value = "junk", .partition = 2},
                 nullptr)
          .ok());
  EXPECT_EQ(ReadAuditLinks(&broker, 2, absl::Seconds(5)).status().code(),
            absl::StatusCode::kDataLoss);
}

}  // namespace
}  // namespace datarun::query
