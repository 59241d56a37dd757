// The policy matrix: for each rule, a request it allows and one it denies.
#include "exchange/policy/policy.h"

#include <algorithm>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/civil_time.h"
#include "exchange/policy/rules.h"
#include "exchange/policy/testing/fixture.h"
#include "gtest/gtest.h"
#include "proto/datarun/v1/departments/public_security.pb.h"

namespace datarun::policy {
namespace {

using datarun::v1::QueryRequest;
using datarun::v1::Record;
using testing::CitizenId;
using testing::ConsentRecord;
using testing::DelegationRecord;

constexpr char kOverlay[] =
    "exchange/catalog/testdata/policy_matters.textproto";

const absl::Time kNow = absl::FromCivil(absl::CivilSecond(2026, 6, 1, 10, 0, 0),
                                        absl::UTCTimeZone());

class PolicyTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto f = testing::Fixture::Create(
        kOverlay,
        {"civil_affairs", "human_resources_social_security", "taxation"});
    ASSERT_TRUE(f.ok()) << f.status();
    fixture_ = f->release();
  }
  static void TearDownTestSuite() { delete fixture_; }

  const Policy& policy() { return fixture_->policy(); }
  const catalog::CatalogIndex& catalog() { return fixture_->catalog(); }

  QueryRequest Profile(const std::string& dept, const std::string& matter) {
    return fixture_->Request(dept, matter, datarun::v1::QUERY_KIND_PROFILE,
                             {CitizenId(1)}, kNow);
  }
  QueryRequest Verify(const std::string& matter, const std::string& predicate) {
    QueryRequest r =
        fixture_->Request("civil_affairs", matter,
                          datarun::v1::QUERY_KIND_VERIFY, {CitizenId(1)}, kNow);
    r.set_predicate_id(predicate);
    fixture_->Sign(&r);
    return r;
  }
  void Resign(QueryRequest* r) { fixture_->Sign(r); }

  // CheckRequest then CheckSubject for the first subject.
  Decision Decide(const QueryRequest& r,
                  const std::vector<Record>& gating = {}) {
    RequestGrant g = policy().CheckRequest(r, kNow);
    if (!g.decision.allowed) return g.decision;
    return policy().CheckSubject(g, r, r.subjects(0), gating, kNow);
  }

  static testing::Fixture* fixture_;
};

testing::Fixture* PolicyTest::fixture_ = nullptr;

#define EXPECT_ALLOWED(d, agreement)                          \
  do {                                                        \
    Decision dd = (d);                                        \
    EXPECT_TRUE(dd.allowed) << dd.rule << ": " << dd.message; \
    EXPECT_EQ(dd.rule, agreement);                            \
  } while (0)
#define EXPECT_DENIED(d, r)              \
  do {                                   \
    Decision dd = (d);                   \
    EXPECT_FALSE(dd.allowed);            \
    EXPECT_EQ(dd.rule, r) << dd.message; \
    EXPECT_FALSE(dd.message.empty());    \
  } while (0)

TEST_F(PolicyTest, SignatureRequiredAndChecked) {
  QueryRequest r = Profile("civil_affairs", "test_open_matter");
  EXPECT_ALLOWED(Decide(r), "ag_open");

  QueryRequest unsigned_r = r;
  unsigned_r.clear_signature();
  EXPECT_DENIED(Decide(unsigned_r), kRuleUnsigned);
  unsigned_r.clear_key_id();
  EXPECT_DENIED(Decide(unsigned_r), kRuleUnsigned);

  QueryRequest tampered = r;
  tampered.set_matter("test_consent_matter");  // signed for another matter
  EXPECT_DENIED(Decide(tampered), kRuleBadSignature);

  QueryRequest other_key = r;
  other_key.set_key_id("civil_affairs-2020");
  EXPECT_DENIED(Decide(other_key), kRuleBadSignature);

  // Signed by taxation's key while claiming to be civil_affairs.
  QueryRequest impostor = r;
  impostor.set_requester_department("taxation");
  Resign(&impostor);
  impostor.set_requester_department("civil_affairs");
  impostor.set_key_id("civil_affairs-test");
  EXPECT_DENIED(Decide(impostor), kRuleBadSignature);
}

