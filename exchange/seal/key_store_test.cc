#include "exchange/seal/key_store.h"

#include <sys/stat.h>

#include <cstdlib>
#include <fstream>
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "exchange/seal/openssl/openssl_seal.h"
#include "gtest/gtest.h"

namespace datarun::seal {
namespace {

std::string TmpDir(const std::string& name) {
  const char* base = std::getenv("TEST_TMPDIR");
  return absl::StrCat(base ? base : "/tmp", "/", name);
}

mode_t Mode(const std::string& path) {
  struct stat st;
  EXPECT_EQ(stat(path.c_str(), &st), 0) << path;
  return st.st_mode & 0777;
}

TEST(KeyStore, GenerateWritesTheLayoutAndModes) {
  KeyStore store(TmpDir("layout"));
  auto pair =
      store.Generate("public_security", "ps-2026-01", SealAlgorithm::kSm2Sm3);
  ASSERT_TRUE(pair.ok()) << pair.status();
  const std::string priv =
      TmpDir("layout") + "/public_security/ps-2026-01.key.pem";
  const std::string pub =
      TmpDir("layout") + "/public_security/ps-2026-01.pub.pem";
  EXPECT_EQ(store.PrivateKeyPath("public_security", "ps-2026-01"), priv);
  EXPECT_EQ(Mode(priv), 0600);
  EXPECT_EQ(Mode(pub), 0644);
  EXPECT_EQ(Mode(TmpDir("layout") + "/public_security"), 0700);
  auto pub_pem = store.ReadPublicPem("public_security", "ps-2026-01");
  ASSERT_TRUE(pub_pem.ok());
  EXPECT_EQ(*pub_pem, pair->public_pem);

  auto signer = store.LoadSigner("public_security", "ps-2026-01");
  ASSERT_TRUE(signer.ok()) << signer.status();
  EXPECT_EQ((*signer)->algorithm(), SealAlgorithm::kSm2Sm3);
  EXPECT_EQ((*signer)->department(), "public_security");
  auto verifier = LoadVerifier(
      *pub_pem, {"public_security", "ps-2026-01", SealAlgorithm::kSm2Sm3});
  ASSERT_TRUE(verifier.ok());
  auto sig = (*signer)->Sign("content");
  ASSERT_TRUE(sig.ok());
  EXPECT_TRUE((*verifier)->Verify("content", *sig).ok());
}

TEST(KeyStore, NeverOverwritesAKey) {
  KeyStore store(TmpDir("overwrite"));
  auto first = store.Generate("tax", "k1", SealAlgorithm::kEd25519);
  ASSERT_TRUE(first.ok());
  auto second = store.Generate("tax", "k1", SealAlgorithm::kEd25519);
  EXPECT_EQ(second.status().code(), absl::StatusCode::kAlreadyExists);
  EXPECT_TRUE(
      absl::StrContains(second.status().message(), "refusing to overwrite"))
      << second.status();
  EXPECT_EQ(*store.ReadPublicPem("tax", "k1"), first->public_pem);

  // A stray public half alone also blocks, and nothing is left behind.
  std::ofstream(TmpDir("overwrite") + "/tax/k2.pub.pem") << "x";
  EXPECT_EQ(
      store.Generate("tax", "k2", SealAlgorithm::kEd25519).status().code(),
      absl::StatusCode::kAlreadyExists);
  struct stat st;
  EXPECT_NE(stat(store.PrivateKeyPath("tax", "k2").c_str(), &st), 0);
}

TEST(KeyStore, RefusesAWorldReadablePrivateKey) {
  KeyStore store(TmpDir("mode"));
  ASSERT_TRUE(store.Generate("tax", "k1", SealAlgorithm::kEd25519).ok());
  ASSERT_EQ(chmod(store.PrivateKeyPath("tax", "k1").c_str(), 0644), 0);
  auto signer = store.LoadSigner("tax", "k1");
  EXPECT_EQ(signer.status().code(), absl::StatusCode::kPermissionDenied);
  EXPECT_TRUE(absl::StrContains(signer.status().message(), "chmod 600"))
      << signer.status();
}

TEST(KeyStore, ClearErrors) {
  KeyStore store(TmpDir("errors"));
  auto missing = store.LoadSigner("tax", "nope");
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kNotFound);
  EXPECT_TRUE(absl::StrContains(missing.status().message(), "nope.key.pem"))
      << missing.status();

  auto traversal = store.Generate("../etc", "k1", SealAlgorithm::kSm2Sm3);
  EXPECT_EQ(traversal.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(absl::StrContains(traversal.status().message(), "department"))
      << traversal.status();
  auto bad_id = store.Generate("tax", "a/b", SealAlgorithm::kSm2Sm3);
  EXPECT_TRUE(absl::StrContains(bad_id.status().message(),
                                "key id 'a/b' has a character"))
      << bad_id.status();
  EXPECT_FALSE(store.Generate("", "k", SealAlgorithm::kSm2Sm3).ok());

  // A directory that cannot be created (its parent is a file); works as root.
  std::ofstream(TmpDir("a_file")) << "x";
  KeyStore under_file(TmpDir("a_file") + "/keys");
  auto unwritable = under_file.Generate("tax", "k1", SealAlgorithm::kSm2Sm3);
  EXPECT_FALSE(unwritable.ok());
  EXPECT_TRUE(absl::StrContains(unwritable.status().message(),
                                "cannot create directory"))
      << unwritable.status();

  // A corrupt private key names the file.
  ASSERT_TRUE(store.Generate("tax", "bad", SealAlgorithm::kSm2Sm3).ok());
  ASSERT_EQ(truncate(store.PrivateKeyPath("tax", "bad").c_str(), 50), 0);
  auto corrupt = store.LoadSigner("tax", "bad");
  EXPECT_EQ(corrupt.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(absl::StrContains(corrupt.status().message(), "bad.key.pem"))
      << corrupt.status();
}

}  // namespace
}  // namespace datarun::seal
