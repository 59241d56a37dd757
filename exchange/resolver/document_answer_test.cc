// Certificates and dossiers through Resolver::Handle: the shipped catalog's
// matters and templates, real seal keys (SM2 for market_regulation and
// public_security, Ed25519 for natural_resources and big_data_bureau),
// records in RocksDB in a temp dir, answers checked with the offline
// verifier, audit events read back from the chain.
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/civil_time.h"
#include "exchange/audit/audit_log.h"
#include "exchange/audit/audit_sink.h"
#include "exchange/certificate/testing/test_env.h"
#include "exchange/certificate/verify.h"
#include "exchange/policy/policy.h"
#include "exchange/policy/rules.h"
#include "exchange/policy/testing/fixture.h"
#include "exchange/resolver/resolver.h"
#include "exchange/state/rocksdb/rocksdb_state_store.h"
#include "gtest/gtest.h"
#include "proto/datarun/v1/departments/big_data_bureau.pb.h"
#include "proto/datarun/v1/departments/human_resources_social_security.pb.h"
#include "proto/datarun/v1/departments/market_regulation.pb.h"
#include "proto/datarun/v1/departments/natural_resources.pb.h"
#include "proto/datarun/v1/departments/public_security.pb.h"

namespace datarun::resolver {
namespace {

using certificate::testing::CertEnv;
using certificate::testing::KeySpec;
using datarun::v1::AuditEvent;
using datarun::v1::QueryKind;
using datarun::v1::QueryRequest;
using datarun::v1::QueryResponse;
using datarun::v1::Record;
using policy::testing::CitizenId;
namespace dep = datarun::v1::departments;

constexpr int kPartitions = 4;
const absl::Time kNow = absl::FromCivil(absl::CivilSecond(2026, 6, 1, 10, 0, 0),
                                        absl::UTCTimeZone());

int32_t TestPartition(absl::string_view id) {
  uint32_t h = 0;
  for (char c : id) h = h * 31 + static_cast<unsigned char>(c);
  return static_cast<int32_t>(h % kPartitions);
}

class DocumentAnswerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    using seal::SealAlgorithm;
    auto env = CertEnv::Create({
        // Requesters (request signatures).
        {"courts", "courts-t", SealAlgorithm::kEd25519},
        {"civil_affairs", "ca-t", SealAlgorithm::kEd25519},
        {"human_resources_social_security", "hrss-t", SealAlgorithm::kSm2Sm3},
        // Issuers, and the department dossiers are sealed as.
        {"natural_resources", "nr-t", SealAlgorithm::kEd25519},
        {"market_regulation", "mr-t", SealAlgorithm::kSm2Sm3},
        {"public_security", "ps-t", SealAlgorithm::kSm2Sm3},
        {"big_data_bureau", "bdb-t", SealAlgorithm::kEd25519},
    });
    ASSERT_TRUE(env.ok()) << env.status();
    env_ = std::move(*env);
    auto p = policy::Policy::Create(env_->index(), env_->keyring());
    ASSERT_TRUE(p.ok()) << p.status();
    policy_ = std::move(*p);
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
    resolver_ = NewResolver(&env_->signers());
    a_ = CitizenId(1);     // the defendant: household, cars, a flat, a company
    d_ = CitizenId(7002);  // no records at all
    Load();
  }

  std::unique_ptr<Resolver> NewResolver(const certificate::SignerSet* s) {
    ResolverOptions ro;
    ro.clock = [] { return kNow; };
    ro.seals.signers = s;
    return std::make_unique<Resolver>(*policy_, *store_, *audit_, TestPartition,
                                      ro);
  }