TEST_F(PolicyTest, TransportAuthenticatedModeSkipsOnlyTheSignature) {
  PolicyOptions o;
  o.verify_signatures = false;
  auto lax = Policy::Create(catalog(), fixture_->keyring(), o);
  ASSERT_TRUE(lax.ok()) << lax.status();
  QueryRequest r = Profile("civil_affairs", "test_open_matter");
  r.clear_signature();
  r.clear_key_id();
  RequestGrant g = (*lax)->CheckRequest(r, kNow);
  EXPECT_TRUE(g.decision.allowed) << g.decision.message;
  // Every other rule still applies.
  r.set_requester_department("taxation");
  g = (*lax)->CheckRequest(r, kNow);
  EXPECT_EQ(g.decision.rule, kRuleNoAgreement);
}

TEST_F(PolicyTest, RequestTimeMustBeFresh) {
  QueryRequest r = Profile("civil_affairs", "test_open_matter");
  *r.mutable_requested_at() = testing::Ts(kNow - absl::Minutes(4));
  Resign(&r);
  EXPECT_ALLOWED(Decide(r), "ag_open");
  *r.mutable_requested_at() = testing::Ts(kNow - absl::Minutes(6));
  Resign(&r);
  EXPECT_DENIED(Decide(r), kRuleStaleRequest);
  *r.mutable_requested_at() = testing::Ts(kNow + absl::Hours(1));
  Resign(&r);
  EXPECT_DENIED(Decide(r), kRuleStaleRequest);
}

TEST_F(PolicyTest, UnknownRequesterAndMatter) {
  QueryRequest r = Profile("civil_affairs", "test_open_matter");
  r.set_requester_department("ministry_of_magic");
  EXPECT_DENIED(Decide(r), kRuleUnknownRequester);
  r = Profile("civil_affairs", "no_such_matter");
  EXPECT_DENIED(Decide(r), kRuleUnknownMatter);
}

TEST_F(PolicyTest, SubjectsMustBeValidIds) {
  QueryRequest r = Profile("civil_affairs", "test_open_matter");
  r.mutable_subjects(0)->set_id("330106198001010010");  // wrong check digit
  Resign(&r);
  Decision d = Decide(r);
  EXPECT_DENIED(d, kRuleBadSubject);
  EXPECT_NE(d.message.find("subjects[0]"), std::string::npos) << d.message;
  r.clear_subjects();
  Resign(&r);
  EXPECT_DENIED(Decide(r), kRuleBadSubject);
}

TEST_F(PolicyTest, NoAgreementDeniedByDefault) {
  EXPECT_ALLOWED(Decide(Profile("civil_affairs", "test_open_matter")),
                 "ag_open");
  // taxation is a department with a key but no agreement for the matter.
  EXPECT_DENIED(Decide(Profile("taxation", "test_open_matter")),
                kRuleNoAgreement);
}

TEST_F(PolicyTest, AgreementMustBeLiveAtRequestTime) {
  EXPECT_DENIED(Decide(Profile("civil_affairs", "test_expired_matter")),
                kRuleAgreementNotLive);
  // The same agreement was live in 2022 (request and clock both then).
  const absl::Time then =
      absl::FromCivil(absl::CivilDay(2022, 5, 1), absl::UTCTimeZone());
  QueryRequest r =
      fixture_->Request("civil_affairs", "test_expired_matter",
                        datarun::v1::QUERY_KIND_PROFILE, {CitizenId(1)}, then);
  RequestGrant g = policy().CheckRequest(r, then);
  EXPECT_TRUE(g.decision.allowed) << g.decision.message;
  EXPECT_EQ(g.decision.rule, "ag_expired");
}

TEST_F(PolicyTest, IdentityAssurance) {
  QueryRequest r = Profile("civil_affairs", "test_face_matter");
  EXPECT_DENIED(Decide(r), kRuleAssuranceTooLow);  // CARD < FACE
  r.set_identity_assurance(datarun::v1::IDENTITY_ASSURANCE_FACE);
  Resign(&r);
  EXPECT_ALLOWED(Decide(r), "ag_face");
  r = Profile("civil_affairs", "test_open_matter");  // needs CARD
  r.set_identity_assurance(datarun::v1::IDENTITY_ASSURANCE_NONE);
  Resign(&r);
  EXPECT_DENIED(Decide(r), kRuleAssuranceTooLow);
}

