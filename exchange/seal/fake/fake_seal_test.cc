#include "exchange/seal/fake/fake_seal.h"

#include "gtest/gtest.h"

namespace datarun::seal::fake {
namespace {

TEST(FakeSeal, RoundTripAndTamper) {
  KeyIdentity id{"tax", "t1", SealAlgorithm::kSm2Sm3};
  FakeSigner signer(id);
  FakeVerifier verifier(id);
  auto sig = signer.Sign("content");
  ASSERT_TRUE(sig.ok());
  EXPECT_EQ(sig->rfind("fake-seal:tax/t1:", 0), 0u) << *sig;
  EXPECT_TRUE(verifier.Verify("content", *sig).ok());
  EXPECT_EQ(verifier.Verify("contenT", *sig).code(),
            absl::StatusCode::kUnauthenticated);
  std::string bad = *sig;
  bad.back() = bad.back() == '0' ? '1' : '0';
  EXPECT_EQ(verifier.Verify("content", bad).code(),
            absl::StatusCode::kUnauthenticated);
  EXPECT_EQ(verifier.Verify("content", "").code(),
            absl::StatusCode::kInvalidArgument);
  FakeVerifier other({"tax", "t2", SealAlgorithm::kSm2Sm3});
  EXPECT_EQ(other.Verify("content", *sig).code(),
            absl::StatusCode::kUnauthenticated);
}

TEST(FakeSeal, FactoryAcceptsOnlyItsOwnFakeKey) {
  KeyIdentity id{"tax", "t1", SealAlgorithm::kEd25519};
  VerifierFactory factory = FakeVerifierFactory();
  EXPECT_TRUE(factory(FakePublicKeyPem(id), id).ok());
  KeyIdentity sm2 = id;
  sm2.algorithm = SealAlgorithm::kSm2Sm3;
  EXPECT_FALSE(factory(FakePublicKeyPem(id), sm2).ok());
  EXPECT_FALSE(factory("-----BEGIN PUBLIC KEY-----", id).ok());
}

}  // namespace
}  // namespace datarun::seal::fake
