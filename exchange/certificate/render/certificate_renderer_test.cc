// Rendering a real issued certificate to PNG and PDF: file magic, size, and
// the QR code decoded back with zbarimg (zbar-tools) when installed.
#include "exchange/certificate/render/certificate_renderer.h"

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "exchange/certificate/issuer.h"
#include "exchange/certificate/testing/test_env.h"
#include "gtest/gtest.h"
#include "proto/datarun/v1/departments/public_security.pb.h"

namespace datarun::certificate {
namespace {

using ::datarun::certificate::testing::CertEnv;
using ::datarun::certificate::testing::MakeRecord;
namespace dept = ::datarun::v1::departments;

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

class RendererTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto env = CertEnv::Create(
        {{"public_security", "ps-1", seal::SealAlgorithm::kSm2Sm3}});
    ASSERT_TRUE(env.ok()) << env.status();
    env_ = *std::move(env);
    dept::HouseholdRegistration hr;
    hr.set_name("王五");
    dept::CriminalRecordStatus crs;
    crs.set_has_criminal_record(false);
    crs.mutable_checked_at()->set_seconds(1795000000);
    const std::string id = "330106199212120021";
    std::vector<v1::Record> records = {
        MakeRecord(env_->catalog(), id, "household_registration", "", 1, hr),
        MakeRecord(env_->catalog(), id, "criminal_record_status", "", 1, crs)};
    v1::Subject subject;
    subject.set_kind(v1::SUBJECT_KIND_CITIZEN);
    subject.set_id(id);
    CertificateIssuer issuer(env_->index(), env_->signers());
    auto cert = issuer.Issue("no_criminal_record", subject, records,
                             absl::FromUnixSeconds(1795100000));
    ASSERT_TRUE(cert.ok()) << cert.status();
    cert_ = *cert;
    options_.title = "无犯罪记录证明";
    options_.issuer_name = "公安局";
  }

  std::unique_ptr<CertEnv> env_;
  v1::Certificate cert_;
  RenderOptions options_;
};

TEST_F(RendererTest, PngWithDecodableQrCode) {
  const char* outputs = std::getenv("TEST_UNDECLARED_OUTPUTS_DIR");
  std::string path =
      absl::StrCat(outputs ? outputs : testing::TempDir("png"), "/cert.png");
  ASSERT_TRUE(RenderCertificate(cert_, options_, path).ok());
  std::string png = ReadFile(path);
  ASSERT_GT(png.size(), 20000u);  // text, seal and QR, not a blank page
  EXPECT_EQ(png.substr(0, 8), std::string("\x89PNG\r\n\x1a\n", 8));

  if (access("/usr/bin/zbarimg", X_OK) != 0) {
    GTEST_SKIP() << "zbarimg (zbar-tools) not installed: QR not decoded";
  }
  std::string cmd = absl::StrCat("/usr/bin/zbarimg --quiet --raw ", path);
  FILE* pipe = popen(cmd.c_str(), "r");
  ASSERT_NE(pipe, nullptr);
  std::string decoded;
  char buf[512];
  while (fgets(buf, sizeof(buf), pipe) != nullptr) decoded += buf;
  EXPECT_EQ(pclose(pipe), 0);
  EXPECT_EQ(std::string(absl::StripTrailingAsciiWhitespace(decoded)),
            QrPayload(cert_));
  EXPECT_TRUE(absl::StartsWith(
      decoded,
      "DRCERT1;s=" + cert_.serial() + ";i=public_security;k=ps-1;a=sm2;h="))
      << decoded;
}

TEST_F(RendererTest, PdfEmbedsTheCjkFont) {
  std::string path = testing::TempDir("pdf") + "/cert.pdf";
  ASSERT_TRUE(RenderCertificate(cert_, options_, path).ok());
  std::string pdf = ReadFile(path);
  EXPECT_TRUE(absl::StartsWith(pdf, "%PDF-"));
  EXPECT_GT(pdf.size(), 10000u);
  EXPECT_NE(pdf.find("WenQuanYi"), std::string::npos)
      << "the CJK font (fonts-wqy-microhei) was not used";
}

TEST_F(RendererTest, BadOutputName) {
  auto status = RenderCertificate(cert_, options_, "/tmp/cert.jpeg");
  EXPECT_TRUE(absl::IsInvalidArgument(status));
  EXPECT_NE(status.message().find(".pdf or .png"), absl::string_view::npos);
}

}  // namespace
}  // namespace datarun::certificate