TEST_F(PolicyTest, ProxyNeedsMatterThatAllowsIt) {
  const std::string agent = CitizenId(900);
  QueryRequest r = Profile("civil_affairs", "test_no_proxy_matter");
  EXPECT_ALLOWED(Decide(r), "ag_no_proxy");
  r.mutable_on_behalf_of()->set_id(agent);
  Resign(&r);
  std::vector<Record> gating = {DelegationRecord(
      catalog(), CitizenId(1), "d1", agent, "test_no_proxy_matter",
      kNow - absl::Hours(24), kNow + absl::Hours(24))};
  EXPECT_DENIED(Decide(r, gating), kRuleProxyNotAllowed);
}

TEST_F(PolicyTest, ProxyNeedsLiveDelegation) {
  const std::string agent = CitizenId(900);
  const std::string matter = "test_open_matter";
  QueryRequest r = Profile("civil_affairs", matter);
  r.mutable_on_behalf_of()->set_id(agent);
  Resign(&r);
  const absl::Time from = kNow - absl::Hours(24),
                   until = kNow + absl::Hours(24);
  const std::string subject = CitizenId(1);
  EXPECT_ALLOWED(Decide(r, {DelegationRecord(catalog(), subject, "d1", agent,
                                             matter, from, until)}),
                 "ag_open");
  EXPECT_DENIED(Decide(r, {}), kRuleDelegationMissing);
  EXPECT_DENIED(Decide(r, {DelegationRecord(catalog(), subject, "d1", agent,
                                            matter, from, until,
                                            /*revoked=*/true)}),
                kRuleDelegationMissing);
  EXPECT_DENIED(
      Decide(r, {DelegationRecord(catalog(), subject, "d1", CitizenId(901),
                                  matter, from, until)}),
      kRuleDelegationMissing);
  EXPECT_DENIED(
      Decide(r, {DelegationRecord(catalog(), subject, "d1", agent,
                                  "test_consent_matter", from, until)}),
      kRuleDelegationMissing);
  EXPECT_DENIED(Decide(r, {DelegationRecord(catalog(), subject, "d1", agent,
                                            matter, kNow - absl::Hours(48),
                                            kNow - absl::Hours(1))}),
                kRuleDelegationMissing);
  // A bad agent id is a bad subject, before any state is read.
  r.mutable_on_behalf_of()->set_id("not-an-id");
  Resign(&r);
  EXPECT_DENIED(Decide(r), kRuleBadSubject);
}

TEST_F(PolicyTest, ConsentRequiredClassNeedsLiveConsent) {
  const std::string matter = "test_consent_matter";
  const std::string s = CitizenId(1);
  const absl::Time from = kNow - absl::Hours(24),
                   until = kNow + absl::Hours(24);
  QueryRequest r = Profile("civil_affairs", matter);
  RequestGrant g = policy().CheckRequest(r, kNow);
  ASSERT_TRUE(g.decision.allowed);
  EXPECT_EQ(g.consent_classes,
            std::vector<std::string>{"low_income_assistance"});

  EXPECT_ALLOWED(Decide(r, {ConsentRecord(catalog(), s, "c1", "civil_affairs",
                                          matter, from, until)}),
                 "ag_consent");
  EXPECT_ALLOWED(
      Decide(r, {ConsentRecord(catalog(), s, "c1", "civil_affairs", matter,
                               from, until, {"low_income_assistance"})}),
      "ag_consent");
  EXPECT_DENIED(Decide(r, {}), kRuleConsentMissing);
  EXPECT_DENIED(Decide(r, {ConsentRecord(catalog(), s, "c1", "civil_affairs",
                                         matter, from, until, {}, true)}),
                kRuleConsentMissing);  // revoked
  EXPECT_DENIED(Decide(r, {ConsentRecord(catalog(), s, "c1", "civil_affairs",
                                         matter, from - absl::Hours(48),
                                         kNow - absl::Seconds(1))}),
                kRuleConsentMissing);  // expired
  EXPECT_DENIED(Decide(r, {ConsentRecord(catalog(), s, "c1", "taxation", matter,
                                         from, until)}),
                kRuleConsentMissing);  // other department
  EXPECT_DENIED(
      Decide(r, {ConsentRecord(catalog(), s, "c1", "civil_affairs", matter,
                               from, until, {"household_registration"})}),
      kRuleConsentMissing);  // does not cover the class
  // A named consent reference must be the one used.
  r.set_consent_reference("c2");
  Resign(&r);
  EXPECT_DENIED(Decide(r, {ConsentRecord(catalog(), s, "c1", "civil_affairs",
                                         matter, from, until)}),
                kRuleConsentMissing);
  EXPECT_ALLOWED(Decide(r, {ConsentRecord(catalog(), s, "c2", "civil_affairs",
                                          matter, from, until)}),
                 "ag_consent");
}

