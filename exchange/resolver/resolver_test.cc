// The resolver on RocksDB state in a temp dir, records written through
// StateStore::ApplyBatch, policy from the test overlay, audit chain checked.
#include "exchange/resolver/resolver.h"

#include <cstdlib>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/civil_time.h"
#include "exchange/audit/audit_log.h"
#include "exchange/audit/audit_sink.h"
#include "exchange/audit/chain.h"
#include "exchange/policy/rules.h"
#include "exchange/policy/testing/fixture.h"
#include "exchange/resolver/document_answer.h"
#include "exchange/state/rocksdb/rocksdb_state_store.h"
#include "gtest/gtest.h"
#include "proto/datarun/v1/departments/civil_affairs.pb.h"
#include "proto/datarun/v1/departments/market_regulation.pb.h"
#include "proto/datarun/v1/departments/natural_resources.pb.h"
#include "proto/datarun/v1/departments/public_security.pb.h"

namespace datarun::resolver {
namespace {

using datarun::v1::AuditEvent;
using datarun::v1::QueryRequest;
using datarun::v1::QueryResponse;
using datarun::v1::Record;
using policy::testing::CitizenId;
using policy::testing::MakeRecord;
namespace dep = datarun::v1::departments;

constexpr char kOverlay[] =
    "exchange/catalog/testdata/policy_matters.textproto";
constexpr int kPartitions = 4;
const absl::Time kNow = absl::FromCivil(absl::CivilSecond(2026, 6, 1, 10, 0, 0),
                                        absl::UTCTimeZone());

int32_t TestPartition(absl::string_view id) {
  uint32_t h = 0;
  for (char c : id) h = h * 31 + static_cast<unsigned char>(c);
  return static_cast<int32_t>(h % kPartitions);
}

class ResolverTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto f = policy::testing::Fixture::Create(
        kOverlay, {"civil_affairs", "taxation", "courts"});
    ASSERT_TRUE(f.ok()) << f.status();
    fixture_ = std::move(*f);
    state::RocksDbStateOptions o;
    o.dir = absl::StrCat(
        getenv("TEST_TMPDIR"), "/state-",
        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    o.sync = false;
    o.block_cache_bytes = 8 << 20;
    o.write_buffer_bytes = 4 << 20;
    auto s = state::RocksDbStateStore::Open(o);
    ASSERT_TRUE(s.ok()) << s.status();
    store_ = std::move(*s);
    audit_ = std::make_unique<audit::AuditLog>(&sink_, nullptr, nullptr);
    ResolverOptions ro;
    ro.clock = [] { return kNow; };
    resolver_ = std::make_unique<Resolver>(fixture_->policy(), *store_, *audit_,
                                           TestPartition, ro);
    // Two citizens on different partitions, kin of each other.
    a_ = CitizenId(1);
    for (int n = 2; b_.empty(); ++n) {
      if (TestPartition(CitizenId(n)) != TestPartition(a_)) b_ = CitizenId(n);
    }
    c_ = CitizenId(7001);  // has a criminal record, a deregistered car
    d_ = CitizenId(7002);  // no records at all
    Load();
  }

  void Apply(std::vector<Record> records) {
    state::IngestBatch batch;
    batch.cluster_id = "test";
    for (auto& r : records) {
      state::RecordWrite w;
      w.partition = TestPartition(r.subject().id());
      w.record = std::move(r);
      batch.records.push_back(std::move(w));
    }
    auto result = store_->ApplyBatch(batch);
    ASSERT_TRUE(result.ok()) << result.status();
  }

