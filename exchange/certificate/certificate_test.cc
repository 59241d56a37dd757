// Issue + verify round trips with SM2 and Ed25519 seals from the key store,
// every tamper failing with its reason, JSON round trips, and stock openssl
// checking exported certificates.
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "exchange/catalog/catalog.h"
#include "exchange/certificate/document_io.h"
#include "exchange/certificate/issuer.h"
#include "exchange/certificate/openssl_export.h"
#include "exchange/certificate/revocation_list.h"
#include "exchange/certificate/signer_set.h"
#include "exchange/certificate/testing/test_env.h"
#include "exchange/certificate/verify.h"
#include "exchange/seal/document_seal.h"
#include "exchange/seal/key_store.h"
#include "gtest/gtest.h"
#include "proto/datarun/v1/departments/natural_resources.pb.h"
#include "proto/datarun/v1/departments/public_security.pb.h"

namespace datarun::certificate {
namespace {

using ::datarun::certificate::testing::CertEnv;
using ::datarun::certificate::testing::KeySpec;
using ::datarun::certificate::testing::MakeRecord;
namespace dept = ::datarun::v1::departments;

constexpr char kCitizen[] = "330106199003071234";

absl::Time Day(int y, int m, int d) {
  return absl::FromCivil(absl::CivilDay(y, m, d), absl::UTCTimeZone());
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

class CertificateTest : public ::testing::TestWithParam<seal::SealAlgorithm> {
 protected:
  void SetUp() override {
    // public_security's key is valid through 2026; natural_resources' has
    // no end. The test algorithm seals everything.
    auto env = CertEnv::Create({
        {"public_security", "ps-2026", GetParam(), Day(2026, 1, 1),
         Day(2027, 1, 1)},
        {"natural_resources", "nr-1", GetParam(), Day(2026, 1, 1),
         absl::InfiniteFuture()},
    });
    ASSERT_TRUE(env.ok()) << env.status();
    env_ = *std::move(env);
    issuer_ =
        std::make_unique<CertificateIssuer>(env_->index(), env_->signers());

    dept::HouseholdRegistration hr;
    hr.set_household_number("330106012345");
    hr.mutable_address()->set_province("浙江省");
    hr.mutable_address()->set_city("杭州市");
    hr.mutable_address()->set_district("西湖区");
    hr.mutable_address()->set_detail("文三路90号");
    hr.set_name("张三");
    hr.set_gender(dept::GENDER_MALE);
    hr.mutable_birth_date()->set_year(1990);
    hr.mutable_birth_date()->set_month(3);
    hr.mutable_birth_date()->set_day(7);
    hr.set_police_station("西湖派出所");
    hr.set_active(true);
    dept::ResidentPopulation rp;
    rp.mutable_residence_address()->set_city("杭州市");
    rp.mutable_residence_address()->set_detail("滨江区江南大道1号");
    rp.set_status(dept::RESIDENCE_STATUS_PERMIT_HOLDER);
    records_ = {
        MakeRecord(env_->catalog(), kCitizen, "household_registration", "", 3,
                   hr),
        MakeRecord(env_->catalog(), kCitizen, "resident_population", "", 5, rp),
    };
    subject_.set_kind(v1::SUBJECT_KIND_CITIZEN);
    subject_.set_id(kCitizen);
  }

  v1::Certificate IssueResident(absl::Time at) {
    auto cert =
        issuer_->Issue("resident_population_info", subject_, records_, at);
    EXPECT_TRUE(cert.ok()) << cert.status();
    return cert.ok() ? *cert : v1::Certificate();
  }

  Verification Check(const v1::Certificate& cert, absl::Time now,
                     const RevocationList* revocations = nullptr) {
    VerifyOptions options;
    options.keyring = &env_->keyring();
    options.catalog = &env_->catalog();
    options.revocations = revocations;
    options.now = now;
    return VerifyCertificate(cert, options);
  }

  std::unique_ptr<CertEnv> env_;
  std::unique_ptr<CertificateIssuer> issuer_;
  std::vector<v1::Record> records_;
  v1::Subject subject_;
};

TEST_P(CertificateTest, IssuedCertificateHasContentTextAndVerifies) {
  const absl::Time at =
      Day(2026, 11, 26) + absl::Hours(8) + absl::Milliseconds(321);
  v1::Certificate cert = IssueResident(at);
  EXPECT_TRUE(
      absl::StartsWith(cert.serial(), "public_security-20261126080000-"))
      << cert.serial();
  EXPECT_EQ(cert.serial().size(),
            std::string("public_security-20261126080000-").size() + 16);
  EXPECT_EQ(cert.issuer_department(), "public_security");
  EXPECT_EQ(cert.issued_at().seconds(), absl::ToUnixSeconds(at));
  EXPECT_EQ(cert.expires_at().seconds() - cert.issued_at().seconds(),
            90 * 24 * 3600);
  EXPECT_EQ(cert.seal().department(), "public_security");
  EXPECT_EQ(cert.seal().key_id(), "ps-2026");
  EXPECT_EQ(cert.sources_size(), 2);
  EXPECT_EQ(cert.sources(0).source_version(), 3u);
  EXPECT_EQ(cert.sources(1).data_class(), "resident_population");

  const std::string& text = cert.rendered_text();
  EXPECT_NE(
      text.find(
          "兹证明张三（公民身份号码：330106199003071234），性别：男，"
          "出生日期：1990年3月7日。户籍地址：浙江省杭州市西湖区文三路90号"),
      std::string::npos)
      << text;
  EXPECT_NE(text.find("居住登记状态：居住证"), std::string::npos) << text;
  EXPECT_EQ(text.find('{'), std::string::npos) << text;
  ASSERT_GE(cert.content_size(), 1);
  EXPECT_EQ(cert.content(0).key(), "household_registration.name");
  EXPECT_EQ(cert.content(0).value(), "张三");

  Verification v = Check(cert, at + absl::Hours(24));
  EXPECT_TRUE(v.valid()) << VerdictName(v.verdict) << ": " << v.reason;
  // Two certificates never share a serial.
  EXPECT_NE(IssueResident(at).serial(), cert.serial());
}

TEST_P(CertificateTest, EveryTamperFailsWithItsReason) {
  const absl::Time at = Day(2026, 11, 26);
  const absl::Time now = at + absl::Hours(1);
  const v1::Certificate good = IssueResident(at);
  ASSERT_TRUE(Check(good, now).valid());

  {  // One byte of the rendered text.
    v1::Certificate c = good;
    c.mutable_rendered_text()->back() ^= 0x01;
    EXPECT_EQ(Check(c, now).verdict, Verdict::kTampered);
  }
  {  // One byte of the structured content.
    v1::Certificate c = good;
    (*c.mutable_content(0)->mutable_value())[0] ^= 0x01;
    Verification v = Check(c, now);
    EXPECT_EQ(v.verdict, Verdict::kTampered) << v.reason;
  }
  {  // A later expiry.
    v1::Certificate c = good;
    c.mutable_expires_at()->set_seconds(c.expires_at().seconds() + 86400);
    EXPECT_EQ(Check(c, now).verdict, Verdict::kTampered);
  }
  {  // One byte of the signature.
    v1::Certificate c = good;
    (*c.mutable_seal()->mutable_signature())[10] ^= 0x40;
    EXPECT_EQ(Check(c, now).verdict, Verdict::kTampered);
  }
  {  // Sealed by another key under the catalog's key id (wrong key).
    seal::KeyStore rogue(testing::TempDir("rogue"));
    ASSERT_TRUE(rogue.Generate("public_security", "ps-2026", GetParam()).ok());
    auto other = rogue.LoadSigner("public_security", "ps-2026");
    ASSERT_TRUE(other.ok());
    v1::Certificate c = good;
    ASSERT_TRUE(
        seal::SealDocument(**other, at, seal::kPurposeCertificate, &c).ok());
    Verification v = Check(c, now);
    EXPECT_EQ(v.verdict, Verdict::kTampered) << v.reason;
  }
  {  // A key id the catalog does not list.
    seal::KeyStore rogue(testing::TempDir("rogue"));
    ASSERT_TRUE(rogue.Generate("public_security", "ps-rogue", GetParam()).ok());
    auto other = rogue.LoadSigner("public_security", "ps-rogue");
    ASSERT_TRUE(other.ok());
    v1::Certificate c = good;
    ASSERT_TRUE(
        seal::SealDocument(**other, at, seal::kPurposeCertificate, &c).ok());
    Verification v = Check(c, now);
    EXPECT_EQ(v.verdict, Verdict::kUnknownKey) << v.reason;
  }
  {  // Another department's genuine seal on a public_security certificate.
    const seal::Signer* nr = env_->signers().Find("natural_resources");
    v1::Certificate c = good;
    ASSERT_TRUE(
        seal::SealDocument(*nr, at, seal::kPurposeCertificate, &c).ok());
    EXPECT_EQ(Check(c, now).verdict, Verdict::kWrongIssuer);
    c.set_issuer_department("natural_resources");  // and the template check
    ASSERT_TRUE(
        seal::SealDocument(*nr, at, seal::kPurposeCertificate, &c).ok());
    EXPECT_EQ(Check(c, now).verdict, Verdict::kWrongIssuer);
  }
  {  // Unsealed.
    v1::Certificate c = good;
    c.clear_seal();
    EXPECT_EQ(Check(c, now).verdict, Verdict::kMalformed);
  }
}

TEST_P(CertificateTest, KeyExpiredAtIssueTimeFails) {
  // ps-2026 is valid until 2027-01-01: a certificate sealed after that is
  // refused even though the signature itself is good.
  v1::Certificate cert = IssueResident(Day(2027, 2, 1));
  Verification v = Check(cert, Day(2027, 2, 2));
  EXPECT_EQ(v.verdict, Verdict::kKeyNotValid) << v.reason;
  // One sealed while the key was valid still verifies after it expired.
  v1::Certificate old = IssueResident(Day(2026, 12, 31));
  EXPECT_TRUE(Check(old, Day(2027, 2, 2)).valid());
}

TEST_P(CertificateTest, ExpiredCertificateFails) {
  v1::Certificate cert = IssueResident(Day(2026, 11, 26));
  absl::Time expires = absl::FromUnixSeconds(cert.expires_at().seconds());
  EXPECT_TRUE(Check(cert, expires - absl::Seconds(1)).valid());
  Verification v = Check(cert, expires);
  EXPECT_EQ(v.verdict, Verdict::kExpired);
  EXPECT_NE(v.reason.find("expired at 2027-02-24T00:00:00Z"), std::string::npos)
      << v.reason;
}

TEST_P(CertificateTest, RevokedOnlyByItsIssuer) {
  v1::Certificate cert = IssueResident(Day(2026, 11, 26));
  const absl::Time now = Day(2026, 11, 27);
  InMemoryRevocationList list;
  v1::CertificateRevocation by_other;
  by_other.set_serial(cert.serial());
  by_other.set_issuer_department("civil_affairs");
  ASSERT_TRUE(list.Add(by_other).ok());
  EXPECT_TRUE(Check(cert, now, &list).valid());

  // Through the file format (JSON lines, the topic's values).
  std::string path = testing::TempDir("revocations") + "/revoked.jsonl";
  v1::CertificateRevocation revocation;
  revocation.set_serial(cert.serial());
  revocation.set_issuer_department("public_security");
  revocation.mutable_revoked_at()->set_seconds(absl::ToUnixSeconds(now));
  revocation.set_reason("信息有误");
  ASSERT_TRUE(AppendRevocationFile(path, by_other).ok());
  ASSERT_TRUE(AppendRevocationFile(path, revocation).ok());
  auto loaded = LoadRevocationFile(path);
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  Verification v = Check(cert, now, loaded->get());
  EXPECT_EQ(v.verdict, Verdict::kRevoked);
  EXPECT_NE(v.reason.find("信息有误"), std::string::npos) << v.reason;
}

TEST_P(CertificateTest, JsonAndBinaryRoundTripsKeepTheSealValid) {
  v1::Certificate cert = IssueResident(Day(2026, 11, 26));
  auto json = ToJson(cert);
  ASSERT_TRUE(json.ok());
  EXPECT_NE(json->find("\"rendered_text\""), std::string::npos);
  v1::Certificate back;
  ASSERT_TRUE(ParseDocument(*json, &back).ok());
  EXPECT_EQ(*seal::DocumentSignedBytes(back, seal::kPurposeCertificate),
            *seal::DocumentSignedBytes(cert, seal::kPurposeCertificate));
  EXPECT_TRUE(Check(back, Day(2026, 11, 27)).valid());

  std::string dir = testing::TempDir("files");
  ASSERT_TRUE(WriteDocumentFile(dir + "/c.json", cert).ok());
  ASSERT_TRUE(WriteDocumentFile(dir + "/c.pb", cert).ok());
  for (const char* name : {"/c.json", "/c.pb"}) {
    v1::Certificate read;
    ASSERT_TRUE(ReadDocumentFile(dir + name, &read).ok()) << name;
    EXPECT_TRUE(Check(read, Day(2026, 11, 27)).valid()) << name;
  }
  // A field the schema does not know is refused rather than dropped.
  std::string extra = *json;
  extra.insert(1, "\"bonus\": 1,");
  v1::Certificate refused;
  EXPECT_FALSE(ParseDocument(extra, &refused).ok());
}

TEST_P(CertificateTest, NoRecordRendersNone) {
  // real_estate_ownership with no real-estate record: the no-property case.
  auto cert = issuer_->Issue("real_estate_ownership", subject_, records_,
                             Day(2026, 11, 26));
  ASSERT_TRUE(cert.ok()) << cert.status();
  EXPECT_EQ(cert->issuer_department(), "natural_resources");
  EXPECT_EQ(cert->sources_size(), 0);
  EXPECT_NE(cert->rendered_text().find("不动产权证号：无；"), std::string::npos)
      << cert->rendered_text();

  dept::RealEstateTitle t1, t2;
  t1.set_title_number("浙(2020)杭州市不动产权第0001号");
  t1.set_floor_area_centi_sqm(8950);
  t1.set_share_bp(5000);
  t2.set_title_number("浙(2023)杭州市不动产权第0002号");
  t2.set_floor_area_centi_sqm(12000);
  t2.set_share_bp(10000);
  std::vector<v1::Record> with = records_;
  with.push_back(
      MakeRecord(env_->catalog(), kCitizen, "real_estate_title", "t1", 1, t1));
  with.push_back(
      MakeRecord(env_->catalog(), kCitizen, "real_estate_title", "t2", 1, t2));
  cert = issuer_->Issue("real_estate_ownership", subject_, with,
                        Day(2026, 11, 26));
  ASSERT_TRUE(cert.ok());
  EXPECT_EQ(cert->sources_size(), 2);
  EXPECT_NE(cert->rendered_text().find("建筑面积：89.50平方米；120.00平方米；"
                                       "权利份额：50.00%；100.00%"),
            std::string::npos)
      << cert->rendered_text();
}

TEST_P(CertificateTest, IssueErrors) {
  EXPECT_TRUE(absl::IsNotFound(
      issuer_->Issue("no_such", subject_, records_, Day(2026, 11, 26))
          .status()));
  // This exchange holds no housing_fund seal.
  EXPECT_TRUE(absl::IsFailedPrecondition(
      issuer_
          ->Issue("housing_fund_deposit", subject_, records_, Day(2026, 11, 26))
          .status()));
  v1::Subject other;
  other.set_id("330106198001011111");
  auto status = issuer_
                    ->Issue("resident_population_info", other, records_,
                            Day(2026, 11, 26))
                    .status();
  EXPECT_TRUE(absl::IsInvalidArgument(status));
  EXPECT_NE(status.message().find("not the certificate subject"),
            absl::string_view::npos);
}

// Every shipped template issues, fills every placeholder and verifies, and
// its issuer is the authoritative source of every class it draws on.
TEST(ShippedTemplatesTest, EveryTemplateIssuesAndVerifies) {
  auto loaded = catalog::LoadCatalog(testing::kShippedCatalog);
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  ASSERT_GE(loaded->certificate_templates_size(), 10);
  std::vector<KeySpec> keys;
  absl::flat_hash_set<std::string> issuers;
  for (const auto& t : loaded->certificate_templates()) {
    if (issuers.insert(t.issuer_department()).second) {
      keys.push_back(
          {t.issuer_department(), "k1", seal::SealAlgorithm::kEd25519});
    }
  }
  auto env = CertEnv::Create(keys);
  ASSERT_TRUE(env.ok()) << env.status();
  CertificateIssuer issuer((*env)->index(), (*env)->signers());
  VerifyOptions options;
  options.keyring = &(*env)->keyring();
  options.catalog = &(*env)->catalog();
  options.now = Day(2026, 11, 27);
  v1::Subject subject;
  subject.set_id(kCitizen);
  for (const auto& t : loaded->certificate_templates()) {
    for (const auto& source : t.sources()) {
      EXPECT_EQ((*env)
                    ->index()
                    .FindDataClass(source.data_class())
                    ->source_department(),
                t.issuer_department())
          << t.id() << " draws on " << source.data_class();
    }
    auto cert = issuer.Issue(t.id(), subject, {}, Day(2026, 11, 26));
    ASSERT_TRUE(cert.ok()) << t.id() << ": " << cert.status();
    EXPECT_EQ(cert->rendered_text().find('{'), std::string::npos)
        << cert->rendered_text();
    EXPECT_NE(cert->rendered_text().find(kCitizen), std::string::npos)
        << t.id();
    Verification v = VerifyCertificate(*cert, options);
    EXPECT_TRUE(v.valid()) << t.id() << ": " << v.reason;
  }
}

// The exchange's signers come from the keys directory, for the keys the
// catalog lists as valid now.
TEST(SignerSetTest, LoadCurrentSigners) {
  auto env = CertEnv::Create({
      {"public_security", "ps-old", seal::SealAlgorithm::kEd25519,
       Day(2025, 1, 1), Day(2026, 1, 1)},
      {"public_security", "ps-new", seal::SealAlgorithm::kSm2Sm3,
       Day(2026, 1, 1), absl::InfiniteFuture()},
      {"housing_fund", "hf-expired", seal::SealAlgorithm::kEd25519,
       Day(2025, 1, 1), Day(2026, 1, 1)},
  });
  ASSERT_TRUE(env.ok()) << env.status();
  // A catalog key whose private half this exchange does not hold.
  v1::Catalog catalog = (*env)->catalog();
  for (auto& d : *catalog.mutable_departments()) {
    if (d.id() == "civil_affairs") {
      *d.add_seal_keys() = (*env)->catalog().departments(0).seal_keys(0);
      d.mutable_seal_keys(0)->set_key_id("ca-elsewhere");
    }
  }
  auto set = LoadCurrentSigners(catalog, (*env)->key_store(), Day(2026, 6, 1));
  ASSERT_TRUE(set.ok()) << set.status();
  EXPECT_EQ(set->size(), 1u);
  ASSERT_NE(set->Find("public_security"), nullptr);
  EXPECT_EQ(set->Find("public_security")->key_id(), "ps-new");
  EXPECT_EQ(set->Find("housing_fund"), nullptr);
  EXPECT_EQ(set->Find("civil_affairs"), nullptr);
  // Back in 2025 the old key was the current one.
  set = LoadCurrentSigners(catalog, (*env)->key_store(), Day(2025, 6, 1));
  ASSERT_TRUE(set.ok());
  EXPECT_EQ(set->Find("public_security")->key_id(), "ps-old");
  EXPECT_NE(set->Find("housing_fund"), nullptr);
}

// Stock openssl verifies the exported bytes, signature and key.
TEST_P(CertificateTest, OpensslCliVerifiesExport) {
  v1::Certificate cert = IssueResident(Day(2026, 11, 26));
  std::string dir = testing::TempDir("export");
  ASSERT_TRUE(
      ExportForOpenssl(cert, seal::kPurposeCertificate, env_->catalog(), dir)
          .ok());
  EXPECT_TRUE(
      absl::StartsWith(ReadFile(dir + "/data.bin"),
                       std::string("datarun-seal-v1\0certificate\0", 28)));
  std::string cmd = absl::StrCat("PATH=/usr/bin:/bin sh ", dir, "/verify.sh > ",
                                 dir, "/out.txt 2>&1");
  EXPECT_EQ(std::system(cmd.c_str()), 0) << ReadFile(dir + "/out.txt");
  EXPECT_NE(ReadFile(dir + "/out.txt").find("Signature Verified Successfully"),
            std::string::npos);
  // One flipped byte of the signed bytes and openssl refuses.
  std::string data = ReadFile(dir + "/data.bin");
  data[data.size() - 3] ^= 0x01;
  std::ofstream(dir + "/data.bin", std::ios::binary | std::ios::trunc) << data;
  EXPECT_NE(std::system(cmd.c_str()), 0);
}

INSTANTIATE_TEST_SUITE_P(Algorithms, CertificateTest,
                         ::testing::Values(seal::SealAlgorithm::kSm2Sm3,
                                           seal::SealAlgorithm::kEd25519),
                         [](const auto& info) {
                           return std::string(seal::AlgorithmName(info.param));
                         });

}  // namespace
}  // namespace datarun::certificate