TEST_F(PolicyTest, ConsentRequiredAgreement) {
  const std::string matter = "test_agreement_consent_matter";
  QueryRequest r = Profile("human_resources_social_security", matter);
  EXPECT_DENIED(Decide(r), kRuleConsentMissing);
  EXPECT_ALLOWED(
      Decide(r, {ConsentRecord(catalog(), CitizenId(1), "c9",
                               "human_resources_social_security", matter,
                               kNow - absl::Hours(1), kNow + absl::Hours(1))}),
      "ag_agreement_consent");
  // The open matter's agreement and classes need no consent at all.
  EXPECT_ALLOWED(Decide(Profile("civil_affairs", "test_open_matter")),
                 "ag_open");
}

TEST_F(PolicyTest, VerifyPredicateMustExistAndBeCovered) {
  EXPECT_ALLOWED(Decide(Verify("test_open_matter", "no_criminal_record")),
                 "ag_open");
  EXPECT_DENIED(Decide(Verify("test_open_matter", "no_such_predicate")),
                kRuleUnknownPredicate);
  // real_estate_title is a class of the matter, not of agreement ag_open.
  EXPECT_DENIED(Decide(Verify("test_open_matter", "owns_real_estate")),
                kRulePredicateNotCovered);
}

TEST_F(PolicyTest, VerifyParameters) {
  QueryRequest r = Verify("test_open_matter", "is_kin_of");
  EXPECT_DENIED(Decide(r), kRuleBadParameter);  // other_subject_id required
  (*r.mutable_parameters())["other_subject_id"] = CitizenId(2);
  Resign(&r);
  EXPECT_ALLOWED(Decide(r), "ag_open");
  (*r.mutable_parameters())["colour"] = "blue";
  Resign(&r);
  EXPECT_DENIED(Decide(r), kRuleBadParameter);
}

TEST_F(PolicyTest, VerificationOnlyAgreementDisclosesNothing) {
  EXPECT_DENIED(Decide(Profile("civil_affairs", "test_verify_only_matter")),
                kRuleNothingCovered);
  EXPECT_ALLOWED(
      Decide(Verify("test_verify_only_matter", "no_criminal_record")),
      "ag_verify_only");
}

TEST_F(PolicyTest, UnsupportedKinds) {
  // USAGE is answered from the audit trail, not by the resolver.
  QueryRequest r = Profile("civil_affairs", "test_open_matter");
  r.set_kind(datarun::v1::QUERY_KIND_USAGE);
  Resign(&r);
  EXPECT_DENIED(Decide(r), kRuleUnsupportedKind);
  r.set_kind(datarun::v1::QUERY_KIND_PROFILE);
  Resign(&r);
  EXPECT_ALLOWED(Decide(r), "ag_open");
}

