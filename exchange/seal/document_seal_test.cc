#include "exchange/seal/document_seal.h"

#include <sys/wait.h>

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/civil_time.h"
#include "absl/time/time.h"
#include "exchange/seal/catalog_keys.h"
#include "exchange/seal/key_store.h"
#include "exchange/seal/keyring.h"
#include "google/protobuf/text_format.h"
#include "gtest/gtest.h"
#include "proto/datarun/v1/catalog.pb.h"
#include "proto/datarun/v1/certificate.pb.h"

namespace datarun::seal {
namespace {

absl::Time Day(int y, int m, int d) {
  return absl::FromCivil(absl::CivilDay(y, m, d), absl::UTCTimeZone());
}

std::string Tmp(const std::string& name) {
  const char* base = std::getenv("TEST_TMPDIR");
  return absl::StrCat(base ? base : "/tmp", "/", name);
}

void WriteFile(const std::string& path, const std::string& data) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << data;
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

v1::SealKey CatalogKey(const KeyStore& store, const std::string& dept,
                       const std::string& key_id, v1::SealAlgorithm algorithm,
                       absl::Time from, absl::Time until) {
  v1::SealKey key;
  key.set_key_id(key_id);
  key.set_algorithm(algorithm);
  key.set_public_key_pem(*store.ReadPublicPem(dept, key_id));
  key.mutable_valid_from()->set_seconds(absl::ToUnixSeconds(from));
  if (until != absl::InfiniteFuture()) {
    key.mutable_valid_until()->set_seconds(absl::ToUnixSeconds(until));
  }
  return key;
}

class DocumentSealTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    KeyStore store(Tmp("keys"));
    ASSERT_TRUE(
        store
            .Generate("natural_resources", "nr-2026-01", SealAlgorithm::kSm2Sm3)
            .ok());
    ASSERT_TRUE(
        store
            .Generate("natural_resources", "nr-2026-07", SealAlgorithm::kSm2Sm3)
            .ok());
    ASSERT_TRUE(
        store.Generate("big_data", "bd-1", SealAlgorithm::kEd25519).ok());
  }

  void SetUp() override {
    v1::Catalog catalog;
    catalog.set_version("test");
    v1::Department* nr = catalog.add_departments();
    nr->set_id("natural_resources");
    *nr->add_seal_keys() = CatalogKey(store_, "natural_resources", "nr-2026-01",
                                      v1::SEAL_ALGORITHM_SM2_SM3,
                                      Day(2026, 1, 1), Day(2026, 7, 1));
    *nr->add_seal_keys() = CatalogKey(store_, "natural_resources", "nr-2026-07",
                                      v1::SEAL_ALGORITHM_SM2_SM3,
                                      Day(2026, 7, 1), absl::InfiniteFuture());
    v1::Department* bd = catalog.add_departments();
    bd->set_id("big_data");
    *bd->add_seal_keys() =
        CatalogKey(store_, "big_data", "bd-1", v1::SEAL_ALGORITHM_ED25519,
                   Day(2026, 1, 1), absl::InfiniteFuture());
    ASSERT_TRUE(AddCatalogKeys(catalog, &keyring_).ok());
    ASSERT_EQ(keyring_.size(), 3u);
    catalog_ = catalog;

    cert_.set_serial("ZJ-NR-2026-000123");
    cert_.set_template_id("no_real_estate");
    cert_.mutable_subject()->set_kind(v1::SUBJECT_KIND_CITIZEN);
    cert_.mutable_subject()->set_id("330106199001011237");
    cert_.set_issuer_department("natural_resources");
    cert_.mutable_issued_at()->set_seconds(
        absl::ToUnixSeconds(Day(2026, 11, 26)));
    auto* f = cert_.add_content();
    f->set_key("real_estate_count");
    f->set_value("0");
    cert_.set_rendered_text("兹证明张三名下无不动产登记记录。");
  }

  std::unique_ptr<Signer> LoadSigner(const std::string& dept,
                                     const std::string& key_id) {
    auto signer = store_.LoadSigner(dept, key_id);
    EXPECT_TRUE(signer.ok()) << signer.status();
    return *std::move(signer);
  }

