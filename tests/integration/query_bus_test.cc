// Queries over the bus, end to end on the embedded Kafka cluster with the
// library pieces of datarund in process (BusExchange): records of 8
// villagers published through the Kafka adapter and ingested into RocksDB;
// a village proxy agent asks for resident pension registration for all 8
// through QueryClient; the answers are checked; the 8 audit events are read
// back from dr.audit, verified as sealed per-partition hash chains, and an
// altered or removed event (in a copy of the topic) is detected. Denied,
// unsigned and wrongly signed requests get a response naming the rule and
// are audited.
#include <cstdlib>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "exchange/audit/chain.h"
#include "exchange/audit/usage.h"
#include "exchange/policy/rules.h"
#include "exchange/policy/testing/fixture.h"
#include "exchange/query/client/query_client.h"
#include "exchange/query/kafka_audit_sink.h"
#include "exchange/query/testing/bus_exchange.h"
#include "exchange/query/topics.h"
#include "exchange/seal/request_batch.h"
#include "exchange/seal/signed_bytes.h"
#include "gtest/gtest.h"
#include "proto/datarun/v1/departments/human_resources_social_security.pb.h"
#include "proto/datarun/v1/departments/public_security.pb.h"

namespace datarun::query {
namespace {

using datarun::v1::ChainLink;
using datarun::v1::QueryRequest;
using datarun::v1::QueryResponse;
using datarun::v1::Record;
using policy::testing::CitizenId;
using policy::testing::MakeRecord;
namespace dep = datarun::v1::departments;

constexpr char kMatter[] = "urban_rural_pension_registration";
constexpr char kHrss[] = "human_resources_social_security";
constexpr char kExchange[] = "big_data_bureau";
constexpr int kCitizens = 8;
constexpr absl::Duration kTimeout = absl::Seconds(20);

// Claims the identity of one key and signs with another: a forged request.
class WrongKeySigner : public seal::Signer {
 public:
  WrongKeySigner(const seal::Signer& claimed, const seal::Signer& real)
      : claimed_(claimed), real_(real) {}
  absl::StatusOr<std::string> Sign(absl::string_view data) const override {
    return real_.Sign(data);
  }
  const seal::KeyIdentity& identity() const override {
    return claimed_.identity();
  }

 private:
  const seal::Signer& claimed_;
  const seal::Signer& real_;
};

class QueryBusTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto f = policy::testing::Fixture::Create(policy::testing::kShippedMatters,
                                              {kHrss, kExchange});
    ASSERT_TRUE(f.ok()) << f.status();
    fixture_ = f->release();
    testing::BusExchangeOptions o;
    o.state_dir = absl::StrCat(getenv("TEST_TMPDIR"), "/query-bus");
    o.partitions = 4;
    auto x =
        testing::BusExchange::Start(fixture_->catalog(), fixture_->policy(),
                                    &fixture_->signer(kExchange), o);
    ASSERT_TRUE(x.ok()) << x.status();
    exchange_ = x->release();
    QueryClientOptions co;
    co.department = kHrss;
    co.signer = &fixture_->signer(kHrss);
    auto c = QueryClient::Create(exchange_->broker(), co);
    ASSERT_TRUE(c.ok()) << c.status();
    client_ = c->release();
  }
  static void TearDownTestSuite() {
    delete client_;
    delete exchange_;
    delete fixture_;
  }

  std::unique_ptr<QueryClient> Client(const seal::Signer* signer) {
    QueryClientOptions o;
    o.department = kHrss;
    o.signer = signer;
    auto c = QueryClient::Create(exchange_->broker(), o);
    EXPECT_TRUE(c.ok()) << c.status();
    return c.ok() ? *std::move(c) : nullptr;
  }

  // Every link of dr.audit, by partition, read back from the bus.
  std::map<int32_t, std::vector<ChainLink>> AuditLinks() {
    std::map<int32_t, std::vector<ChainLink>> out;
    auto all = ReadAuditTopics(exchange_->broker(), {kAuditTopic});
    EXPECT_TRUE(all.ok()) << all.status();
    if (!all.ok()) return out;
    for (auto& [tp, links] : *all) out[tp.partition] = std::move(links);
    return out;
  }