  Record Make(const std::string& subject, const std::string& cls,
              const std::string& key, uint64_t version,
              const google::protobuf::Message& payload) {
    return policy::testing::MakeRecord(env_->index(), subject, cls, key,
                                       version, payload);
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
    dep::HouseholdRegistration h;
    h.set_name("张三");
    h.set_household_number("330106-000123");
    h.mutable_address()->set_region_code("330106");
    h.mutable_address()->set_detail("文三路 1 号");
    h.set_police_station("西湖派出所");
    dep::ResidentPopulation rp;
    rp.mutable_residence_address()->set_detail("古墩路 9 号");
    rp.set_residence_permit_number("RP-1");
    dep::VehicleRegistration v1;
    v1.set_plate_number("浙A12345");
    v1.set_vin("LSVAA4182E2123456");
    v1.set_model("大众牌");
    v1.set_status(dep::VEHICLE_STATUS_NORMAL);
    dep::RealEstateTitle t;
    t.set_title_number("浙(2020)杭州市不动产权第0000001号");
    t.mutable_address()->set_detail("西溪路 100 号 1-101");
    t.set_unit_number("330106001001GB00001F00010001");
    t.set_use(dep::PROPERTY_USE_RESIDENTIAL);
    t.set_floor_area_centi_sqm(8950);
    t.set_share_bp(10000);
    dep::EntityRoleHolding e;
    e.mutable_entity()->set_kind(datarun::v1::SUBJECT_KIND_LEGAL_PERSON);
    e.mutable_entity()->set_id("91330106MA2XXXXX0X");
    e.set_entity_name("杭州某某科技有限公司");
    e.set_role(dep::ENTITY_ROLE_LEGAL_REPRESENTATIVE);
    e.set_subscribed_capital_fen(100000000);
    Record deleted = Make(a_, "vehicle_registration", "浙A00000", 2, v1);
    Apply({Make(a_, "household_registration", "", 3, h),
           Make(a_, "resident_population", "", 1, rp),
           Make(a_, "vehicle_registration", "浙A12345", 1, v1), deleted,
           Make(a_, "real_estate_title", t.title_number(), 4, t),
           Make(a_, "entity_role_holding", "91330106MA2XXXXX0X", 1, e)});
    deleted.set_op(Record::OP_DELETE);
    deleted.clear_payload();
    deleted.set_source_version(3);
    Apply({deleted});
  }

  QueryRequest Request(const std::string& dept, const std::string& matter,
                       QueryKind kind, const std::string& subject,
                       const std::string& template_id = "") {
    QueryRequest r;
    r.set_request_id(absl::StrCat("req-", ++requests_));
    r.set_requester_department(dept);
    r.set_officer_id("officer-7");
    r.set_matter(matter);
    r.set_kind(kind);
    r.set_template_id(template_id);
    auto* s = r.add_subjects();
    s->set_kind(datarun::v1::SUBJECT_KIND_CITIZEN);
    s->set_id(subject);
    r.set_identity_assurance(datarun::v1::IDENTITY_ASSURANCE_FACE);
    *r.mutable_requested_at() = policy::testing::Ts(kNow);
    const seal::Signer* signer = env_->signers().Find(dept);
    EXPECT_NE(signer, nullptr) << dept;
    if (signer != nullptr) {
      absl::Status st = policy::SignRequest(*signer, &r);
      EXPECT_TRUE(st.ok()) << st;
    }
    return r;
  }
  QueryRequest Certificate(const std::string& dept, const std::string& matter,
                           const std::string& template_id,
                           const std::string& subject) {
    return Request(dept, matter, datarun::v1::QUERY_KIND_CERTIFICATE, subject,
                   template_id);
  }

  QueryResponse Handle(const QueryRequest& r,
                       const Resolver* resolver = nullptr) {
    auto resp = (resolver ? resolver : resolver_.get())->Handle(r);
    EXPECT_TRUE(resp.ok()) << resp.status();
    return resp.ok() ? *resp : QueryResponse();
  }
  AuditEvent LastEvent() {
    auto links = sink_.links();
    AuditEvent e;
    EXPECT_FALSE(links.empty());
    if (!links.empty()) e.ParseFromString(links.back().event_bytes());
    return e;
  }
  certificate::VerifyOptions VerifyAt(absl::Time at) {
    certificate::VerifyOptions o;
    o.keyring = &env_->keyring();
    o.catalog = &env_->catalog();
    o.now = at;
    return o;
  }
  static std::string Content(const datarun::v1::Certificate& c,
                             const std::string& key) {
    for (const auto& f : c.content()) {
      if (f.key() == key) return f.value();
    }
    return "<missing>";
  }

  std::unique_ptr<CertEnv> env_;
  std::unique_ptr<policy::Policy> policy_;
  std::unique_ptr<state::RocksDbStateStore> store_;
  audit::MemoryAuditSink sink_;
  std::unique_ptr<audit::AuditLog> audit_;
  std::unique_ptr<Resolver> resolver_;
  std::string a_, d_;
  int requests_ = 0;
};

