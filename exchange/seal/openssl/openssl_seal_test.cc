#include "exchange/seal/openssl/openssl_seal.h"

#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "gtest/gtest.h"

namespace datarun::seal::openssl {
namespace {

struct Keys {
  std::unique_ptr<Signer> signer;
  std::unique_ptr<Verifier> verifier;
};

Keys MakeKeys(SealAlgorithm algorithm, const std::string& department,
              ContextStrategy strategy = ContextStrategy::kCopyTemplate) {
  auto pair = GenerateKeyPair(algorithm);
  EXPECT_TRUE(pair.ok()) << pair.status();
  KeyIdentity id{department, department + "-2026", algorithm};
  auto signer = NewSigner(pair->private_pem, id, strategy);
  EXPECT_TRUE(signer.ok()) << signer.status();
  auto verifier = NewVerifier(pair->public_pem, id);
  EXPECT_TRUE(verifier.ok()) << verifier.status();
  return Keys{*std::move(signer), *std::move(verifier)};
}

class OpenSslSealTest : public ::testing::TestWithParam<
                            std::tuple<SealAlgorithm, ContextStrategy>> {
 protected:
  SealAlgorithm algorithm() const { return std::get<0>(GetParam()); }
  ContextStrategy strategy() const { return std::get<1>(GetParam()); }
  const std::string content_ =
      "居民户籍证明: subject 330106199001011234, household head";
};

TEST_P(OpenSslSealTest, RoundTrip) {
  Keys keys = MakeKeys(algorithm(), "public_security", strategy());
  EXPECT_EQ(keys.signer->algorithm(), algorithm());
  EXPECT_EQ(keys.signer->department(), "public_security");
  EXPECT_EQ(keys.signer->key_id(), "public_security-2026");
  for (int i = 0; i < 3; ++i) {  // each call gets its own context
    auto sig = keys.signer->Sign(content_);
    ASSERT_TRUE(sig.ok()) << sig.status();
    if (algorithm() == SealAlgorithm::kEd25519) {
      EXPECT_EQ(sig->size(), 64u);
    } else {
      EXPECT_EQ(static_cast<unsigned char>((*sig)[0]), 0x30);  // DER SEQUENCE
      EXPECT_GE(sig->size(), 68u);
      EXPECT_LE(sig->size(), 72u);
    }
    EXPECT_TRUE(keys.verifier->Verify(content_, *sig).ok());
  }
  // Empty content is a valid message too.
  auto empty_sig = keys.signer->Sign("");
  ASSERT_TRUE(empty_sig.ok());
  EXPECT_TRUE(keys.verifier->Verify("", *empty_sig).ok());
  EXPECT_FALSE(keys.verifier->Verify(content_, *empty_sig).ok());
}

TEST_P(OpenSslSealTest, EveryContentByteMatters) {
  Keys keys = MakeKeys(algorithm(), "civil_affairs", strategy());
  auto sig = keys.signer->Sign(content_);
  ASSERT_TRUE(sig.ok());
  for (size_t i = 0; i < content_.size(); ++i) {
    std::string tampered = content_;
    tampered[i] ^= 0x01;
    absl::Status s = keys.verifier->Verify(tampered, *sig);
    EXPECT_EQ(s.code(), absl::StatusCode::kUnauthenticated) << "byte " << i;
    EXPECT_TRUE(absl::StrContains(s.message(), "does not verify")) << s;
  }
  EXPECT_EQ(keys.verifier->Verify(content_ + "x", *sig).code(),
            absl::StatusCode::kUnauthenticated);
}

TEST_P(OpenSslSealTest, EverySignatureByteMatters) {
  Keys keys = MakeKeys(algorithm(), "civil_affairs", strategy());
  auto sig = keys.signer->Sign(content_);
  ASSERT_TRUE(sig.ok());
  for (size_t i = 0; i < sig->size(); ++i) {
    std::string tampered = *sig;
    tampered[i] ^= 0x80;
    absl::Status s = keys.verifier->Verify(content_, tampered);
    EXPECT_EQ(s.code(), absl::StatusCode::kUnauthenticated)
        << "byte " << i << ": " << s;
  }
  EXPECT_EQ(
      keys.verifier->Verify(content_, sig->substr(0, sig->size() - 1)).code(),
      absl::StatusCode::kUnauthenticated);
  EXPECT_EQ(keys.verifier->Verify(content_, "").code(),
            absl::StatusCode::kInvalidArgument);
}

TEST_P(OpenSslSealTest, AnotherDepartmentsKeyFails) {
  Keys ours = MakeKeys(algorithm(), "public_security", strategy());
  Keys theirs = MakeKeys(algorithm(), "natural_resources", strategy());
  auto sig = theirs.signer->Sign(content_);
  ASSERT_TRUE(sig.ok());
  absl::Status s = ours.verifier->Verify(content_, *sig);
  EXPECT_EQ(s.code(), absl::StatusCode::kUnauthenticated);
  EXPECT_TRUE(absl::StrContains(s.message(), "public_security")) << s;
}

TEST_P(OpenSslSealTest, ConcurrentSigningFromOneSigner) {
  Keys keys = MakeKeys(algorithm(), "tax", strategy());
  constexpr int kThreads = 4;
  constexpr int kPerThread = 20;
  std::vector<std::vector<std::string>> sigs(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        auto sig = keys.signer->Sign(content_ + std::to_string(t * 1000 + i));
        sigs[t].push_back(sig.ok() ? *sig : std::string());
      }
    });
  }
  for (auto& th : threads) th.join();
  for (int t = 0; t < kThreads; ++t) {
    for (int i = 0; i < kPerThread; ++i) {
      EXPECT_TRUE(
          keys.verifier
              ->Verify(content_ + std::to_string(t * 1000 + i), sigs[t][i])
              .ok())
          << t << "/" << i;
    }
  }
}

