// Runs the built `datarun verify` / `datarun render` as a receiving office
// would, on certificate files issued by the library with SM2 and Ed25519
// seals: valid, tampered, expired, revoked, unknown key, openssl export,
// dossier, rendering with a decodable QR code.
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/time/time.h"
#include "broker_adapters/embedded/embedded_cluster.h"
#include "broker_adapters/kafka/kafka_broker.h"
#include "exchange/certificate/document_io.h"
#include "exchange/certificate/dossier.h"
#include "exchange/certificate/issuer.h"
#include "exchange/certificate/render/certificate_renderer.h"
#include "exchange/certificate/revocation_list.h"
#include "exchange/certificate/testing/test_env.h"
#include "exchange/certificate/topic_revocations.h"
#include "gtest/gtest.h"
#include "proto/datarun/v1/departments/public_security.pb.h"

namespace datarun::certificate {
namespace {

using ::datarun::certificate::testing::CertEnv;
using ::datarun::certificate::testing::MakeRecord;
namespace dept = ::datarun::v1::departments;

constexpr char kDatarun[] = "tools/datarun";
constexpr char kCitizen[] = "330106199003071234";

struct CliRun {
  int exit_code = -1;
  std::string output;  // stdout and stderr
};

CliRun Sh(const std::string& command) {
  CliRun run;
  FILE* pipe = popen((command + " 2>&1").c_str(), "r");
  if (pipe == nullptr) return run;
  char buf[1024];
  while (fgets(buf, sizeof(buf), pipe) != nullptr) run.output += buf;
  int status = pclose(pipe);
  run.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return run;
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

void WriteFile(const std::string& path, const std::string& data) {
  std::ofstream(path, std::ios::binary | std::ios::trunc) << data;
}

class CertificateCliTest
    : public ::testing::TestWithParam<seal::SealAlgorithm> {
 protected:
  void SetUp() override {
    auto env = CertEnv::Create({{"public_security", "ps-cli", GetParam()},
                                {"big_data_bureau", "bdb-cli", GetParam()}});
    ASSERT_TRUE(env.ok()) << env.status();
    env_ = *std::move(env);
    dir_ = testing::TempDir("cli");
    auto catalog = env_->WriteCatalog(dir_);
    ASSERT_TRUE(catalog.ok()) << catalog.status();
    catalog_ = *catalog;

    dept::HouseholdRegistration hr;
    hr.set_name("张三");
    hr.set_gender(dept::GENDER_MALE);
    hr.mutable_address()->set_city("杭州市");
    hr.mutable_address()->set_detail("文三路90号");
    dept::VehicleRegistration car;
    car.set_plate_number("浙A12345");
    records_ = {MakeRecord(env_->catalog(), kCitizen, "household_registration",
                           "", 1, hr),
                MakeRecord(env_->catalog(), kCitizen, "vehicle_registration",
                           "VIN1", 1, car)};
    subject_.set_kind(v1::SUBJECT_KIND_CITIZEN);
    subject_.set_id(kCitizen);
    CertificateIssuer issuer(env_->index(), env_->signers());
    auto cert = issuer.Issue("resident_population_info", subject_, records_,
                             absl::Now() - absl::Hours(1));
    ASSERT_TRUE(cert.ok()) << cert.status();
    cert_ = *cert;
    cert_path_ = dir_ + "/cert.json";
    ASSERT_TRUE(WriteDocumentFile(cert_path_, cert_).ok());
  }

  CliRun Verify(const std::string& file, const std::string& extra = "") {
    return Sh(absl::StrCat(kDatarun, " verify --certificate=", file,
                           " --catalog=", catalog_, " ", extra));
  }

  std::unique_ptr<CertEnv> env_;
  std::string dir_, catalog_, cert_path_;
  std::vector<v1::Record> records_;
  v1::Subject subject_;
  v1::Certificate cert_;
};

TEST_P(CertificateCliTest, ValidCertificate) {
  CliRun run = Verify(cert_path_);
  EXPECT_EQ(run.exit_code, 0) << run.output;
  EXPECT_TRUE(absl::StartsWith(
      run.output, absl::StrCat("valid: certificate ", cert_.serial())))
      << run.output;
  // The binary form verifies too.
  ASSERT_TRUE(WriteDocumentFile(dir_ + "/cert.pb", cert_).ok());
  EXPECT_EQ(Verify(dir_ + "/cert.pb").exit_code, 0);
}

TEST_P(CertificateCliTest, TamperedExpiredRevokedUnknownKey) {
  std::string json = ReadFile(cert_path_);
  std::string forged = absl::StrReplaceAll(json, {{"张三", "张四"}});
  ASSERT_NE(forged, json);
  WriteFile(dir_ + "/forged.json", forged);
  CliRun run = Verify(dir_ + "/forged.json");
  EXPECT_EQ(run.exit_code, 1) << run.output;
  EXPECT_TRUE(absl::StartsWith(run.output, "invalid (tampered): "))
      << run.output;

  const std::string after_expiry = absl::FormatTime(
      absl::RFC3339_sec,
      absl::FromUnixSeconds(cert_.expires_at().seconds()) + absl::Seconds(1),
      absl::UTCTimeZone());
  run = Verify(cert_path_, "--at=" + after_expiry);
  EXPECT_EQ(run.exit_code, 1) << run.output;
  EXPECT_TRUE(absl::StartsWith(run.output, "invalid (expired): "))
      << run.output;

  v1::CertificateRevocation revocation;
  revocation.set_serial(cert_.serial());
  revocation.set_issuer_department("public_security");
  revocation.set_reason("重复开具");
  ASSERT_TRUE(AppendRevocationFile(dir_ + "/revoked.jsonl", revocation).ok());
  run = Verify(cert_path_, "--revocations=" + dir_ + "/revoked.jsonl");
  EXPECT_EQ(run.exit_code, 1) << run.output;
  EXPECT_TRUE(absl::StartsWith(run.output,
                               "invalid (revoked): revoked by "
                               "public_security"))
      << run.output;

  // The shipped catalog lists no seal keys at all.
  run = Sh(absl::StrCat(kDatarun, " verify --certificate=", cert_path_,
                        " --catalog=", testing::kShippedCatalog));
  EXPECT_EQ(run.exit_code, 1) << run.output;
  EXPECT_TRUE(absl::StartsWith(run.output, "invalid (unknown key): "))
      << run.output;

  // A bad file fails with an error naming the file.
  WriteFile(dir_ + "/bad.json", "{\"serial\": 7");
  run = Verify(dir_ + "/bad.json");
  EXPECT_EQ(run.exit_code, 1) << run.output;
  EXPECT_TRUE(absl::StartsWith(run.output, "error: ")) << run.output;
  EXPECT_NE(run.output.find(dir_ + "/bad.json"), std::string::npos)
      << run.output;
}

TEST_P(CertificateCliTest, ExportVerifiedByStockOpenssl) {
  const std::string out = dir_ + "/openssl";
  CliRun run = Verify(cert_path_, "--export_openssl=" + out);
  ASSERT_EQ(run.exit_code, 0) << run.output;
  // The documented command, run by hand in the export directory.
  std::string cmd = GetParam() == seal::SealAlgorithm::kSm2Sm3
                        ? "/usr/bin/openssl pkeyutl -verify -pubin -inkey "
                          "pub.pem -rawin -in data.bin -sigfile sig.bin "
                          "-digest sm3 -pkeyopt distid:1234567812345678"
                        : "/usr/bin/openssl pkeyutl -verify -pubin -inkey "
                          "pub.pem -rawin -in data.bin -sigfile sig.bin";
  run = Sh(absl::StrCat("cd ", out, " && ", cmd));
  EXPECT_EQ(run.exit_code, 0) << run.output;
  EXPECT_NE(run.output.find("Signature Verified Successfully"),
            std::string::npos)
      << run.output;
  run = Sh(absl::StrCat("PATH=/usr/bin:/bin sh ", out, "/verify.sh"));
  EXPECT_EQ(run.exit_code, 0) << run.output;
  // A forged certificate's export fails under openssl as well.
  WriteFile(dir_ + "/forged.json",
            absl::StrReplaceAll(ReadFile(cert_path_), {{"张三", "张四"}}));
  run = Verify(dir_ + "/forged.json", "--export_openssl=" + out);
  EXPECT_EQ(run.exit_code, 1);
  run = Sh(absl::StrCat("cd ", out, " && ", cmd));
  EXPECT_NE(run.exit_code, 0) << run.output;
}

TEST_P(CertificateCliTest, Dossier) {
  DossierRequest request;
  request.matter_id = "court_case_filing";
  request.subject = subject_;
  request.requester_department = "courts";
  request.classes = CourtFilingClasses();
  auto dossier = AssembleDossier(env_->index(), request, records_, absl::Now(),
                                 *env_->signers().Find("big_data_bureau"));
  ASSERT_TRUE(dossier.ok()) << dossier.status();
  ASSERT_TRUE(WriteDocumentFile(dir_ + "/dossier.json", *dossier).ok());
  CliRun run = Sh(absl::StrCat(kDatarun, " verify --dossier=", dir_,
                               "/dossier.json --catalog=", catalog_));
  EXPECT_EQ(run.exit_code, 0) << run.output;
  EXPECT_NE(run.output.find("5 sections, 2 records, sealed by big_data_bureau"),
            std::string::npos)
      << run.output;
  WriteFile(
      dir_ + "/dossier2.json",
      absl::StrReplaceAll(ReadFile(dir_ + "/dossier.json"),
                          {{"court_case_filing", "enterprise_establishment"}}));
  run = Sh(absl::StrCat(kDatarun, " verify --dossier=", dir_,
                        "/dossier2.json --catalog=", catalog_));
  EXPECT_EQ(run.exit_code, 1) << run.output;
}

TEST_P(CertificateCliTest, RenderPngAndPdf) {
  CliRun run =
      Sh(absl::StrCat(kDatarun, " render --certificate=", cert_path_,
                      " --catalog=", catalog_, " --out=", dir_, "/cert.png"));
  ASSERT_EQ(run.exit_code, 0) << run.output;
  std::string png = ReadFile(dir_ + "/cert.png");
  EXPECT_EQ(png.substr(0, 8), std::string("\x89PNG\r\n\x1a\n", 8));
  EXPECT_GT(png.size(), 20000u);
  run = Sh(absl::StrCat(kDatarun, " render --certificate=", cert_path_,
                        " --catalog=", catalog_, " --out=", dir_, "/cert.pdf"));
  ASSERT_EQ(run.exit_code, 0) << run.output;
  EXPECT_TRUE(absl::StartsWith(ReadFile(dir_ + "/cert.pdf"), "%PDF-"));
  run = Sh(absl::StrCat(kDatarun, " render --certificate=", cert_path_,
                        " --out=", dir_, "/cert.gif"));
  EXPECT_EQ(run.exit_code, 2) << run.output;

  if (access("/usr/bin/zbarimg", X_OK) != 0) {
    GTEST_SKIP() << "zbarimg (zbar-tools) not installed";
  }
  run = Sh(absl::StrCat("/usr/bin/zbarimg --quiet --raw ", dir_, "/cert.png"));
  EXPECT_EQ(run.exit_code, 0) << run.output;
  EXPECT_NE(run.output.find(QrPayload(cert_)), std::string::npos) << run.output;
}

// Revocation read straight from topic dr.cert.revoked on an embedded
// Kafka-protocol cluster (the datarun process connects over 127.0.0.1).
TEST_P(CertificateCliTest, RevokedOnTheTopic) {
  if (GetParam() != seal::SealAlgorithm::kEd25519) {
    GTEST_SKIP() << "the topic path does not depend on the algorithm";
  }
  auto cluster = broker::EmbeddedCluster::Start();
  ASSERT_TRUE(cluster.ok()) << cluster.status();
  ASSERT_TRUE((*cluster)->CreateTopic(std::string(kRevocationTopic), 1).ok());
  const std::string brokers = "--brokers=" + (*cluster)->bootstrap();
  CliRun run = Verify(cert_path_, brokers);
  EXPECT_EQ(run.exit_code, 0) << run.output;

  broker::KafkaConfig config;
  config.bootstrap = (*cluster)->bootstrap();
  auto kafka = broker::NewKafkaBroker(config);
  ASSERT_TRUE(kafka.ok()) << kafka.status();
  auto producer = (*kafka)->NewProducer({});
  ASSERT_TRUE(producer.ok());
  v1::CertificateRevocation revocation;
  revocation.set_serial(cert_.serial());
  revocation.set_issuer_department("public_security");
  ASSERT_TRUE(
      PublishRevocation(**producer, revocation, absl::Seconds(10)).ok());
  run = Verify(cert_path_, brokers);
  EXPECT_EQ(run.exit_code, 1) << run.output;
  // librdkafka may log warnings on stderr first.
  EXPECT_NE(run.output.find("\ninvalid (revoked): revoked by public_security"),
            std::string::npos)
      << run.output;
}

INSTANTIATE_TEST_SUITE_P(Algorithms, CertificateCliTest,
                         ::testing::Values(seal::SealAlgorithm::kSm2Sm3,
                                           seal::SealAlgorithm::kEd25519),
                         [](const auto& info) {
                           return std::string(seal::AlgorithmName(info.param));
                         });

}  // namespace
}  // namespace datarun::certificate