TEST_F(DocumentAnswerTest, AllowedCertificateIsSealedByItsIssuerAndVerifies) {
  // SM2: market_regulation's entity roles certificate for the court.
  QueryResponse r =
      Handle(Certificate("courts", "court_case_filing", "entity_roles", a_));
  ASSERT_EQ(r.decision(), datarun::v1::DECISION_ALLOW) << r.denial_reason();
  ASSERT_TRUE(r.has_certificate());
  const datarun::v1::Certificate& c = r.certificate();
  EXPECT_EQ(c.template_id(), "entity_roles");
  EXPECT_EQ(c.issuer_department(), "market_regulation");
  EXPECT_EQ(c.seal().algorithm(), datarun::v1::SEAL_ALGORITHM_SM2_SM3);
  EXPECT_EQ(c.subject().id(), a_);
  EXPECT_EQ(Content(c, "entity_role_holding.entity_name"),
            "杭州某某科技有限公司");
  EXPECT_EQ(Content(c, "entity_role_holding.role"), "法定代表人");
  ASSERT_EQ(c.sources_size(), 1);
  EXPECT_EQ(c.sources(0).source_department(), "market_regulation");
  EXPECT_EQ(c.issued_at().seconds(), absl::ToUnixSeconds(kNow));
  certificate::Verification v =
      certificate::VerifyCertificate(c, VerifyAt(kNow));
  EXPECT_TRUE(v.valid()) << v.reason;
  // A changed byte of content no longer verifies.
  datarun::v1::Certificate forged = c;
  forged.mutable_content(0)->set_value("另一家公司");
  EXPECT_EQ(certificate::VerifyCertificate(forged, VerifyAt(kNow)).verdict,
            certificate::Verdict::kTampered);

  // Audited: the template's classes and fields, the record, the serial.
  AuditEvent e = LastEvent();
  EXPECT_EQ(r.audit_event_id(), e.event_id());
  EXPECT_EQ(e.decision(), datarun::v1::DECISION_ALLOW);
  EXPECT_EQ(e.rule(), "ag_court_case_filing");
  EXPECT_EQ(e.kind(), datarun::v1::QUERY_KIND_CERTIFICATE);
  EXPECT_EQ(e.detail(), "entity_roles");
  EXPECT_EQ(e.document_id(), c.serial());
  ASSERT_EQ(e.disclosed_size(), 1);
  EXPECT_EQ(e.disclosed(0).data_class(), "entity_role_holding");
  EXPECT_EQ(
      std::vector<std::string>(e.disclosed(0).fields().begin(),
                               e.disclosed(0).fields().end()),
      (std::vector<std::string>{"entity_name", "entity", "role", "since"}));
  ASSERT_EQ(e.disclosed(0).record_keys_size(), 1);
  EXPECT_EQ(e.disclosed(0).record_keys(0), "91330106MA2XXXXX0X");
  EXPECT_EQ(e.consent_exempt_classes_size(), 0);  // roles need no consent
}

TEST_F(DocumentAnswerTest, StatutoryExemptionLetsTheCourtHaveTheTitleAudited) {
  // Ed25519: natural_resources' real-estate certificate. Titles are
  // consent-required; the court's agreement exempts them by statute.
  QueryResponse r = Handle(
      Certificate("courts", "court_case_filing", "real_estate_ownership", a_));
  ASSERT_EQ(r.decision(), datarun::v1::DECISION_ALLOW) << r.denial_reason();
  const datarun::v1::Certificate& c = r.certificate();
  EXPECT_EQ(c.seal().algorithm(), datarun::v1::SEAL_ALGORITHM_ED25519);
  EXPECT_EQ(c.issuer_department(), "natural_resources");
  EXPECT_EQ(Content(c, "real_estate_title.title_number"),
            "浙(2020)杭州市不动产权第0000001号");
  EXPECT_EQ(Content(c, "real_estate_title.floor_area_centi_sqm"),
            "89.50平方米");
  certificate::Verification v =
      certificate::VerifyCertificate(c, VerifyAt(kNow));
  EXPECT_TRUE(v.valid()) << v.reason;
  // Expires after the template's 30 days.
  EXPECT_EQ(
      certificate::VerifyCertificate(c, VerifyAt(kNow + absl::Hours(24 * 31)))
          .verdict,
      certificate::Verdict::kExpired);
  AuditEvent e = LastEvent();
  ASSERT_EQ(e.consent_exempt_classes_size(), 1);
  EXPECT_EQ(e.consent_exempt_classes(0), "real_estate_title");
  EXPECT_TRUE(absl::StrContains(e.consent_exemption_basis(),
                                "《中华人民共和国民事诉讼法》"))
      << e.consent_exemption_basis();
}

