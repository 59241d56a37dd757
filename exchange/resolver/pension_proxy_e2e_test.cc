// In-process end to end on the shipped catalog: records for 8 citizens in
// RocksDB, a village proxy agent (代办员) asks for urban-rural resident
// pension registration (城乡居民养老保险参保登记) for all 8 with their
// delegations, the answers are checked, and the 8 audit events form one
// sealed hash chain whose tampering is detected. The bus part (dr.query.req,
// dr.audit on the embedded cluster) comes with the transport.
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/civil_time.h"
#include "exchange/audit/audit_log.h"
#include "exchange/audit/audit_sink.h"
#include "exchange/audit/chain.h"
#include "exchange/audit/usage.h"
#include "exchange/policy/rules.h"
#include "exchange/policy/testing/fixture.h"
#include "exchange/resolver/resolver.h"
#include "exchange/state/rocksdb/rocksdb_state_store.h"
#include "gtest/gtest.h"
#include "proto/datarun/v1/departments/civil_affairs.pb.h"
#include "proto/datarun/v1/departments/human_resources_social_security.pb.h"
#include "proto/datarun/v1/departments/public_security.pb.h"

namespace datarun::resolver {
namespace {

using datarun::v1::QueryRequest;
using datarun::v1::QueryResponse;
using datarun::v1::Record;
using policy::testing::CitizenId;
using policy::testing::MakeRecord;
namespace dep = datarun::v1::departments;

constexpr char kMatter[] = "urban_rural_pension_registration";
constexpr char kHrss[] = "human_resources_social_security";
constexpr int kCitizens = 8;
const absl::Time kNow = absl::FromCivil(absl::CivilSecond(2026, 3, 2, 9, 30, 0),
                                        absl::UTCTimeZone());

TEST(PensionProxyEndToEnd, AgentRegistersEightVillagers) {
  auto fixture_or = policy::testing::Fixture::Create(
      policy::testing::kShippedMatters, {kHrss, "big_data_bureau"});
  ASSERT_TRUE(fixture_or.ok()) << fixture_or.status();
  auto& fixture = **fixture_or;
  const auto& cat = fixture.catalog();

  state::RocksDbStateOptions o;
  o.dir = absl::StrCat(getenv("TEST_TMPDIR"), "/pension-e2e");
  o.block_cache_bytes = 8 << 20;
  o.write_buffer_bytes = 4 << 20;
  auto store = state::RocksDbStateStore::Open(o);
  ASSERT_TRUE(store.ok()) << store.status();

  // One partition: the single-node default, so the 8 events form one chain.
  auto partition = [](absl::string_view) { return 0; };
  const std::string agent = CitizenId(900);
  std::vector<std::string> villagers;
  state::IngestBatch batch;
  batch.cluster_id = "e2e";
  auto add = [&batch](Record r) {
    state::RecordWrite w;
    w.record = std::move(r);
    batch.records.push_back(std::move(w));
  };
  for (int i = 0; i < kCitizens; ++i) {
    const std::string id = CitizenId(100 + i);
    villagers.push_back(id);
    dep::HouseholdRegistration h;
    h.set_household_number(absl::StrCat("330127-", 4000 + i / 2));
    h.mutable_address()->set_region_code("330127");
    h.mutable_address()->set_city("杭州市");
    h.mutable_address()->set_district("淳安县");
    h.mutable_address()->set_detail(absl::StrCat("某村 ", i + 1, " 号"));
    h.set_name(absl::StrCat("村民", i + 1));
    h.set_gender(i % 2 ? dep::GENDER_FEMALE : dep::GENDER_MALE);
    h.mutable_birth_date()->set_year(1960 + i);
    h.set_hukou_type(dep::HUKOU_TYPE_AGRICULTURAL);
    h.set_police_station("千岛湖派出所");
    h.set_active(true);
    add(MakeRecord(cat, id, "household_registration", "", 1, h));
    if (i % 3 == 0) {  // already paying into the employee scheme elsewhere
      dep::SocialInsuranceContribution s;
      s.set_scheme(dep::INSURANCE_SCHEME_EMPLOYEE_PENSION);
      s.set_status(dep::CONTRIBUTION_STATUS_SUSPENDED);
      s.set_months_contributed(37);
      s.set_employer_name("某公司");
      s.set_contribution_base_fen(450000);
      add(MakeRecord(cat, id, "social_insurance_contribution", "emp-1", 2, s));
    }
    if (i == 2 || i == 5) {  // low-income households: contributions subsidised
      dep::LowIncomeAssistance li;
      li.set_active(true);
      li.set_case_number(absl::StrCat("DB-", i));
      add(MakeRecord(cat, id, "low_income_assistance", "", 1, li));
    }
    add(policy::testing::DelegationRecord(
        cat, id, absl::StrCat("dlg-", i), agent, kMatter,
        kNow - absl::Hours(24 * 30), kNow + absl::Hours(24 * 335)));
  }
  // A ninth villager who never signed a delegation.
  const std::string stranger = CitizenId(120);
  {
    dep::HouseholdRegistration h;
    h.set_name("未授权村民");
    add(MakeRecord(cat, stranger, "household_registration", "", 1, h));
  }
  ASSERT_TRUE((*store)->ApplyBatch(batch).ok());

  audit::MemoryAuditSink sink;
  audit::AuditLogOptions ao;
  ao.checkpoint_every = kCitizens;
  audit::AuditLog audit_log(&sink, &fixture.signer("big_data_bureau"),
                            store->get(), ao);
  ResolverOptions ro;
  ro.clock = [] { return kNow; };
  Resolver resolver(fixture.policy(), **store, audit_log, partition, ro);

  // The agent at the village service point, one request per villager.
  for (int i = 0; i < kCitizens; ++i) {
    QueryRequest q = fixture.Request(
        kHrss, kMatter, datarun::v1::QUERY_KIND_PROFILE, {villagers[i]}, kNow);
    q.mutable_on_behalf_of()->set_kind(datarun::v1::SUBJECT_KIND_CITIZEN);
    q.mutable_on_behalf_of()->set_id(agent);
    q.set_officer_id("hrss-window-07");
    fixture.Sign(&q);
    auto resp = resolver.Handle(q);
    ASSERT_TRUE(resp.ok()) << resp.status();
    ASSERT_EQ(resp->decision(), datarun::v1::DECISION_ALLOW)
        << i << ": " << resp->denial_rule() << " " << resp->denial_reason();
    EXPECT_EQ(resp->request_id(), q.request_id());
    EXPECT_EQ(resp->audit_event_id(), absl::StrCat("0-", i));
    const int expected_records = 1 + (i % 3 == 0 ? 1 : 0);
    ASSERT_EQ(resp->records_size(), expected_records) << i;
    dep::HouseholdRegistration h;
    ASSERT_TRUE(resp->records(0).payload().UnpackTo(&h));
    EXPECT_EQ(h.name(), absl::StrCat("村民", i + 1));
    EXPECT_EQ(h.birth_date().year(), 1960 + i);
    EXPECT_EQ(h.hukou_type(), dep::HUKOU_TYPE_AGRICULTURAL);
    EXPECT_EQ(h.address().detail(), absl::StrCat("某村 ", i + 1, " 号"));
    EXPECT_TRUE(h.household_number().empty());  // not covered
    EXPECT_TRUE(h.police_station().empty());
    EXPECT_EQ(resp->records(0).provenance().source_department(),
              "public_security");
    if (expected_records == 2) {
      dep::SocialInsuranceContribution s;
      ASSERT_TRUE(resp->records(1).payload().UnpackTo(&s));
      EXPECT_EQ(s.months_contributed(), 37);
      EXPECT_TRUE(s.employer_name().empty());
      EXPECT_EQ(s.contribution_base_fen(), 0);
    }
    for (const auto& r : resp->records()) {
      EXPECT_NE(r.data_class(), "low_income_assistance");  // verify-only
      EXPECT_NE(r.data_class(), "delegation");
    }
  }

  // 8 events, one chain, sealed after the 8th.
  auto links = sink.links();
  ASSERT_EQ(links.size(), static_cast<size_t>(kCitizens));
  auto checkpoints = audit_log.checkpoints();
  ASSERT_EQ(checkpoints.size(), 1u);
  EXPECT_EQ(checkpoints[0].sequence(), kCitizens - 1u);
  auto head = (*store)->GetChainHead(0);
  ASSERT_TRUE(head.ok() && head->has_value());
  auto report = audit::VerifyChain(0, links, checkpoints, fixture.keyring());
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_EQ(report->links, 8u);
  for (int i = 0; i < kCitizens; ++i) {
    datarun::v1::AuditEvent e;
    ASSERT_TRUE(e.ParseFromString(links[i].event_bytes()));
    EXPECT_EQ(e.subject().id(), villagers[i]);
    EXPECT_EQ(e.on_behalf_of().id(), agent);
    EXPECT_EQ(e.matter(), kMatter);
    EXPECT_EQ(e.decision(), datarun::v1::DECISION_ALLOW);
    EXPECT_EQ(e.rule(), "ag_urban_rural_pension_registration");
  }

  // An altered event (the agent's id rewritten) is detected...
  auto altered = links;
  {
    datarun::v1::AuditEvent e;
    ASSERT_TRUE(e.ParseFromString(altered[3].event_bytes()));
    e.mutable_on_behalf_of()->set_id(CitizenId(901));
    altered[3].set_event_bytes(e.SerializeAsString());
  }
  EXPECT_EQ(audit::VerifyChain(0, altered, checkpoints, fixture.keyring())
                .status()
                .code(),
            absl::StatusCode::kDataLoss);
  // ...and so is a removed one, in the middle or at the end.
  auto removed = links;
  removed.erase(removed.begin() + 4);
  EXPECT_FALSE(
      audit::VerifyChain(0, removed, checkpoints, fixture.keyring()).ok());
  removed = links;
  removed.pop_back();
  EXPECT_FALSE(
      audit::VerifyChain(0, removed, checkpoints, fixture.keyring()).ok());

  // Villager 3 asks who used their data.
  auto usage = audit::UsageFor(links, villagers[3]);
  ASSERT_TRUE(usage.ok());
  ASSERT_EQ(usage->size(), 1u);
  EXPECT_EQ((*usage)[0].requester_department(), kHrss);
  EXPECT_EQ((*usage)[0].officer_id(), "hrss-window-07");
  EXPECT_EQ((*usage)[0].on_behalf_of().id(), agent);
  EXPECT_EQ((*usage)[0].matter(), kMatter);

  // The officer checks low-income status without seeing the record.
  for (int i : {2, 3}) {
    QueryRequest v = fixture.Request(
        kHrss, kMatter, datarun::v1::QUERY_KIND_VERIFY, {villagers[i]}, kNow);
    v.set_predicate_id("receives_low_income_assistance");
    fixture.Sign(&v);
    auto resp = resolver.Handle(v);
    ASSERT_TRUE(resp.ok());
    ASSERT_EQ(resp->decision(), datarun::v1::DECISION_ALLOW)
        << resp->denial_reason();
    EXPECT_EQ(resp->verify_result(), i == 2 ? datarun::v1::VERIFY_RESULT_TRUE
                                            : datarun::v1::VERIFY_RESULT_FALSE);
    EXPECT_EQ(resp->records_size(), 0);
  }

  // The stranger: no delegation, denied and audited.
  QueryRequest q = fixture.Request(
      kHrss, kMatter, datarun::v1::QUERY_KIND_PROFILE, {stranger}, kNow);
  q.mutable_on_behalf_of()->set_id(agent);
  fixture.Sign(&q);
  auto resp = resolver.Handle(q);
  ASSERT_TRUE(resp.ok());
  EXPECT_EQ(resp->decision(), datarun::v1::DECISION_DENY);
  EXPECT_EQ(resp->denial_rule(), policy::kRuleDelegationMissing);
  EXPECT_EQ(resp->records_size(), 0);
  EXPECT_TRUE(
      audit::VerifyChain(0, sink.links(), checkpoints, fixture.keyring()).ok());
  EXPECT_EQ(sink.size(), static_cast<size_t>(kCitizens + 3));
}

}  // namespace
}  // namespace datarun::resolver