  void Load() {
    const auto& cat = fixture_->catalog();
    dep::HouseholdRegistration h;
    h.set_household_number("330106-000123");
    h.mutable_address()->set_region_code("330106");
    h.mutable_address()->set_detail("文三路 1 号");
    h.set_name("张三");
    h.set_relation_to_head(dep::RELATION_TO_HEAD_SELF);
    h.set_police_station("西湖派出所");
    h.mutable_birth_date()->set_year(1980);
    h.set_active(true);
    dep::VehicleRegistration v1, v2;
    v1.set_plate_number("浙A12345");
    v1.set_vin("LSVAA4182E2123456");
    v1.set_status(dep::VEHICLE_STATUS_NORMAL);
    v1.set_engine_number("E1");
    v2.set_plate_number("浙A99999");
    v2.set_vin("LSVAA4182E2999999");
    v2.set_status(dep::VEHICLE_STATUS_DEREGISTERED);
    dep::CriminalRecordStatus clean, convicted;
    clean.set_has_criminal_record(false);
    convicted.set_has_criminal_record(true);
    convicted.set_conviction_count(2);
    dep::Kinship ab, ba;
    ab.mutable_relative()->set_id(b_);
    ab.set_type(dep::KINSHIP_TYPE_PARENT);
    ba.mutable_relative()->set_id(a_);
    ba.set_type(dep::KINSHIP_TYPE_CHILD);
    dep::LowIncomeAssistance li;
    li.set_case_number("DB-2026-001");
    li.set_active(true);
    li.set_monthly_amount_fen(110000);
    li.set_region_code("330106");
    const absl::Time t1 = absl::FromUnixSeconds(1767225600);  // 2026-01-01
    Apply({MakeRecord(cat, a_, "household_registration", "", 3, h, t1),
           MakeRecord(cat, a_, "vehicle_registration", "浙A12345", 1, v1),
           MakeRecord(cat, a_, "vehicle_registration", "浙A99999", 2, v2),
           MakeRecord(cat, a_, "criminal_record_status", "", 1, clean),
           MakeRecord(cat, a_, "kinship", b_, 1, ab),
           MakeRecord(cat, b_, "kinship", a_, 1, ba),
           MakeRecord(cat, a_, "low_income_assistance", "", 5, li),
           MakeRecord(cat, c_, "criminal_record_status", "", 1, convicted),
           MakeRecord(cat, c_, "vehicle_registration", "浙B1", 1, v2)});
    // A deleted car must not show.
    Record del = MakeRecord(cat, a_, "vehicle_registration", "浙A00000", 4, v1);
    del.set_op(Record::OP_DELETE);
    del.clear_payload();
    Record old = MakeRecord(cat, a_, "vehicle_registration", "浙A00000", 3, v1);
    Apply({old});
    Apply({del});
  }

  QueryRequest Request(const std::string& matter, datarun::v1::QueryKind kind,
                       const std::vector<std::string>& subjects,
                       const std::string& dept = "civil_affairs") {
    return fixture_->Request(dept, matter, kind, subjects, kNow);
  }
  QueryRequest VerifyRequest(const std::string& predicate,
                             const std::string& subject) {
    QueryRequest r =
        Request("test_open_matter", datarun::v1::QUERY_KIND_VERIFY, {subject});
    r.set_predicate_id(predicate);
    fixture_->Sign(&r);
    return r;
  }
  QueryResponse Handle(const QueryRequest& r) {
    auto resp = resolver_->Handle(r);
    EXPECT_TRUE(resp.ok()) << resp.status();
    return resp.ok() ? *resp : QueryResponse();
  }
  datarun::v1::AuditEvent LastEvent() {
    auto links = sink_.links();
    datarun::v1::AuditEvent e;
    EXPECT_FALSE(links.empty());
    if (!links.empty()) e.ParseFromString(links.back().event_bytes());
    return e;
  }