TEST_F(PolicyTest, AgreementMaskKeepsOnlyCoveredFieldsFieldByField) {
  RequestGrant g =
      policy().CheckRequest(Profile("civil_affairs", "test_open_matter"), kNow);
  ASSERT_TRUE(g.decision.allowed);
  const ClassGrant& hr = g.plan->classes.at("household_registration");
  datarun::v1::departments::HouseholdRegistration h;
  h.set_household_number("330106-0001");
  h.mutable_address()->set_region_code("330106");
  h.mutable_address()->set_detail("文三路 1 号");
  h.mutable_head()->set_id(CitizenId(3));
  h.set_relation_to_head(datarun::v1::departments::RELATION_TO_HEAD_CHILD);
  h.set_name("张三");
  h.set_gender(datarun::v1::departments::GENDER_MALE);
  h.set_ethnicity_code("01");
  h.mutable_birth_date()->set_year(1980);
  h.set_hukou_type(datarun::v1::departments::HUKOU_TYPE_RESIDENT);
  h.mutable_registered_since()->set_year(2000);
  h.set_police_station("西湖派出所");
  h.set_active(true);
  hr.mask.Apply(&h);
  // Covered: name, address (whole), relation_to_head.
  EXPECT_EQ(h.name(), "张三");
  EXPECT_EQ(h.address().region_code(), "330106");
  EXPECT_EQ(h.address().detail(), "文三路 1 号");
  EXPECT_EQ(h.relation_to_head(),
            datarun::v1::departments::RELATION_TO_HEAD_CHILD);
  // Everything else cleared.
  EXPECT_TRUE(h.household_number().empty());
  EXPECT_FALSE(h.has_head());
  EXPECT_EQ(h.gender(), datarun::v1::departments::GENDER_UNSPECIFIED);
  EXPECT_TRUE(h.ethnicity_code().empty());
  EXPECT_FALSE(h.has_birth_date());
  EXPECT_EQ(h.hukou_type(), datarun::v1::departments::HUKOU_TYPE_UNSPECIFIED);
  EXPECT_FALSE(h.has_registered_since());
  EXPECT_TRUE(h.police_station().empty());
  EXPECT_FALSE(h.active());
  // Verification-only classes disclose nothing.
  EXPECT_TRUE(g.plan->classes.at("criminal_record_status").mask.empty());
  EXPECT_FALSE(g.plan->profile_read.contains("criminal_record_status"));
  EXPECT_TRUE(g.plan->profile_read.contains("vehicle_registration"));
}

// Certificates and dossiers, on the shipped catalog's own matters: the
// court filing agreement (dossiers, statutory consent exemption for real
// estate), the real-estate transfer agreement (consent for real estate) and
// the retirement pension claim (social insurance certificate).
class DocumentPolicyTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto f = testing::Fixture::Create(
        testing::kShippedMatters,
        {"courts", "natural_resources", "human_resources_social_security",
         "civil_affairs"});
    ASSERT_TRUE(f.ok()) << f.status();
    fixture_ = f->release();
  }
  static void TearDownTestSuite() { delete fixture_; }

  // Face-checked (several of these matters require it), signed.
  QueryRequest Request(const std::string& dept, const std::string& matter,
                       datarun::v1::QueryKind kind,
                       const std::vector<std::string>& subjects = {
                           CitizenId(1)}) {
    QueryRequest r = fixture_->Request(dept, matter, kind, subjects, kNow);
    r.set_identity_assurance(datarun::v1::IDENTITY_ASSURANCE_FACE);
    fixture_->Sign(&r);
    return r;
  }
  QueryRequest Certificate(const std::string& dept, const std::string& matter,
                           const std::string& template_id) {
    QueryRequest r = Request(dept, matter, datarun::v1::QUERY_KIND_CERTIFICATE);
    r.set_template_id(template_id);
    fixture_->Sign(&r);
    return r;
  }
  QueryRequest Dossier(const std::string& dept, const std::string& matter) {
    return Request(dept, matter, datarun::v1::QUERY_KIND_DOSSIER);
  }
  Decision Decide(const QueryRequest& r,
                  const std::vector<Record>& gating = {}) {
    RequestGrant g = fixture_->policy().CheckRequest(r, kNow);
    if (!g.decision.allowed) return g.decision;
    return fixture_->policy().CheckSubject(g, r, r.subjects(0), gating, kNow);
  }
  Record Consent(const std::string& grantee, const std::string& matter) {
    return ConsentRecord(fixture_->catalog(), CitizenId(1), "consent-1",
                         grantee, matter, kNow - absl::Hours(1),
                         kNow + absl::Hours(24));
  }

  static testing::Fixture* fixture_;
};

testing::Fixture* DocumentPolicyTest::fixture_ = nullptr;