  static std::vector<datarun::v1::SealedCheckpoint> Of(
      int32_t p, const std::vector<datarun::v1::SealedCheckpoint>& all) {
    std::vector<datarun::v1::SealedCheckpoint> out;
    for (const auto& c : all)
      if (c.partition() == p) out.push_back(c);
    return out;
  }

  static policy::testing::Fixture* fixture_;
  static testing::BusExchange* exchange_;
  static QueryClient* client_;  // human_resources_social_security, signing
};

QueryClient* QueryBusTest::client_ = nullptr;
policy::testing::Fixture* QueryBusTest::fixture_ = nullptr;
testing::BusExchange* QueryBusTest::exchange_ = nullptr;

TEST_F(QueryBusTest, ProxyAgentRegistersEightVillagersOverTheBus) {
  const auto& cat = fixture_->catalog();
  const absl::Time now = absl::Now();
  const std::string agent = CitizenId(900);
  std::vector<std::string> villagers;
  std::vector<Record> records;
  for (int i = 0; i < kCitizens; ++i) {
    const std::string id = CitizenId(100 + i);
    villagers.push_back(id);
    dep::HouseholdRegistration h;
    h.set_household_number(absl::StrCat("330127-", 4000 + i / 2));
    h.mutable_address()->set_detail(absl::StrCat("某村 ", i + 1, " 号"));
    h.set_name(absl::StrCat("村民", i + 1));
    h.mutable_birth_date()->set_year(1960 + i);
    h.set_police_station("千岛湖派出所");
    h.set_active(true);
    records.push_back(MakeRecord(cat, id, "household_registration", "", 1, h));
    if (i % 3 == 0) {
      dep::SocialInsuranceContribution s;
      s.set_scheme(dep::INSURANCE_SCHEME_EMPLOYEE_PENSION);
      s.set_months_contributed(37);
      s.set_employer_name("某公司");
      records.push_back(
          MakeRecord(cat, id, "social_insurance_contribution", "emp-1", 2, s));
    }
    records.push_back(policy::testing::DelegationRecord(
        cat, id, absl::StrCat("dlg-", i), agent, kMatter,
        now - absl::Hours(24 * 30), now + absl::Hours(24 * 335)));
  }
  const std::string stranger = CitizenId(120);
  {
    dep::HouseholdRegistration h;
    h.set_name("未授权村民");
    records.push_back(
        MakeRecord(cat, stranger, "household_registration", "", 1, h));
  }
  ASSERT_TRUE(exchange_->Publish(records).ok());
  // The villagers live on several partitions: one chain each.
  std::map<int32_t, int> per_partition;
  for (const auto& v : villagers) ++per_partition[exchange_->PartitionOf(v)];
  ASSERT_GT(per_partition.size(), 1u);

  QueryClient* client = client_;
  // All 8 in flight at once, one request per villager (each keyed by its
  // subject, so each goes to the partition holding the villager's records).
  std::vector<std::string> ids;
  for (int i = 0; i < kCitizens; ++i) {
    QueryRequest q = fixture_->Request(
        kHrss, kMatter, datarun::v1::QUERY_KIND_PROFILE, {villagers[i]}, now);
    q.clear_request_id();
    q.mutable_on_behalf_of()->set_kind(datarun::v1::SUBJECT_KIND_CITIZEN);
    q.mutable_on_behalf_of()->set_id(agent);
    q.set_officer_id("hrss-window-07");
    auto id = client->Send(q);
    ASSERT_TRUE(id.ok()) << id.status();
    ids.push_back(*id);
  }
  std::set<std::string> event_ids;
  for (int i = 0; i < kCitizens; ++i) {
    auto resp = client->Await(ids[i], kTimeout);
    ASSERT_TRUE(resp.ok()) << resp.status();
    ASSERT_EQ(resp->decision(), datarun::v1::DECISION_ALLOW)
        << i << ": " << resp->denial_rule() << " " << resp->denial_reason();
    EXPECT_EQ(resp->request_id(), ids[i]);
    event_ids.insert(resp->audit_event_id());
    const int expected_records = 1 + (i % 3 == 0 ? 1 : 0);
    ASSERT_EQ(resp->records_size(), expected_records) << i;
    dep::HouseholdRegistration h;
    ASSERT_TRUE(resp->records(0).payload().UnpackTo(&h));
    EXPECT_EQ(h.name(), absl::StrCat("村民", i + 1));
    EXPECT_EQ(h.birth_date().year(), 1960 + i);
    EXPECT_EQ(h.address().detail(), absl::StrCat("某村 ", i + 1, " 号"));
    EXPECT_TRUE(h.household_number().empty());  // masked: not covered
    EXPECT_TRUE(h.police_station().empty());
    EXPECT_EQ(resp->records(0).provenance().source_department(),
              "public_security");
    EXPECT_EQ(resp->records(0).subject().id(), villagers[i]);
    if (expected_records == 2) {
      dep::SocialInsuranceContribution s;
      ASSERT_TRUE(resp->records(1).payload().UnpackTo(&s));
      EXPECT_EQ(s.months_contributed(), 37);
      EXPECT_TRUE(s.employer_name().empty());
    }
  }
  EXPECT_EQ(event_ids.size(), static_cast<size_t>(kCitizens));

  // The stranger signed no delegation: denied, the rule named, audited.
  QueryRequest q = fixture_->Request(
      kHrss, kMatter, datarun::v1::QUERY_KIND_PROFILE, {stranger}, now);
  q.clear_request_id();
  q.mutable_on_behalf_of()->set_id(agent);
  auto denied = client->Query(q, kTimeout);
  ASSERT_TRUE(denied.ok()) << denied.status();
  EXPECT_EQ(denied->decision(), datarun::v1::DECISION_DENY);
  EXPECT_EQ(denied->denial_rule(), policy::kRuleDelegationMissing);
  EXPECT_EQ(denied->records_size(), 0);

  ++per_partition[exchange_->PartitionOf(stranger)];
  // Seal every partition's head, then read dr.audit back from the bus.
  std::vector<datarun::v1::SealedCheckpoint> checkpoints;
  for (const auto& [p, n] : per_partition) {
    auto cp = exchange_->audit_log().Checkpoint(p);
    ASSERT_TRUE(cp.ok()) << cp.status();
    checkpoints.push_back(*cp);
  }
  auto links = AuditLinks();
  size_t events = 0;
  for (const auto& [p, chain] : links) {
    ASSERT_GE(chain.size(), static_cast<size_t>(per_partition[p])) << p;
    auto report =
        audit::VerifyChain(p, chain, Of(p, checkpoints), fixture_->keyring());
    ASSERT_TRUE(report.ok()) << report.status();
    EXPECT_EQ(report->checkpoints, 1u);
    for (const auto& l : chain) {
      datarun::v1::AuditEvent e;
      ASSERT_TRUE(e.ParseFromString(l.event_bytes()));
      EXPECT_EQ(exchange_->PartitionOf(e.subject().id()), p);
      EXPECT_EQ(e.on_behalf_of().id(), agent);
      EXPECT_EQ(e.matter(), kMatter);
      if (e.subject().id() == stranger) {
        EXPECT_EQ(e.decision(), datarun::v1::DECISION_DENY);
        continue;
      }
      EXPECT_EQ(e.officer_id(), "hrss-window-07");
      EXPECT_EQ(e.decision(), datarun::v1::DECISION_ALLOW);
      EXPECT_TRUE(event_ids.count(e.event_id())) << e.event_id();
      ++events;
    }
  }
  EXPECT_EQ(events, static_cast<size_t>(kCitizens));

  // Tampering, on a copy of the chain written to another topic and read
  // back the way an auditor reads dr.audit: the first event altered (the
  // agent rewritten), or the second removed.
  int32_t p = -1;
  for (const auto& [part, chain] : links)
    if (chain.size() >= 2) p = part;
  ASSERT_GE(p, 0);
  const std::vector<ChainLink> chain = links[p];
  ASSERT_TRUE(exchange_->cluster().CreateTopic("dr.audit.altered", 4).ok());
  ASSERT_TRUE(exchange_->cluster().CreateTopic("dr.audit.removed", 4).ok());
  auto producer = exchange_->broker()->NewProducer({});
  ASSERT_TRUE(producer.ok());
  for (size_t i = 0; i < chain.size(); ++i) {
    ChainLink altered = chain[i];
    if (i == 0) {
      datarun::v1::AuditEvent e;
      ASSERT_TRUE(e.ParseFromString(altered.event_bytes()));
      e.mutable_on_behalf_of()->set_id(CitizenId(901));
      altered.set_event_bytes(e.SerializeAsString());
    }
    const std::string a = altered.SerializeAsString();
    const std::string r = chain[i].SerializeAsString();
    ASSERT_TRUE(
        (*producer)
            ->Send({.topic = "dr.audit.altered", .value = a, .partition = p},
                   nullptr)
            .ok());
    if (i != 1) {
      ASSERT_TRUE(
          (*producer)
              ->Send({.topic = "dr.audit.removed", .value = r, .partition = p},
                     nullptr)
              .ok());
    }
  }
  ASSERT_TRUE((*producer)->Flush(absl::Seconds(10)).ok());
  auto copies = ReadAuditTopics(exchange_->broker(),
                                {"dr.audit.altered", "dr.audit.removed"});
  ASSERT_TRUE(copies.ok()) << copies.status();
  const auto& altered = (*copies)[{"dr.audit.altered", p}];
  const auto& removed = (*copies)[{"dr.audit.removed", p}];
  ASSERT_EQ(altered.size(), chain.size());
  auto bad =
      audit::VerifyChain(p, altered, Of(p, checkpoints), fixture_->keyring());
  EXPECT_EQ(bad.status().code(), absl::StatusCode::kDataLoss) << bad.status();
  ASSERT_EQ(removed.size(), chain.size() - 1);
  bad = audit::VerifyChain(p, removed, Of(p, checkpoints), fixture_->keyring());
  EXPECT_EQ(bad.status().code(), absl::StatusCode::kDataLoss) << bad.status();

  // Villager 3 asks who used their data: from dr.audit.
  auto usage = audit::UsageFor(links[exchange_->PartitionOf(villagers[3])],
                               villagers[3]);
  ASSERT_TRUE(usage.ok());
  ASSERT_EQ(usage->size(), 1u);
  EXPECT_EQ((*usage)[0].requester_department(), kHrss);
  EXPECT_EQ((*usage)[0].on_behalf_of().id(), agent);
}