TEST_F(DocumentAnswerTest, NoPropertyCertificateForSomeoneWithoutTitles) {
  // Absence is what the real-estate template certifies: "无".
  QueryResponse r = Handle(
      Certificate("courts", "court_case_filing", "real_estate_ownership", d_));
  ASSERT_EQ(r.decision(), datarun::v1::DECISION_ALLOW) << r.denial_reason();
  EXPECT_EQ(Content(r.certificate(), "real_estate_title.title_number"), "无");
  EXPECT_EQ(r.certificate().sources_size(), 0);
  EXPECT_TRUE(
      certificate::VerifyCertificate(r.certificate(), VerifyAt(kNow)).valid());
  // ... but a social insurance certificate of nobody is refused, audited.
  r = Handle(Certificate("human_resources_social_security",
                         "retirement_pension_claim",
                         "social_insurance_contribution", d_));
  EXPECT_EQ(r.decision(), datarun::v1::DECISION_DENY);
  EXPECT_EQ(r.denial_rule(), policy::kRuleNoRecord);
  EXPECT_TRUE(absl::StrContains(r.denial_reason(),
                                "no social_insurance_contribution record"))
      << r.denial_reason();
  EXPECT_FALSE(r.has_certificate());
  AuditEvent e = LastEvent();
  EXPECT_EQ(e.decision(), datarun::v1::DECISION_DENY);
  EXPECT_EQ(e.rule(), policy::kRuleNoRecord);
  EXPECT_EQ(e.detail(), "social_insurance_contribution");
  EXPECT_EQ(e.disclosed_size(), 0);
}

TEST_F(DocumentAnswerTest, SocialInsuranceCertificateWithSm2) {
  dep::SocialInsuranceContribution si;
  si.set_scheme(dep::INSURANCE_SCHEME_EMPLOYEE_PENSION);
  si.set_status(dep::CONTRIBUTION_STATUS_PAYING);
  si.set_employer_name("杭州某某科技有限公司");
  si.set_months_contributed(180);
  Apply({Make(a_, "social_insurance_contribution", "EMPLOYEE_PENSION", 1, si)});
  QueryResponse r = Handle(Certificate("human_resources_social_security",
                                       "retirement_pension_claim",
                                       "social_insurance_contribution", a_));
  // The HRSS requester key is also its seal here (one key per department).
  ASSERT_EQ(r.decision(), datarun::v1::DECISION_ALLOW) << r.denial_reason();
  EXPECT_EQ(r.certificate().seal().algorithm(),
            datarun::v1::SEAL_ALGORITHM_SM2_SM3);
  EXPECT_EQ(Content(r.certificate(),
                    "social_insurance_contribution.months_contributed"),
            "180");
  EXPECT_TRUE(
      certificate::VerifyCertificate(r.certificate(), VerifyAt(kNow)).valid());
}

TEST_F(DocumentAnswerTest, CertificateDenials) {
  struct Case {
    QueryRequest request;
    absl::string_view rule;
  } cases[] = {
      // No agreement of the requester for the matter.
      {Certificate("civil_affairs", "court_case_filing", "entity_roles", a_),
       policy::kRuleNoAgreement},
      // Wrong matter: the court's agreement is for court filing.
      {Certificate("courts", "retirement_pension_claim", "entity_roles", a_),
       policy::kRuleNoAgreement},
      {Certificate("courts", "court_case_filing", "no_such_template", a_),
       policy::kRuleUnknownTemplate},
      // The court may not see the household number the template shows.
      {Certificate("courts", "court_case_filing", "resident_population_info",
                   a_),
       policy::kRuleTemplateNotCovered},
      // Another matter's agreement of HRSS covers no enterprise roles.
      {Certificate("human_resources_social_security",
                   "retirement_pension_claim", "entity_roles", a_),
       policy::kRuleTemplateNotCovered},
  };
  for (const auto& c : cases) {
    QueryResponse r = Handle(c.request);
    EXPECT_EQ(r.decision(), datarun::v1::DECISION_DENY)
        << c.request.template_id();
    EXPECT_EQ(r.denial_rule(), c.rule) << r.denial_reason();
    EXPECT_FALSE(r.has_certificate());
    AuditEvent e = LastEvent();
    EXPECT_EQ(e.rule(), c.rule);
    EXPECT_EQ(e.detail(), c.request.template_id());
    EXPECT_EQ(e.disclosed_size(), 0);
  }
}