  std::unique_ptr<policy::testing::Fixture> fixture_;
  std::unique_ptr<state::RocksDbStateStore> store_;
  audit::MemoryAuditSink sink_;
  std::unique_ptr<audit::AuditLog> audit_;
  std::unique_ptr<Resolver> resolver_;
  std::string a_, b_, c_, d_;
};

TEST_F(ResolverTest,
       ProfileDisclosesOnlyCoveredClassesAndFieldsWithProvenance) {
  QueryResponse r = Handle(
      Request("test_open_matter", datarun::v1::QUERY_KIND_PROFILE, {a_}));
  ASSERT_EQ(r.decision(), datarun::v1::DECISION_ALLOW) << r.denial_reason();
  EXPECT_EQ(r.catalog_version(), fixture_->catalog().version());
  // household_registration + two live vehicles; not the deleted car, not the
  // verification-only criminal record / kinship, not low income (no
  // agreement class), not gating classes.
  ASSERT_EQ(r.records_size(), 3);
  const auto& hr = r.records(0);
  EXPECT_EQ(hr.data_class(), "household_registration");
  dep::HouseholdRegistration h;
  ASSERT_TRUE(hr.payload().UnpackTo(&h));
  EXPECT_EQ(h.name(), "张三");
  EXPECT_EQ(h.address().detail(), "文三路 1 号");
  EXPECT_EQ(h.relation_to_head(), dep::RELATION_TO_HEAD_SELF);
  EXPECT_TRUE(h.household_number().empty());
  EXPECT_TRUE(h.police_station().empty());
  EXPECT_FALSE(h.has_birth_date());
  EXPECT_FALSE(h.active());
  EXPECT_EQ(std::vector<std::string>(hr.disclosed_fields().begin(),
                                     hr.disclosed_fields().end()),
            (std::vector<std::string>{"name", "address", "relation_to_head"}));
  EXPECT_EQ(hr.provenance().source_department(), "public_security");
  EXPECT_EQ(hr.provenance().source_version(), 3u);
  EXPECT_EQ(hr.provenance().update_time().seconds(), 1767225600);
  EXPECT_EQ(hr.subject().id(), a_);

  std::vector<std::string> plates;
  for (int i = 1; i < 3; ++i) {
    EXPECT_EQ(r.records(i).data_class(), "vehicle_registration");
    dep::VehicleRegistration v;
    ASSERT_TRUE(r.records(i).payload().UnpackTo(&v));
    plates.push_back(v.plate_number());
    EXPECT_TRUE(v.vin().empty());
    EXPECT_TRUE(v.engine_number().empty());
    EXPECT_NE(v.status(), dep::VEHICLE_STATUS_UNSPECIFIED);
    EXPECT_EQ(r.records(i).record_key(), v.plate_number());
  }
  EXPECT_EQ(plates, (std::vector<std::string>{"浙A12345", "浙A99999"}));

  // Audited before the answer, with what left the exchange.
  ASSERT_EQ(sink_.size(), 1u);
  auto e = LastEvent();
  EXPECT_EQ(r.audit_event_id(), e.event_id());
  EXPECT_EQ(e.decision(), datarun::v1::DECISION_ALLOW);
  EXPECT_EQ(e.rule(), "ag_open");
  EXPECT_EQ(e.subject().id(), a_);
  EXPECT_EQ(e.officer_id(), "officer-1");
  ASSERT_EQ(e.disclosed_size(), 2);
  EXPECT_EQ(e.disclosed(0).data_class(), "household_registration");
  EXPECT_EQ(e.disclosed(0).fields_size(), 3);
  EXPECT_EQ(e.disclosed(1).data_class(), "vehicle_registration");
  EXPECT_EQ(e.disclosed(1).record_keys_size(), 2);
}

TEST_F(ResolverTest, DeniedRequestCarriesRuleNoDataAndIsAudited) {
  QueryResponse r = Handle(Request(
      "test_open_matter", datarun::v1::QUERY_KIND_PROFILE, {a_}, "taxation"));
  EXPECT_EQ(r.decision(), datarun::v1::DECISION_DENY);
  EXPECT_EQ(r.denial_rule(), policy::kRuleNoAgreement);
  EXPECT_NE(r.denial_reason().find("taxation"), std::string::npos);
  EXPECT_EQ(r.records_size(), 0);
  auto e = LastEvent();
  EXPECT_EQ(e.decision(), datarun::v1::DECISION_DENY);
  EXPECT_EQ(e.rule(), policy::kRuleNoAgreement);
  EXPECT_EQ(e.disclosed_size(), 0);

  QueryRequest forged =
      Request("test_open_matter", datarun::v1::QUERY_KIND_PROFILE, {a_});
  forged.mutable_subjects(0)->set_id(b_);  // signature was over a_
  r = Handle(forged);
  EXPECT_EQ(r.denial_rule(), policy::kRuleBadSignature);
  EXPECT_EQ(LastEvent().subject().id(), b_);
}

TEST_F(ResolverTest, ConsentClassDisclosedOnlyWithLiveConsent) {
  QueryRequest q =
      Request("test_consent_matter", datarun::v1::QUERY_KIND_PROFILE, {a_});
  QueryResponse r = Handle(q);
  EXPECT_EQ(r.denial_rule(), policy::kRuleConsentMissing) << r.denial_reason();
  Apply({policy::testing::ConsentRecord(
      fixture_->catalog(), a_, "consent-1", "civil_affairs",
      "test_consent_matter", kNow - absl::Hours(1), kNow + absl::Hours(24))});
  r = Handle(q);
  ASSERT_EQ(r.decision(), datarun::v1::DECISION_ALLOW) << r.denial_reason();
  ASSERT_EQ(r.records_size(), 2);
  EXPECT_EQ(r.records(1).data_class(), "low_income_assistance");
  dep::LowIncomeAssistance li;
  ASSERT_TRUE(r.records(1).payload().UnpackTo(&li));
  EXPECT_TRUE(li.active());
  EXPECT_EQ(li.region_code(), "330106");
  EXPECT_TRUE(li.case_number().empty());
  EXPECT_EQ(li.monthly_amount_fen(), 0);
  // The consent record itself is never disclosed.
  for (const auto& rec : r.records())
    EXPECT_NE(rec.data_class(), "consent_grant");
}

TEST_F(ResolverTest, VerifyAnswersTrueFalseUnknownWithEvidenceNoPayload) {
  QueryResponse r = Handle(VerifyRequest("no_criminal_record", a_));
  ASSERT_EQ(r.decision(), datarun::v1::DECISION_ALLOW) << r.denial_reason();
  EXPECT_EQ(r.verify_result(), datarun::v1::VERIFY_RESULT_TRUE);
  ASSERT_EQ(r.evidence_size(), 1);
  EXPECT_EQ(r.evidence(0).data_class(), "criminal_record_status");
  EXPECT_EQ(r.evidence(0).source_department(), "public_security");
  EXPECT_EQ(r.records_size(), 0);
  auto e = LastEvent();
  EXPECT_EQ(e.detail(), "no_criminal_record");
  ASSERT_EQ(e.disclosed_size(), 1);
  EXPECT_EQ(e.disclosed(0).fields_size(), 0);  // read, not disclosed

  EXPECT_EQ(Handle(VerifyRequest("no_criminal_record", c_)).verify_result(),
            datarun::v1::VERIFY_RESULT_FALSE);
  r = Handle(VerifyRequest("no_criminal_record", d_));
  EXPECT_EQ(r.verify_result(), datarun::v1::VERIFY_RESULT_UNKNOWN);
  EXPECT_EQ(r.evidence_size(), 0);
}

TEST_F(ResolverTest, OwnsVehicleIgnoresDeregisteredCars) {
  QueryResponse r = Handle(VerifyRequest("owns_vehicle", a_));
  EXPECT_EQ(r.verify_result(), datarun::v1::VERIFY_RESULT_TRUE);
  ASSERT_EQ(r.evidence_size(), 1);
  EXPECT_EQ(r.evidence(0).record_key(), "浙A12345");
  r = Handle(VerifyRequest("owns_vehicle", c_));
  EXPECT_EQ(r.verify_result(), datarun::v1::VERIFY_RESULT_FALSE);
  EXPECT_EQ(r.evidence_size(), 1);  // the deregistered car that was checked
  EXPECT_EQ(Handle(VerifyRequest("owns_vehicle", d_)).verify_result(),
            datarun::v1::VERIFY_RESULT_FALSE);  // no record means no
}

TEST_F(ResolverTest, KinshipAnsweredFromEitherSidesPartition) {
  ASSERT_NE(TestPartition(a_), TestPartition(b_));
  QueryRequest q = VerifyRequest("is_kin_of", a_);
  (*q.mutable_parameters())["other_subject_id"] = b_;
  fixture_->Sign(&q);
  EXPECT_EQ(Handle(q).verify_result(), datarun::v1::VERIFY_RESULT_TRUE);
  (*q.mutable_parameters())["kinship_type"] = "KINSHIP_TYPE_SPOUSE";
  fixture_->Sign(&q);
  EXPECT_EQ(Handle(q).verify_result(), datarun::v1::VERIFY_RESULT_FALSE);
  (*q.mutable_parameters())["kinship_type"] = "KINSHIP_TYPE_PARENT";
  fixture_->Sign(&q);
  EXPECT_EQ(Handle(q).verify_result(), datarun::v1::VERIFY_RESULT_TRUE);

  // The other side, on its own partition.
  QueryRequest back = VerifyRequest("is_kin_of", b_);
  (*back.mutable_parameters())["other_subject_id"] = a_;
  fixture_->Sign(&back);
  QueryResponse r = Handle(back);
  EXPECT_EQ(r.verify_result(), datarun::v1::VERIFY_RESULT_TRUE);
  EXPECT_EQ(LastEvent().event_id().substr(0, 1),
            absl::StrCat(TestPartition(b_)));
  // A stranger is not kin.
  (*back.mutable_parameters())["other_subject_id"] = c_;
  fixture_->Sign(&back);
  EXPECT_EQ(Handle(back).verify_result(), datarun::v1::VERIFY_RESULT_FALSE);
}

TEST_F(ResolverTest, MultiSubjectRequestIsAllOrNothing) {
  QueryRequest q =
      Request("test_consent_matter", datarun::v1::QUERY_KIND_PROFILE, {a_, b_});
  Apply({policy::testing::ConsentRecord(
      fixture_->catalog(), a_, "consent-1", "civil_affairs",
      "test_consent_matter", kNow - absl::Hours(1), kNow + absl::Hours(24))});
  QueryResponse r = Handle(q);  // b_ has no consent
  EXPECT_EQ(r.decision(), datarun::v1::DECISION_DENY);
  EXPECT_EQ(r.denial_rule(), policy::kRuleConsentMissing);
  EXPECT_NE(r.denial_reason().find(b_), std::string::npos);
  EXPECT_EQ(r.records_size(), 0);
  auto links = sink_.links();
  ASSERT_EQ(links.size(), 2u);
  datarun::v1::AuditEvent ea, eb;
  ASSERT_TRUE(ea.ParseFromString(links[0].event_bytes()));
  ASSERT_TRUE(eb.ParseFromString(links[1].event_bytes()));
  EXPECT_EQ(ea.rule(), policy::kRuleBatchDenied);
  EXPECT_EQ(eb.rule(), policy::kRuleConsentMissing);
}

TEST_F(ResolverTest, NoResponseWithoutAuditAck) {
  sink_.Fail(absl::UnavailableError("dr.audit not reachable"));
  auto r = resolver_->Handle(
      Request("test_open_matter", datarun::v1::QUERY_KIND_PROFILE, {a_}));
  EXPECT_EQ(r.status().code(), absl::StatusCode::kUnavailable);
}

TEST_F(ResolverTest, AuditChainsPerPartitionVerify) {
  for (const auto& s : {a_, b_, c_, d_, a_, b_}) {
    Handle(Request("test_open_matter", datarun::v1::QUERY_KIND_PROFILE, {s}));
  }
  std::vector<std::vector<datarun::v1::ChainLink>> parts(kPartitions);
  for (const auto& l : sink_.links()) parts[l.partition()].push_back(l);
  seal::SealKeyring keyring;
  size_t total = 0;
  for (int p = 0; p < kPartitions; ++p) {
    auto rep = audit::VerifyChain(p, parts[p], {}, keyring);
    EXPECT_TRUE(rep.ok()) << rep.status();
    total += parts[p].size();
  }
  EXPECT_EQ(total, 6u);
}

// Handle reuses one set of per-subject buffers (audit event, profile bytes)
// per thread: a request must leave nothing behind for the next. The same
// mixed sequence handled on one thread and each request on a fresh thread
// gives the same responses and the same audit chain bytes.
TEST_F(ResolverTest, ReusedBuffersLeaveNothingForTheNextRequest) {
  std::vector<QueryRequest> requests = {
      Request("test_open_matter", datarun::v1::QUERY_KIND_PROFILE, {a_, b_}),
      Request("test_open_matter", datarun::v1::QUERY_KIND_PROFILE, {d_}),
      Request("test_open_matter", datarun::v1::QUERY_KIND_PROFILE, {a_},
              "taxation"),
      VerifyRequest("owns_vehicle", c_),
      Request("test_consent_matter", datarun::v1::QUERY_KIND_PROFILE, {a_}),
      Request("test_open_matter", datarun::v1::QUERY_KIND_PROFILE, {c_}),
  };
  audit::MemoryAuditSink fresh_sink;
  audit::AuditLog fresh_audit(&fresh_sink, nullptr, nullptr);
  ResolverOptions ro;
  ro.clock = [] { return kNow; };
  Resolver fresh(fixture_->policy(), *store_, fresh_audit, TestPartition, ro);
  for (const QueryRequest& q : requests) {
    QueryResponse reused = Handle(q);
    absl::StatusOr<QueryResponse> alone;
    std::thread([&] { alone = fresh.Handle(q); }).join();
    ASSERT_TRUE(alone.ok()) << alone.status();
    EXPECT_EQ(reused.SerializeAsString(), alone->SerializeAsString())
        << q.ShortDebugString();
  }
  const auto got = sink_.links(), want = fresh_sink.links();
  ASSERT_EQ(got.size(), 7u);
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < got.size(); ++i) {
    EXPECT_EQ(got[i].SerializeAsString(), want[i].SerializeAsString()) << i;
  }
}