TEST_F(QueryBusTest, UnsignedAndWronglySignedRequestsAreDeniedAndAudited) {
  const absl::Time now = absl::Now();
  const std::string subject = CitizenId(300);
  WrongKeySigner forged(fixture_->signer(kHrss), fixture_->signer(kExchange));
  // Each client joins a group of its own (~3 s on the embedded cluster):
  // in parallel.
  std::unique_ptr<QueryClient> unsigned_client, forged_client;
  std::thread a([&] { unsigned_client = Client(nullptr); });
  forged_client = Client(&forged);
  a.join();
  ASSERT_NE(unsigned_client, nullptr);
  ASSERT_NE(forged_client, nullptr);

  QueryRequest q = fixture_->Request(
      kHrss, kMatter, datarun::v1::QUERY_KIND_PROFILE, {subject}, now);
  q.clear_request_id();
  q.clear_signature();
  q.clear_key_id();
  auto r1 = unsigned_client->Query(q, kTimeout);
  ASSERT_TRUE(r1.ok()) << r1.status();
  EXPECT_EQ(r1->decision(), datarun::v1::DECISION_DENY);
  EXPECT_EQ(r1->denial_rule(), policy::kRuleUnsigned) << r1->denial_reason();
  auto r2 = forged_client->Query(q, kTimeout);
  ASSERT_TRUE(r2.ok()) << r2.status();
  EXPECT_EQ(r2->decision(), datarun::v1::DECISION_DENY);
  EXPECT_EQ(r2->denial_rule(), policy::kRuleBadSignature)
      << r2->denial_reason();
  EXPECT_EQ(r2->records_size(), 0);

  // Both attempts are in the subject's usage log, denied.
  auto links = AuditLinks();
  auto usage = audit::UsageFor(links[exchange_->PartitionOf(subject)], subject);
  ASSERT_TRUE(usage.ok());
  ASSERT_EQ(usage->size(), 2u);
  std::set<std::string> audited;
  for (const auto& u : *usage) {
    EXPECT_EQ(u.decision(), datarun::v1::DECISION_DENY);
    audited.insert(u.audit_event_id());
  }
  EXPECT_TRUE(audited.count(r1->audit_event_id()));
  EXPECT_TRUE(audited.count(r2->audit_event_id()));
}