TEST_F(DocumentAnswerTest, ConsentNeededWhereTheAgreementNamesNoStatute) {
  // natural_resources asks for the same certificate for a transfer: no
  // exemption there, so the owner's consent is needed.
  QueryRequest q =
      Certificate("natural_resources", "real_estate_transfer_registration",
                  "real_estate_ownership", a_);
  ASSERT_TRUE(env_->signers().Find("natural_resources") != nullptr);
  QueryResponse r = Handle(q);
  EXPECT_EQ(r.denial_rule(), policy::kRuleConsentMissing) << r.denial_reason();
  Apply({policy::testing::ConsentRecord(
      env_->index(), a_, "consent-9", "natural_resources",
      "real_estate_transfer_registration", kNow - absl::Hours(1),
      kNow + absl::Hours(24))});
  r = Handle(q);
  ASSERT_EQ(r.decision(), datarun::v1::DECISION_ALLOW) << r.denial_reason();
  EXPECT_TRUE(
      certificate::VerifyCertificate(r.certificate(), VerifyAt(kNow)).valid());
  EXPECT_EQ(LastEvent().consent_exempt_classes_size(), 0);
}

TEST_F(DocumentAnswerTest, MissingSealIsAClearAuditedDenial) {
  certificate::SignerSet none;
  std::unique_ptr<Resolver> unsealed = NewResolver(&none);
  QueryResponse r =
      Handle(Certificate("courts", "court_case_filing", "entity_roles", a_),
             unsealed.get());
  EXPECT_EQ(r.decision(), datarun::v1::DECISION_DENY);
  EXPECT_EQ(r.denial_rule(), policy::kRuleNoSeal);
  EXPECT_TRUE(absl::StrContains(r.denial_reason(), "market_regulation"))
      << r.denial_reason();
  EXPECT_EQ(LastEvent().rule(), policy::kRuleNoSeal);
  r = Handle(Request("courts", "court_case_filing",
                     datarun::v1::QUERY_KIND_DOSSIER, a_),
             unsealed.get());
  EXPECT_EQ(r.denial_rule(), policy::kRuleNoSeal);
  EXPECT_TRUE(absl::StrContains(r.denial_reason(), "big_data_bureau"))
      << r.denial_reason();
}

TEST_F(DocumentAnswerTest, CourtDossierHasEveryPartMaskedWithProvenance) {
  QueryResponse r = Handle(Request("courts", "court_case_filing",
                                   datarun::v1::QUERY_KIND_DOSSIER, a_));
  ASSERT_EQ(r.decision(), datarun::v1::DECISION_ALLOW) << r.denial_reason();
  ASSERT_TRUE(r.has_dossier());
  const datarun::v1::Dossier& d = r.dossier();
  EXPECT_EQ(d.matter(), "court_case_filing");
  EXPECT_EQ(d.requester_department(), "courts");
  EXPECT_EQ(d.seal().department(), "big_data_bureau");
  certificate::Verification v = certificate::VerifyDossier(d, VerifyAt(kNow));
  EXPECT_TRUE(v.valid()) << v.reason;

  ASSERT_EQ(d.sections_size(), 5);
  EXPECT_EQ(d.sections(0).data_class(), "household_registration");
  EXPECT_EQ(d.sections(1).data_class(), "resident_population");
  EXPECT_EQ(d.sections(2).data_class(), "vehicle_registration");
  EXPECT_EQ(d.sections(3).data_class(), "real_estate_title");
  EXPECT_EQ(d.sections(4).data_class(), "entity_role_holding");
  for (const auto& s : d.sections()) {
    ASSERT_EQ(s.records_size(), 1) << s.data_class();  // deleted car gone
    EXPECT_EQ(s.records(0).provenance().data_class(), s.data_class());
    EXPECT_FALSE(s.records(0).provenance().source_department().empty());
    EXPECT_GT(s.records(0).provenance().source_version(), 0u);
  }
  // Masked to the court's agreement, field by field.
  dep::HouseholdRegistration h;
  ASSERT_TRUE(d.sections(0).records(0).payload().UnpackTo(&h));
  EXPECT_EQ(h.name(), "张三");
  EXPECT_EQ(h.address().detail(), "文三路 1 号");
  EXPECT_TRUE(h.household_number().empty());
  EXPECT_TRUE(h.police_station().empty());
  dep::ResidentPopulation rp;
  ASSERT_TRUE(d.sections(1).records(0).payload().UnpackTo(&rp));
  EXPECT_EQ(rp.residence_address().detail(), "古墩路 9 号");
  EXPECT_TRUE(rp.residence_permit_number().empty());
  dep::VehicleRegistration car;
  ASSERT_TRUE(d.sections(2).records(0).payload().UnpackTo(&car));
  EXPECT_EQ(car.plate_number(), "浙A12345");
  EXPECT_EQ(car.model(), "大众牌");
  EXPECT_TRUE(car.vin().empty());
  dep::RealEstateTitle t;
  ASSERT_TRUE(d.sections(3).records(0).payload().UnpackTo(&t));
  EXPECT_EQ(t.title_number(), "浙(2020)杭州市不动产权第0000001号");
  EXPECT_EQ(t.floor_area_centi_sqm(), 8950);
  EXPECT_TRUE(t.unit_number().empty());
  EXPECT_EQ(d.sections(3).records(0).provenance().source_department(),
            "natural_resources");
  dep::EntityRoleHolding e;
  ASSERT_TRUE(d.sections(4).records(0).payload().UnpackTo(&e));
  EXPECT_EQ(e.role(), dep::ENTITY_ROLE_LEGAL_REPRESENTATIVE);
  EXPECT_EQ(e.entity().id(), "91330106MA2XXXXX0X");
  EXPECT_EQ(e.subscribed_capital_fen(), 0);

  // Hiding the flat breaks the seal.
  datarun::v1::Dossier hidden = d;
  hidden.mutable_sections(3)->clear_records();
  EXPECT_EQ(certificate::VerifyDossier(hidden, VerifyAt(kNow)).verdict,
            certificate::Verdict::kTampered);

  AuditEvent ev = LastEvent();
  EXPECT_EQ(ev.kind(), datarun::v1::QUERY_KIND_DOSSIER);
  EXPECT_EQ(ev.document_id(), d.id());
  ASSERT_EQ(ev.disclosed_size(), 5);
  EXPECT_EQ(ev.disclosed(3).data_class(), "real_estate_title");
  EXPECT_EQ(ev.disclosed(3).fields_size(), 7);
  ASSERT_EQ(ev.consent_exempt_classes_size(), 1);
  EXPECT_EQ(ev.consent_exempt_classes(0), "real_estate_title");
  EXPECT_FALSE(ev.consent_exemption_basis().empty());
}