TEST_F(DocumentPolicyTest, CertificateTemplateMustExistAndBeFullyCovered) {
  EXPECT_ALLOWED(
      Decide(Certificate("courts", "court_case_filing", "entity_roles")),
      "ag_court_case_filing");
  EXPECT_DENIED(Decide(Certificate("courts", "court_case_filing", "")),
                kRuleUnknownTemplate);
  EXPECT_DENIED(
      Decide(Certificate("courts", "court_case_filing", "birth_certificate")),
      kRuleUnknownTemplate);
  // The court sees name, gender, birth date and address, not the household
  // number the resident certificate shows.
  Decision d = Decide(
      Certificate("courts", "court_case_filing", "resident_population_info"));
  EXPECT_DENIED(d, kRuleTemplateNotCovered);
  EXPECT_NE(d.message.find("household_registration.household_number"),
            std::string::npos)
      << d.message;
  // An agreement for another matter of the same department covers nothing
  // of it.
  EXPECT_DENIED(Decide(Certificate("human_resources_social_security",
                                   "retirement_pension_claim", "entity_roles")),
                kRuleTemplateNotCovered);
  EXPECT_ALLOWED(Decide(Certificate("human_resources_social_security",
                                    "retirement_pension_claim",
                                    "social_insurance_contribution")),
                 "ag_retirement_pension_claim");
  // No agreement at all for the matter.
  EXPECT_DENIED(
      Decide(Certificate("civil_affairs", "court_case_filing", "entity_roles")),
      kRuleNoAgreement);
}

TEST_F(DocumentPolicyTest, CertificateOfConsentClassNeedsConsent) {
  QueryRequest r =
      Certificate("natural_resources", "real_estate_transfer_registration",
                  "real_estate_ownership");
  RequestGrant g = fixture_->policy().CheckRequest(r, kNow);
  ASSERT_TRUE(g.decision.allowed) << g.decision.message;
  EXPECT_EQ(g.consent_classes, std::vector<std::string>{"real_estate_title"});
  EXPECT_EQ(g.consent_exempted, nullptr);
  EXPECT_DENIED(Decide(r), kRuleConsentMissing);
  EXPECT_ALLOWED(Decide(r, {Consent("natural_resources",
                                    "real_estate_transfer_registration")}),
                 "ag_real_estate_transfer_registration");
}

TEST_F(DocumentPolicyTest, StatutoryExemptionOnlyWhereTheAgreementNamesIt) {
  // The court's agreement names 《民事诉讼法》 and exempts real estate: the
  // same certificate needs no consent there, and the grant says why.
  QueryRequest r =
      Certificate("courts", "court_case_filing", "real_estate_ownership");
  RequestGrant g = fixture_->policy().CheckRequest(r, kNow);
  ASSERT_TRUE(g.decision.allowed) << g.decision.message;
  EXPECT_TRUE(g.consent_classes.empty());
  ASSERT_NE(g.consent_exempted, nullptr);
  EXPECT_EQ(*g.consent_exempted, std::vector<std::string>{"real_estate_title"});
  EXPECT_ALLOWED(Decide(r), "ag_court_case_filing");
  // Its profile and dossier too.
  for (auto kind :
       {datarun::v1::QUERY_KIND_PROFILE, datarun::v1::QUERY_KIND_DOSSIER}) {
    QueryRequest p = Request("courts", "court_case_filing", kind);
    g = fixture_->policy().CheckRequest(p, kNow);
    ASSERT_TRUE(g.decision.allowed) << g.decision.message;
    EXPECT_TRUE(g.consent_classes.empty());
    ASSERT_NE(g.consent_exempted, nullptr);
    EXPECT_EQ(*g.consent_exempted,
              std::vector<std::string>{"real_estate_title"});
    EXPECT_ALLOWED(Decide(p), "ag_court_case_filing");
  }
  // Low-income assistance also discloses real estate, under no statute that
  // overrides consent: consent stays required.
  QueryRequest li =
      Request("civil_affairs", "low_income_assistance_application",
              datarun::v1::QUERY_KIND_PROFILE);
  g = fixture_->policy().CheckRequest(li, kNow);
  ASSERT_TRUE(g.decision.allowed) << g.decision.message;
  EXPECT_EQ(g.consent_exempted, nullptr);
  EXPECT_DENIED(Decide(li), kRuleConsentMissing);
}