// Batch signatures (exchange/seal/request_batch.h) over the bus: three
// requests signed as one batch; the intact one is answered, a changed
// request, a wrong inclusion path and a batch signed by another key are
// denied as bad signatures, and all four are audited.
TEST_F(QueryBusTest, BatchSignedRequestsTamperedOnesAreDeniedAndAudited) {
  const absl::Time now = absl::Now();
  const std::string subject = CitizenId(310);
  std::unique_ptr<QueryClient> raw = Client(nullptr);  // sends as given
  ASSERT_NE(raw, nullptr);
  std::vector<QueryRequest> batch;
  std::vector<std::string> bytes;
  for (int i = 0; i < 3; ++i) {
    QueryRequest q = fixture_->Request(
        kHrss, kMatter, datarun::v1::QUERY_KIND_PROFILE, {subject}, now);
    q.set_request_id(absl::StrCat("batch-", i, "-", absl::ToUnixNanos(now)));
    q.set_key_id(fixture_->signer(kHrss).key_id());
    q.clear_signature();
    auto b = seal::SignedBytes(q, seal::kPurposeRequest);
    ASSERT_TRUE(b.ok()) << b.status();
    bytes.push_back(*b);
    batch.push_back(q);
  }
  auto sigs = seal::SignBatch(fixture_->signer(kHrss), bytes);
  ASSERT_TRUE(sigs.ok()) << sigs.status();
  for (int i = 0; i < 3; ++i) batch[i].set_signature((*sigs)[i]);

  // Intact: the signature holds.
  auto ok = raw->Query(batch[0], kTimeout);
  ASSERT_TRUE(ok.ok()) << ok.status();
  EXPECT_NE(ok->denial_rule(), policy::kRuleBadSignature)
      << ok->denial_reason();
  EXPECT_NE(ok->denial_rule(), policy::kRuleUnsigned) << ok->denial_reason();

  // Changed after signing.
  QueryRequest changed = batch[1];
  changed.set_officer_id("someone-else");
  // Inclusion path altered (first sibling hash).
  QueryRequest bad_path = batch[2];
  std::string sig = bad_path.signature();
  sig[17] ^= 1;
  bad_path.set_signature(sig);
  // Another department's key signed the batch root.
  QueryRequest other_key = batch[0];
  other_key.set_request_id(absl::StrCat(batch[0].request_id(), "-other"));
  other_key.clear_signature();
  auto other_bytes = seal::SignedBytes(other_key, seal::kPurposeRequest);
  ASSERT_TRUE(other_bytes.ok());
  auto other_sigs =
      seal::SignBatch(fixture_->signer(kExchange), {*other_bytes});
  ASSERT_TRUE(other_sigs.ok());
  other_key.set_signature((*other_sigs)[0]);

  std::set<std::string> denied_ids;
  for (const QueryRequest* q : {&changed, &bad_path, &other_key}) {
    auto r = raw->Query(*q, kTimeout);
    ASSERT_TRUE(r.ok()) << r.status();
    EXPECT_EQ(r->decision(), datarun::v1::DECISION_DENY) << q->request_id();
    EXPECT_EQ(r->denial_rule(), policy::kRuleBadSignature)
        << r->denial_reason();
    EXPECT_EQ(r->records_size(), 0);
    denied_ids.insert(r->audit_event_id());
  }

  auto links = AuditLinks();
  auto usage = audit::UsageFor(links[exchange_->PartitionOf(subject)], subject);
  ASSERT_TRUE(usage.ok());
  ASSERT_EQ(usage->size(), 4u);
  std::set<std::string> audited;
  for (const auto& u : *usage) audited.insert(u.audit_event_id());
  EXPECT_TRUE(audited.count(ok->audit_event_id()));
  for (const auto& id : denied_ids) EXPECT_TRUE(audited.count(id)) << id;
}

TEST_F(QueryBusTest, ClientRejectsUnknownIdsAndRequestsWithoutSubject) {
  QueryClient* client = client_;
  auto r = client->Await("never-sent", absl::Milliseconds(10));
  EXPECT_EQ(r.status().code(), absl::StatusCode::kNotFound);
  QueryRequest q;
  EXPECT_EQ(client->Send(q).status().code(),
            absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace datarun::query