TEST_F(DocumentAnswerTest, DossierOnlyForTheCourtsFilingAgreement) {
  QueryResponse r = Handle(Request("civil_affairs", "court_case_filing",
                                   datarun::v1::QUERY_KIND_DOSSIER, a_));
  EXPECT_EQ(r.denial_rule(), policy::kRuleNoAgreement);
  EXPECT_FALSE(r.has_dossier());
  // HRSS has an agreement for its matter, but not one that allows dossiers.
  r = Handle(Request("human_resources_social_security",
                     "retirement_pension_claim",
                     datarun::v1::QUERY_KIND_DOSSIER, a_));
  EXPECT_EQ(r.denial_rule(), policy::kRuleDossierNotAllowed)
      << r.denial_reason();
  EXPECT_EQ(LastEvent().rule(), policy::kRuleDossierNotAllowed);
  // An id the exchange knows nothing about gets no (empty) dossier.
  r = Handle(Request("courts", "court_case_filing",
                     datarun::v1::QUERY_KIND_DOSSIER, d_));
  EXPECT_EQ(r.denial_rule(), policy::kRuleNoRecord) << r.denial_reason();
}

TEST_F(DocumentAnswerTest, CourtProfileRecordsTheExemptionOnlyWhenUsed) {
  QueryResponse r = Handle(Request("courts", "court_case_filing",
                                   datarun::v1::QUERY_KIND_PROFILE, a_));
  ASSERT_EQ(r.decision(), datarun::v1::DECISION_ALLOW) << r.denial_reason();
  bool title = false;
  for (const auto& rec : r.records()) {
    title |= rec.data_class() == "real_estate_title";
  }
  EXPECT_TRUE(title);
  EXPECT_EQ(LastEvent().consent_exempt_classes_size(), 1);
  // Someone with no title: nothing disclosed under the exemption.
  dep::HouseholdRegistration h;
  h.set_name("李四");
  const std::string b = CitizenId(2);
  Apply({Make(b, "household_registration", "", 1, h)});
  r = Handle(Request("courts", "court_case_filing",
                     datarun::v1::QUERY_KIND_PROFILE, b));
  ASSERT_EQ(r.decision(), datarun::v1::DECISION_ALLOW) << r.denial_reason();
  EXPECT_EQ(LastEvent().consent_exempt_classes_size(), 0);
  EXPECT_TRUE(LastEvent().consent_exemption_basis().empty());
}

}  // namespace
}  // namespace datarun::resolver