TEST_F(DocumentPolicyTest, DossierOnlyUnderAnAgreementThatAllowsIt) {
  RequestGrant g = fixture_->policy().CheckRequest(
      Dossier("courts", "court_case_filing"), kNow);
  ASSERT_TRUE(g.decision.allowed) << g.decision.message;
  ASSERT_NE(g.dossier_classes, nullptr);
  EXPECT_EQ(
      *g.dossier_classes,
      (std::vector<std::string>{"household_registration", "resident_population",
                                "vehicle_registration", "real_estate_title",
                                "entity_role_holding"}));
  Decision d =
      Decide(Dossier("natural_resources", "real_estate_transfer_registration"));
  EXPECT_DENIED(d, kRuleDossierNotAllowed);
  EXPECT_NE(d.message.find("ag_real_estate_transfer_registration"),
            std::string::npos);
  EXPECT_DENIED(Decide(Dossier("civil_affairs", "court_case_filing")),
                kRuleNoAgreement);
}

TEST_F(DocumentPolicyTest, DocumentsAreAboutExactlyOneSubject) {
  QueryRequest r =
      Request("courts", "court_case_filing", datarun::v1::QUERY_KIND_DOSSIER,
              {CitizenId(1), CitizenId(2)});
  EXPECT_DENIED(Decide(r), kRuleBadSubject);
  r = Certificate("courts", "court_case_filing", "entity_roles");
  r.add_subjects()->set_id(CitizenId(2));
  r.mutable_subjects(1)->set_kind(datarun::v1::SUBJECT_KIND_CITIZEN);
  fixture_->Sign(&r);
  EXPECT_DENIED(Decide(r), kRuleBadSubject);
}

TEST_F(DocumentPolicyTest, ShippedAgreementsAndTheCertificatesTheyCover) {
  // The list docs/policy.md gives: every (agreement, template) pair of the
  // shipped catalog whose template the agreement fully covers. Signatures
  // off: only the coverage rule is asked about here.
  PolicyOptions o;
  o.verify_signatures = false;
  auto p = Policy::Create(fixture_->catalog(), fixture_->keyring(), o);
  ASSERT_TRUE(p.ok()) << p.status();
  std::vector<std::string> covered;
  const auto& c = fixture_->catalog().catalog();
  for (const auto& a : c.sharing_agreements()) {
    for (const auto& t : c.certificate_templates()) {
      QueryRequest r = Request(a.consumer_department(), a.matter(),
                               datarun::v1::QUERY_KIND_CERTIFICATE);
      r.set_template_id(t.id());
      RequestGrant g = (*p)->CheckRequest(r, kNow);
      if (g.decision.allowed) {
        covered.push_back(absl::StrCat(a.id(), ":", t.id()));
      } else {
        EXPECT_EQ(g.decision.rule, kRuleTemplateNotCovered)
            << a.id() << " " << t.id() << ": " << g.decision.message;
      }
    }
  }
  std::sort(covered.begin(), covered.end());
  EXPECT_EQ(covered,
            (std::vector<std::string>{
                "ag_court_case_filing:entity_roles",
                "ag_court_case_filing:real_estate_ownership",
                "ag_disability_certificate_application:disability",
                "ag_real_estate_transfer_registration:real_estate_ownership",
                "ag_retirement_pension_claim:social_insurance_contribution"}));
}

TEST(PolicyCreate, RejectsAgreementWithUnknownField) {
  // CatalogIndex validation already refuses this; Policy::Create repeats
  // the check for catalogs built in code.
  auto f = testing::Fixture::Create(kOverlay, {});
  ASSERT_TRUE(f.ok()) << f.status();
  seal::SealKeyring keyring;
  datarun::v1::Catalog c = (*f)->catalog().catalog();
  c.mutable_sharing_agreements(0)->mutable_classes(0)->add_fields("shoe_size");
  auto index = catalog::CatalogIndex::Create(c);
  EXPECT_FALSE(index.ok());
}

}  // namespace
}  // namespace datarun::policy