INSTANTIATE_TEST_SUITE_P(
    AllAlgorithms, OpenSslSealTest,
    ::testing::Combine(::testing::Values(SealAlgorithm::kSm2Sm3,
                                         SealAlgorithm::kEd25519),
                       ::testing::Values(ContextStrategy::kCopyTemplate,
                                         ContextStrategy::kFreshPerCall)));

TEST(OpenSslSeal, Sm2SignaturesAreRandomisedEd25519Deterministic) {
  Keys sm2 = MakeKeys(SealAlgorithm::kSm2Sm3, "a");
  EXPECT_NE(*sm2.signer->Sign("x"), *sm2.signer->Sign("x"));
  Keys ed = MakeKeys(SealAlgorithm::kEd25519, "a");
  EXPECT_EQ(*ed.signer->Sign("x"), *ed.signer->Sign("x"));
}

TEST(OpenSslSeal, DeclaredAlgorithmMustMatchTheKey) {
  auto sm2 = GenerateKeyPair(SealAlgorithm::kSm2Sm3);
  ASSERT_TRUE(sm2.ok());
  KeyIdentity wrong{"tax", "k1", SealAlgorithm::kEd25519};
  auto signer = NewSigner(sm2->private_pem, wrong);
  EXPECT_EQ(signer.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(absl::StrContains(signer.status().message(),
                                "is an sm2 key but ed25519 was declared"))
      << signer.status();
  auto verifier = NewVerifier(sm2->public_pem, wrong);
  EXPECT_EQ(verifier.status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(OpenSslSeal, AlgorithmDetection) {
  for (SealAlgorithm a : {SealAlgorithm::kSm2Sm3, SealAlgorithm::kEd25519}) {
    auto pair = GenerateKeyPair(a);
    ASSERT_TRUE(pair.ok());
    EXPECT_EQ(*AlgorithmOfPrivatePem(pair->private_pem), a);
    EXPECT_EQ(*AlgorithmOfPublicPem(pair->public_pem), a);
    EXPECT_EQ(*PublicPemFromPrivatePem(pair->private_pem), pair->public_pem);
    EXPECT_TRUE(
        absl::StartsWith(pair->private_pem, "-----BEGIN PRIVATE KEY-----\n"));
    EXPECT_TRUE(
        absl::StartsWith(pair->public_pem, "-----BEGIN PUBLIC KEY-----\n"));
  }
}

TEST(OpenSslSeal, BadPemIsAClearError) {
  auto s = NewSigner("not a key", {"tax", "k1", SealAlgorithm::kSm2Sm3});
  EXPECT_EQ(s.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(absl::StrContains(s.status().message(), "not a PEM private key"))
      << s.status();
  auto pair = GenerateKeyPair(SealAlgorithm::kEd25519);
  // A public key where a private one is expected.
  auto v = NewSigner(pair->public_pem, {"tax", "k1", SealAlgorithm::kEd25519});
  EXPECT_EQ(v.status().code(), absl::StatusCode::kInvalidArgument);
  auto p = NewVerifier(pair->private_pem.substr(0, 40),
                       {"tax", "k1", SealAlgorithm::kEd25519});
  EXPECT_TRUE(absl::StrContains(p.status().message(), "not a PEM public key"))
      << p.status();
}

}  // namespace
}  // namespace datarun::seal::openssl