// PROFILE answers write their audit event's bytes without an AuditEvent
// (WriteProfileEvent). They must be the bytes of the message the other
// kinds build: the fields Handle sets, the disclosed classes as the
// response shows them, AnnotateEvent's consent exemption, serialized by
// protobuf.
TEST_F(ResolverTest, ProfileEventBytesAreThoseOfTheAuditEventMessage) {
  // A citizen with a real-estate title: court_case_filing of the shipped
  // catalog (the fixture's overlay replaces its matters) exempts that class
  // from consent, and its events say so.
  auto shipped = policy::testing::Fixture::Create("", {"courts"});
  ASSERT_TRUE(shipped.ok()) << shipped.status();
  ResolverOptions ro;
  ro.clock = [] { return kNow; };
  Resolver courts((*shipped)->policy(), *store_, *audit_, TestPartition, ro);
  const std::string e = CitizenId(40);
  {
    const auto& cat = fixture_->catalog();
    dep::RealEstateTitle t;
    t.set_title_number("浙(2020)杭州市不动产权第0000040号");
    t.set_floor_area_centi_sqm(8950);
    dep::HouseholdRegistration h;
    h.set_name("王五");
    Apply({MakeRecord(cat, e, "real_estate_title", t.title_number(), 1, t),
           MakeRecord(cat, e, "household_registration", "", 2, h)});
  }
  std::vector<QueryRequest> requests = {
      (*shipped)->Request("courts", "court_case_filing",
                          datarun::v1::QUERY_KIND_PROFILE, {e}, kNow),
      Request("test_open_matter", datarun::v1::QUERY_KIND_PROFILE, {a_, b_}),
      Request("test_open_matter", datarun::v1::QUERY_KIND_PROFILE, {d_}),
      Request("test_open_matter", datarun::v1::QUERY_KIND_PROFILE, {a_},
              "taxation"),
      Request("test_consent_matter", datarun::v1::QUERY_KIND_PROFILE, {a_}),
      Request("test_open_matter", datarun::v1::QUERY_KIND_PROFILE, {}),
  };
  int exempted = 0;
  for (const QueryRequest& q : requests) {
    const size_t before = sink_.links().size();
    const bool court = q.requester_department() == "courts";
    const policy::testing::Fixture& f = court ? **shipped : *fixture_;
    auto handled = (court ? courts : *resolver_).Handle(q);
    ASSERT_TRUE(handled.ok()) << handled.status();
    const QueryResponse& r = *handled;
    if (court) {
      ASSERT_EQ(r.decision(), datarun::v1::DECISION_ALLOW) << r.denial_reason();
      ASSERT_EQ(r.records_size(), 2);
    }
    const auto links = sink_.links();
    const int n = std::max(1, q.subjects_size());
    ASSERT_EQ(links.size(), before + n) << q.ShortDebugString();
    const policy::RequestGrant grant = f.policy().CheckRequest(q, kNow);
    for (int i = 0; i < n; ++i) {
      const auto& link = links[before + i];
      AuditEvent want;
      want.set_event_id(absl::StrCat(link.partition(), "-", link.sequence()));
      *want.mutable_time() = r.answered_at();
      want.set_request_id(q.request_id());
      want.set_requester_department(q.requester_department());
      want.set_officer_id(q.officer_id());
      if (q.has_on_behalf_of()) *want.mutable_on_behalf_of() = q.on_behalf_of();
      want.set_matter(q.matter());
      want.set_kind(q.kind());
      want.set_catalog_version(f.catalog().version());
      if (i < q.subjects_size()) *want.mutable_subject() = q.subjects(i);
      std::map<std::string, datarun::v1::DisclosedClass*> by_class;
      for (const auto& d : r.records()) {
        if (i >= q.subjects_size() || d.subject().id() != q.subjects(i).id()) {
          continue;
        }
        auto*& dc = by_class[d.data_class()];
        if (dc == nullptr) {
          dc = want.add_disclosed();
          dc->set_data_class(d.data_class());
          *dc->mutable_fields() = d.disclosed_fields();
        }
        dc->add_record_keys(d.record_key());
      }
      const bool allowed = r.decision() == datarun::v1::DECISION_ALLOW;
      policy::Decision decision;
      decision.allowed = allowed;
      decision.rule = allowed ? grant.decision.rule : r.denial_rule();
      if (!allowed && n > 1) {
        // The subjects that passed carry the batch rule; take the event's.
        AuditEvent got;
        ASSERT_TRUE(got.ParseFromString(link.event_bytes()));
        decision.rule = got.rule();
      }
      want.set_decision(allowed ? datarun::v1::DECISION_ALLOW
                                : datarun::v1::DECISION_DENY);
      want.set_rule(decision.rule);
      AnnotateEvent(grant, q, decision, &want);
      exempted += want.consent_exempt_classes_size();
      EXPECT_EQ(link.event_bytes(), want.SerializeAsString())
          << q.ShortDebugString() << "\nwant " << want.ShortDebugString();
    }
  }
  // The court's answer relied on the exemption (and the check saw it).
  EXPECT_EQ(exempted, 1);
}

}  // namespace
}  // namespace datarun::resolver
