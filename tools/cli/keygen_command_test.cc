// End to end: runs the built `datarun keygen` as a user would and checks the
// files it writes and the catalog entry it prints (parsed with catalog.proto).
#include <sys/stat.h>
#include <sys/wait.h>

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/civil_time.h"
#include "absl/time/time.h"
#include "exchange/seal/key_store.h"
#include "exchange/seal/seal.h"
#include "google/protobuf/text_format.h"
#include "gtest/gtest.h"
#include "proto/datarun/v1/catalog.pb.h"

namespace datarun::cli {
namespace {

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

std::string Tmp(const std::string& name) {
  const char* base = std::getenv("TEST_TMPDIR");
  return absl::StrCat(base ? base : "/tmp", "/", name);
}

struct Result {
  int exit_code;
  std::string out;
  std::string err;
};

Result Keygen(const std::string& flags) {
  const std::string bin =
      absl::StrCat(std::getenv("TEST_SRCDIR"), "/datarun/tools/datarun");
  const std::string out = Tmp("stdout"), err = Tmp("stderr");
  const std::string cmd =
      absl::StrCat("'", bin, "' keygen ", flags, " >'", out, "' 2>'", err, "'");
  const int rc = std::system(cmd.c_str());
  return Result{WIFEXITED(rc) ? WEXITSTATUS(rc) : -1, ReadFile(out),
                ReadFile(err)};
}

TEST(KeygenCommand, WritesKeyPairAndPrintsTheCatalogEntry) {
  const std::string keys = Tmp("keys_sm2");
  Result r = Keygen(
      absl::StrCat("--department=public_security --algorithm=sm2 --out=", keys,
                   " --key_id=ps-2026-11 --valid_from=2026-11-01T00:00:00Z "
                   "--valid_days=365"));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(absl::StrContains(r.err, "mode 0600")) << r.err;

  // stdout is a textproto fragment of catalog.proto Department.
  v1::Department department;
  ASSERT_TRUE(google::protobuf::TextFormat::ParseFromString(r.out, &department))
      << r.out;
  ASSERT_EQ(department.seal_keys_size(), 1);
  const v1::SealKey& key = department.seal_keys(0);
  EXPECT_EQ(key.key_id(), "ps-2026-11");
  EXPECT_EQ(key.algorithm(), v1::SEAL_ALGORITHM_SM2_SM3);
  const int64_t nov1 = absl::ToUnixSeconds(
      absl::FromCivil(absl::CivilDay(2026, 11, 1), absl::UTCTimeZone()));
  EXPECT_EQ(key.valid_from().seconds(), nov1);
  EXPECT_EQ(key.valid_until().seconds(), nov1 + 365 * 86400);
  const std::string priv = keys + "/public_security/ps-2026-11.key.pem";
  const std::string pub = keys + "/public_security/ps-2026-11.pub.pem";
  EXPECT_EQ(key.public_key_pem(), ReadFile(pub));
  struct stat st;
  ASSERT_EQ(stat(priv.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600);

  // The printed public key verifies what the written private key signs.
  seal::KeyStore store(keys);
  auto signer = store.LoadSigner("public_security", "ps-2026-11");
  ASSERT_TRUE(signer.ok()) << signer.status();
  auto verifier = seal::LoadVerifier(
      key.public_key_pem(),
      {"public_security", "ps-2026-11", seal::SealAlgorithm::kSm2Sm3});
  ASSERT_TRUE(verifier.ok()) << verifier.status();
  EXPECT_TRUE((*verifier)->Verify("x", *(*signer)->Sign("x")).ok());

  // Running it again refuses to overwrite and leaves the key alone.
  const std::string before = ReadFile(priv);
  Result again = Keygen(
      absl::StrCat("--department=public_security --algorithm=sm2 --out=", keys,
                   " --key_id=ps-2026-11"));
  EXPECT_EQ(again.exit_code, 1);
  EXPECT_TRUE(absl::StrContains(again.err, "refusing to overwrite"))
      << again.err;
  EXPECT_TRUE(absl::StrContains(again.err, "--key_id")) << again.err;
  EXPECT_EQ(ReadFile(priv), before);
}

TEST(KeygenCommand, Ed25519WithDefaults) {
  const std::string keys = Tmp("keys_ed");
  Result r = Keygen(absl::StrCat(
      "--department=tax --algorithm=ed25519 --out=", keys, " --valid_days=0"));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  v1::Department department;
  ASSERT_TRUE(google::protobuf::TextFormat::ParseFromString(r.out, &department))
      << r.out;
  ASSERT_EQ(department.seal_keys_size(), 1);
  const v1::SealKey& key = department.seal_keys(0);
  EXPECT_EQ(key.algorithm(), v1::SEAL_ALGORITHM_ED25519);
  EXPECT_TRUE(absl::StartsWith(key.key_id(), "tax-20")) << key.key_id();
  EXPECT_FALSE(key.has_valid_until());  // --valid_days=0: no end
  EXPECT_EQ(key.public_key_pem(),
            ReadFile(absl::StrCat(keys, "/tax/", key.key_id(), ".pub.pem")));
}

TEST(KeygenCommand, ClearErrors) {
  Result bad_alg =
      Keygen("--department=tax --algorithm=rsa --out=" + Tmp("k_bad"));
  EXPECT_EQ(bad_alg.exit_code, 2);
  EXPECT_TRUE(absl::StrContains(bad_alg.err, "unknown seal algorithm 'rsa'"))
      << bad_alg.err;

  Result no_dept = Keygen("--algorithm=sm2 --out=" + Tmp("k_bad"));
  EXPECT_EQ(no_dept.exit_code, 2);
  EXPECT_TRUE(absl::StrContains(no_dept.err, "--department is required"))
      << no_dept.err;

  Result bad_dept = Keygen("--department=../x --out=" + Tmp("k_bad"));
  EXPECT_EQ(bad_dept.exit_code, 2);
  EXPECT_TRUE(absl::StrContains(bad_dept.err, "--department '../x'"))
      << bad_dept.err;

  Result no_out = Keygen("--department=tax");
  EXPECT_EQ(no_out.exit_code, 2);
  EXPECT_TRUE(absl::StrContains(no_out.err, "--out")) << no_out.err;

  Result bad_time =
      Keygen("--department=tax --valid_from=yesterday --out=" + Tmp("k_bad"));
  EXPECT_EQ(bad_time.exit_code, 2);
  EXPECT_TRUE(absl::StrContains(bad_time.err, "--valid_from 'yesterday'"))
      << bad_time.err;

  // Unwritable: the keys directory would have to live under a regular file
  // (works as root too, unlike a chmod-ed directory).
  std::ofstream(Tmp("plain_file")) << "x";
  Result unwritable =
      Keygen("--department=tax --out=" + Tmp("plain_file") + "/keys");
  EXPECT_EQ(unwritable.exit_code, 1);
  EXPECT_TRUE(absl::StrContains(unwritable.err, "cannot create directory"))
      << unwritable.err;
  EXPECT_TRUE(unwritable.out.empty()) << unwritable.out;
}

}  // namespace
}  // namespace datarun::cli