  absl::Status Verify(const google::protobuf::Message& doc,
                      absl::string_view purpose = kPurposeCertificate) {
    return VerifyDocumentSeal(keyring_, purpose, doc);
  }

  KeyStore store_{Tmp("keys")};
  SealKeyring keyring_;
  v1::Catalog catalog_;
  v1::Certificate cert_;
};

TEST_F(DocumentSealTest, SealedCertificateVerifiesAfterTransport) {
  auto signer = LoadSigner("natural_resources", "nr-2026-07");
  ASSERT_TRUE(SealDocument(*signer, Day(2026, 11, 26) + absl::Milliseconds(5),
                           kPurposeCertificate, &cert_)
                  .ok());
  EXPECT_EQ(cert_.seal().department(), "natural_resources");
  EXPECT_EQ(cert_.seal().key_id(), "nr-2026-07");
  EXPECT_EQ(cert_.seal().algorithm(), v1::SEAL_ALGORITHM_SM2_SM3);
  EXPECT_EQ(cert_.seal().signed_at().nanos(), 5000000);
  EXPECT_TRUE(Verify(cert_).ok()) << Verify(cert_);
  v1::Certificate received;
  ASSERT_TRUE(received.ParseFromString(cert_.SerializeAsString()));
  EXPECT_TRUE(Verify(received).ok());
}

TEST_F(DocumentSealTest, EveryTamperFailsWithItsReason) {
  auto signer = LoadSigner("natural_resources", "nr-2026-07");
  ASSERT_TRUE(
      SealDocument(*signer, Day(2026, 11, 26), kPurposeCertificate, &cert_)
          .ok());
  {
    v1::Certificate t = cert_;
    t.mutable_content(0)->set_value("1");
    EXPECT_EQ(Verify(t).code(), absl::StatusCode::kUnauthenticated);
  }
  {
    v1::Certificate t = cert_;
    std::string sig = t.seal().signature();
    sig[sig.size() / 2] ^= 0x01;
    t.mutable_seal()->set_signature(sig);
    EXPECT_EQ(Verify(t).code(), absl::StatusCode::kUnauthenticated);
  }
  {  // signed_at is covered by the signature
    v1::Certificate t = cert_;
    t.mutable_seal()->mutable_signed_at()->set_seconds(
        absl::ToUnixSeconds(Day(2026, 12, 1)));
    EXPECT_EQ(Verify(t).code(), absl::StatusCode::kUnauthenticated);
  }
  {  // claimed to be the old key, which had expired by then
    v1::Certificate t = cert_;
    t.mutable_seal()->set_key_id("nr-2026-01");
    absl::Status s = Verify(t);
    EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition);
    EXPECT_TRUE(absl::StrContains(s.message(), "had expired")) << s;
  }
  {
    v1::Certificate t = cert_;
    t.mutable_seal()->set_department("big_data");
    EXPECT_EQ(Verify(t).code(), absl::StatusCode::kNotFound);
  }
  {
    v1::Certificate t = cert_;
    t.mutable_seal()->set_algorithm(v1::SEAL_ALGORITHM_ED25519);
    EXPECT_EQ(Verify(t).code(), absl::StatusCode::kInvalidArgument);
  }
  // A certificate seal is not a dossier seal.
  EXPECT_EQ(Verify(cert_, kPurposeDossier).code(),
            absl::StatusCode::kUnauthenticated);
  v1::Certificate unsealed = cert_;
  unsealed.mutable_seal()->clear_signature();
  EXPECT_EQ(Verify(unsealed).code(), absl::StatusCode::kFailedPrecondition);
}

TEST_F(DocumentSealTest, RotatedKeyStillVerifiesWhatItSignedWhileValid) {
  auto old_signer = LoadSigner("natural_resources", "nr-2026-01");
  v1::Certificate march = cert_;
  ASSERT_TRUE(
      SealDocument(*old_signer, Day(2026, 3, 1), kPurposeCertificate, &march)
          .ok());
  EXPECT_TRUE(Verify(march).ok());
  // Signing with the old key after its rotation is caught at verification.
  v1::Certificate august = cert_;
  ASSERT_TRUE(
      SealDocument(*old_signer, Day(2026, 8, 1), kPurposeCertificate, &august)
          .ok());
  EXPECT_EQ(Verify(august).code(), absl::StatusCode::kFailedPrecondition);
}

