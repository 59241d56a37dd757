// Interop with the stock `openssl` command line (OpenSSL 3.0): what we sign,
// `openssl pkeyutl -verify` accepts; what it signs, we accept; keys from
// `openssl genpkey` load into our key store and ours load into openssl. The
// commands here are the ones docs/certificates.md gives to users.
#include <sys/stat.h>

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "exchange/seal/key_store.h"
#include "exchange/seal/openssl/openssl_seal.h"
#include "gtest/gtest.h"

namespace datarun::seal {
namespace {

constexpr char kOpenSsl[] = "/usr/bin/openssl";

std::string TmpDir(const std::string& name) {
  const char* base = std::getenv("TEST_TMPDIR");
  std::string dir = absl::StrCat(base ? base : "/tmp", "/", name);
  mkdir(dir.c_str(), 0700);
  return dir;
}

void WriteFile(const std::string& path, const std::string& data) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << data;
  ASSERT_TRUE(out.good()) << path;
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

struct CmdResult {
  int exit_code;
  std::string output;
};

// Runs a shell command, capturing stdout and stderr together.
CmdResult Sh(const std::string& dir, const std::string& command) {
  const std::string out = dir + "/cmd.out";
  const std::string full =
      absl::StrCat("cd '", dir, "' && ", command, " >'", out, "' 2>&1");
  int rc = std::system(full.c_str());
  CmdResult run{WIFEXITED(rc) ? WEXITSTATUS(rc) : -1, ReadFile(out)};
  return run;
}

// The exact verification command of docs/certificates.md.
std::string VerifyCommand(SealAlgorithm a) {
  std::string cmd =
      absl::StrCat(kOpenSsl,
                   " pkeyutl -verify -pubin -inkey pub.pem -rawin -in data.bin"
                   " -sigfile sig.bin");
  if (a == SealAlgorithm::kSm2Sm3) {
    absl::StrAppend(&cmd, " -digest sm3 -pkeyopt distid:1234567812345678");
  }
  return cmd;
}

std::string SignCommand(SealAlgorithm a) {
  std::string cmd = absl::StrCat(
      kOpenSsl,
      " pkeyutl -sign -inkey key.pem -rawin -in data.bin -out sig.bin");
  if (a == SealAlgorithm::kSm2Sm3) {
    absl::StrAppend(&cmd, " -digest sm3 -pkeyopt distid:1234567812345678");
  }
  return cmd;
}

class OpenSslCliInteropTest : public ::testing::TestWithParam<SealAlgorithm> {
 protected:
  void SetUp() override {
    ASSERT_EQ(access(kOpenSsl, X_OK), 0)
        << kOpenSsl << " missing: install the Debian package openssl";
    dir_ = TmpDir(absl::StrCat("interop_", AlgorithmName(GetParam())));
  }
  std::string dir_;
  // Binary-unsafe bytes on purpose: NULs and high bytes must survive.
  const std::string data_ = std::string("datarun-seal-v1\0certificate\0", 28) +
                            "\xff\x01 证明 content";
};

TEST_P(OpenSslCliInteropTest, OpenSslVerifiesOurSignature) {
  const SealAlgorithm a = GetParam();
  auto pair = openssl::GenerateKeyPair(a);
  ASSERT_TRUE(pair.ok()) << pair.status();
  auto signer = openssl::NewSigner(pair->private_pem, {"tax", "k1", a});
  ASSERT_TRUE(signer.ok()) << signer.status();
  auto sig = (*signer)->Sign(data_);
  ASSERT_TRUE(sig.ok()) << sig.status();
  WriteFile(dir_ + "/pub.pem", pair->public_pem);
  WriteFile(dir_ + "/data.bin", data_);
  WriteFile(dir_ + "/sig.bin", *sig);

  CmdResult ok = Sh(dir_, VerifyCommand(a));
  EXPECT_EQ(ok.exit_code, 0) << ok.output;
  EXPECT_TRUE(absl::StrContains(ok.output, "Signature Verified Successfully"))
      << ok.output;

  // One byte of content changed: openssl refuses too.
  std::string tampered = data_;
  tampered[tampered.size() - 1] ^= 1;
  WriteFile(dir_ + "/data.bin", tampered);
  CmdResult bad = Sh(dir_, VerifyCommand(a));
  EXPECT_NE(bad.exit_code, 0) << bad.output;
  EXPECT_TRUE(absl::StrContains(bad.output, "Signature Verification Failure"))
      << bad.output;

  if (a == SealAlgorithm::kSm2Sm3) {
    // Without the distinguishing id openssl 3.0 uses an empty one and fails:
    // proves we sign with 1234567812345678 and that the docs must say so.
    WriteFile(dir_ + "/data.bin", data_);
    CmdResult no_id =
        Sh(dir_, absl::StrCat(kOpenSsl,
                              " pkeyutl -verify -pubin -inkey pub.pem "
                              "-rawin -in data.bin -sigfile sig.bin "
                              "-digest sm3"));
    EXPECT_NE(no_id.exit_code, 0) << no_id.output;
  }
}

TEST_P(OpenSslCliInteropTest, WeVerifyOpenSslSignatureWithOurKey) {
  const SealAlgorithm a = GetParam();
  auto pair = openssl::GenerateKeyPair(a);
  ASSERT_TRUE(pair.ok());
  WriteFile(dir_ + "/key.pem", pair->private_pem);
  WriteFile(dir_ + "/data.bin", data_);
  CmdResult sign = Sh(dir_, SignCommand(a));
  ASSERT_EQ(sign.exit_code, 0) << sign.output;
  auto verifier = LoadVerifier(pair->public_pem, {"tax", "k1", a});
  ASSERT_TRUE(verifier.ok()) << verifier.status();
  const std::string sig = ReadFile(dir_ + "/sig.bin");
  EXPECT_TRUE((*verifier)->Verify(data_, sig).ok());
  EXPECT_EQ((*verifier)->Verify(data_ + "!", sig).code(),
            absl::StatusCode::kUnauthenticated);
}

TEST_P(OpenSslCliInteropTest, GenpkeyKeysWorkInOurKeyStoreAndBack) {
  const SealAlgorithm a = GetParam();
  const std::string ossl_name = a == SealAlgorithm::kSm2Sm3 ? "SM2" : "ED25519";
  // openssl's key, in our keys directory layout.
  const std::string keys = dir_ + "/keys";
  CmdResult gen =
      Sh(dir_, absl::StrCat("mkdir -p keys/tax && ", kOpenSsl,
                            " genpkey -algorithm ", ossl_name,
                            " -out keys/tax/ossl.key.pem && chmod 600 "
                            "keys/tax/ossl.key.pem && ",
                            kOpenSsl,
                            " pkey -in keys/tax/ossl.key.pem -pubout "
                            "-out keys/tax/ossl.pub.pem"));
  ASSERT_EQ(gen.exit_code, 0) << gen.output;
  KeyStore store(keys);
  auto signer = store.LoadSigner("tax", "ossl");
  ASSERT_TRUE(signer.ok()) << signer.status();
  EXPECT_EQ((*signer)->algorithm(), a);
  auto sig = (*signer)->Sign(data_);
  ASSERT_TRUE(sig.ok());
  WriteFile(dir_ + "/data.bin", data_);
  WriteFile(dir_ + "/sig.bin", *sig);
  CmdResult cp = Sh(dir_, "cp keys/tax/ossl.pub.pem pub.pem");
  ASSERT_EQ(cp.exit_code, 0);
  CmdResult verify = Sh(dir_, VerifyCommand(a));
  EXPECT_EQ(verify.exit_code, 0) << verify.output;

  // Our key store's key, used by openssl.
  ASSERT_TRUE(store.Generate("tax", "ours", a).ok());
  CmdResult sign = Sh(dir_, absl::StrCat("cp keys/tax/ours.key.pem key.pem && ",
                                         SignCommand(a)));
  ASSERT_EQ(sign.exit_code, 0) << sign.output;
  auto pub = store.ReadPublicPem("tax", "ours");
  ASSERT_TRUE(pub.ok());
  auto verifier = LoadVerifier(*pub, {"tax", "ours", a});
  ASSERT_TRUE(verifier.ok()) << verifier.status();
  EXPECT_TRUE((*verifier)->Verify(data_, ReadFile(dir_ + "/sig.bin")).ok());
  // And openssl derives the same public key from our private key.
  CmdResult derive =
      Sh(dir_, absl::StrCat(kOpenSsl,
                            " pkey -in keys/tax/ours.key.pem -pubout "
                            "-out derived.pub.pem"));
  ASSERT_EQ(derive.exit_code, 0) << derive.output;
  EXPECT_EQ(ReadFile(dir_ + "/derived.pub.pem"), *pub);
}

INSTANTIATE_TEST_SUITE_P(BothAlgorithms, OpenSslCliInteropTest,
                         ::testing::Values(SealAlgorithm::kSm2Sm3,
                                           SealAlgorithm::kEd25519),
                         [](const auto& info) {
                           return std::string(AlgorithmName(info.param));
                         });

// The older way of making an SM2 key (an EC key on the SM2 curve) is an SM2
// key to us as well.
TEST(OpenSslCliInterop, EcKeyOnSm2CurveIsSm2) {
  const std::string dir = TmpDir("ec_sm2");
  CmdResult gen = Sh(dir, absl::StrCat(kOpenSsl,
                                       " genpkey -algorithm EC -pkeyopt "
                                       "ec_paramgen_curve:SM2 -out key.pem"));
  ASSERT_EQ(gen.exit_code, 0) << gen.output;
  auto algorithm = openssl::AlgorithmOfPrivatePem(ReadFile(dir + "/key.pem"));
  ASSERT_TRUE(algorithm.ok()) << algorithm.status();
  EXPECT_EQ(*algorithm, SealAlgorithm::kSm2Sm3);
}

TEST(OpenSslCliInterop, OtherKeyTypesAreRefused) {
  const std::string dir = TmpDir("p256");
  CmdResult gen = Sh(dir, absl::StrCat(kOpenSsl,
                                       " genpkey -algorithm EC -pkeyopt "
                                       "ec_paramgen_curve:P-256 -out key.pem"));
  ASSERT_EQ(gen.exit_code, 0) << gen.output;
  auto algorithm = openssl::AlgorithmOfPrivatePem(ReadFile(dir + "/key.pem"));
  EXPECT_EQ(algorithm.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(
      absl::StrContains(algorithm.status().message(), "is not a seal key"))
      << algorithm.status();
}

}  // namespace
}  // namespace datarun::seal