// Stock openssl checks a sealed certificate (SM2) and dossier (Ed25519) from
// the exported bytes, signature and catalog public key.
TEST_F(DocumentSealTest, StockOpenSslVerifiesExportedDocuments) {
  auto sm2 = LoadSigner("natural_resources", "nr-2026-07");
  ASSERT_TRUE(
      SealDocument(*sm2, Day(2026, 11, 26), kPurposeCertificate, &cert_).ok());
  v1::Dossier dossier;
  dossier.set_id("D-1");
  dossier.set_matter("court_filing");
  dossier.mutable_subject()->set_id("330106199001011237");
  auto ed = LoadSigner("big_data", "bd-1");
  ASSERT_TRUE(
      SealDocument(*ed, Day(2026, 11, 26), kPurposeDossier, &dossier).ok());
  EXPECT_TRUE(Verify(dossier, kPurposeDossier).ok());

  struct Case {
    const google::protobuf::Message* doc;
    absl::string_view purpose;
    std::string pub;
    std::string extra;
  } cases[] = {
      {&cert_, kPurposeCertificate,
       catalog_.departments(0).seal_keys(1).public_key_pem(),
       " -digest sm3 -pkeyopt distid:1234567812345678"},
      {&dossier, kPurposeDossier,
       catalog_.departments(1).seal_keys(0).public_key_pem(), ""},
  };
  const std::string dir = Tmp("export");
  ASSERT_EQ(std::system(absl::StrCat("mkdir -p '", dir, "'").c_str()), 0);
  for (const Case& c : cases) {
    auto bytes = DocumentSignedBytes(*c.doc, c.purpose);
    ASSERT_TRUE(bytes.ok());
    auto seal = DocumentSeal(*c.doc);
    ASSERT_TRUE(seal.ok());
    WriteFile(dir + "/data.bin", *bytes);
    WriteFile(dir + "/sig.bin", seal->signature());
    WriteFile(dir + "/pub.pem", c.pub);
    const std::string cmd = absl::StrCat(
        "cd '", dir,
        "' && /usr/bin/openssl pkeyutl -verify -pubin -inkey pub.pem -rawin "
        "-in data.bin -sigfile sig.bin",
        c.extra, " > out.txt 2>&1");
    int rc = std::system(cmd.c_str());
    EXPECT_TRUE(WIFEXITED(rc) && WEXITSTATUS(rc) == 0)
        << c.purpose << ": " << ReadFile(dir + "/out.txt");
    EXPECT_TRUE(absl::StrContains(ReadFile(dir + "/out.txt"),
                                  "Signature Verified Successfully"));
  }
}

TEST(CatalogKeys, BadCatalogKeyIsNamed) {
  v1::Catalog catalog;
  ASSERT_TRUE(google::protobuf::TextFormat::ParseFromString(
      R"pb(departments {
             id: "tax"
             seal_keys { key_id: "t-1" public_key_pem: "x" }
           })pb",
      &catalog));
  SealKeyring keyring;
  absl::Status s = AddCatalogKeys(catalog, &keyring);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(
      absl::StrContains(s.message(),
                        "departments[0] (tax) seal_keys[0] (t-1): algorithm is "
                        "SEAL_ALGORITHM_UNSPECIFIED"))
      << s;
  catalog.mutable_departments(0)->mutable_seal_keys(0)->set_algorithm(
      v1::SEAL_ALGORITHM_ED25519);
  s = AddCatalogKeys(catalog, &keyring);
  EXPECT_TRUE(absl::StrContains(s.message(), "not a PEM public key")) << s;
}

TEST(DocumentSeal, MessageWithoutSealFieldIsRefused) {
  v1::SealKey not_a_document;
  EXPECT_EQ(
      DocumentSignedBytes(not_a_document, kPurposeCertificate).status().code(),
      absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace datarun::seal
