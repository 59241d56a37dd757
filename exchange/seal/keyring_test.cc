#include "exchange/seal/keyring.h"

#include <memory>
#include <string>

#include "absl/strings/match.h"
#include "absl/time/time.h"
#include "exchange/seal/fake/fake_seal.h"
#include "exchange/seal/openssl/openssl_seal.h"
#include "gtest/gtest.h"

namespace datarun::seal {
namespace {

absl::Time Day(int y, int m, int d) {
  return absl::FromCivil(absl::CivilDay(y, m, d), absl::UTCTimeZone());
}

struct TestKey {
  PublicKeyEntry entry;
  std::unique_ptr<Signer> signer;
};

TestKey MakeKey(const std::string& dept, const std::string& key_id,
                SealAlgorithm a, absl::Time from, absl::Time until) {
  auto pair = openssl::GenerateKeyPair(a);
  EXPECT_TRUE(pair.ok());
  TestKey k;
  k.entry = PublicKeyEntry{dept, key_id, a, pair->public_pem, from, until};
  auto signer = openssl::NewSigner(pair->private_pem, {dept, key_id, a});
  EXPECT_TRUE(signer.ok()) << signer.status();
  k.signer = *std::move(signer);
  return k;
}

class SealKeyringTest : public ::testing::Test {
 protected:
  void SetUp() override {
    // public_security rotated its SM2 key on 2026-07-01.
    old_ = MakeKey("public_security", "ps-2026-01", SealAlgorithm::kSm2Sm3,
                   Day(2026, 1, 1), Day(2026, 7, 1));
    new_ = MakeKey("public_security", "ps-2026-07", SealAlgorithm::kSm2Sm3,
                   Day(2026, 7, 1), absl::InfiniteFuture());
    other_ = MakeKey("natural_resources", "nr-1", SealAlgorithm::kEd25519,
                     absl::InfinitePast(), absl::InfiniteFuture());
    ASSERT_TRUE(ring_.Add(old_.entry).ok());
    ASSERT_TRUE(ring_.Add(new_.entry).ok());
    ASSERT_TRUE(ring_.Add(other_.entry).ok());
  }

  absl::Status Verify(const std::string& dept, const std::string& key_id,
                      SealAlgorithm a, absl::Time at, const std::string& data,
                      const std::string& sig) {
    return ring_.Verify(dept, key_id, a, at, data, sig);
  }

  SealKeyring ring_;
  TestKey old_, new_, other_;
  const std::string data_ = "certificate bytes";
};

TEST_F(SealKeyringTest, RotatedKeyStillVerifiesWhatItSignedWhileValid) {
  EXPECT_EQ(ring_.size(), 3u);
  const std::string old_sig = *old_.signer->Sign(data_);
  EXPECT_TRUE(Verify("public_security", "ps-2026-01", SealAlgorithm::kSm2Sm3,
                     Day(2026, 3, 15), data_, old_sig)
                  .ok());
  const std::string new_sig = *new_.signer->Sign(data_);
  EXPECT_TRUE(Verify("public_security", "ps-2026-07", SealAlgorithm::kSm2Sm3,
                     Day(2026, 11, 26), data_, new_sig)
                  .ok());
  // valid_from is inclusive.
  EXPECT_TRUE(Verify("public_security", "ps-2026-07", SealAlgorithm::kSm2Sm3,
                     Day(2026, 7, 1), data_, new_sig)
                  .ok());
  // The old key's signature does not pass as the new key's.
  EXPECT_EQ(Verify("public_security", "ps-2026-07", SealAlgorithm::kSm2Sm3,
                   Day(2026, 11, 26), data_, old_sig)
                .code(),
            absl::StatusCode::kUnauthenticated);
}

TEST_F(SealKeyringTest, SigningTimeOutsideValidityFails) {
  const std::string old_sig = *old_.signer->Sign(data_);
  absl::Status expired =
      Verify("public_security", "ps-2026-01", SealAlgorithm::kSm2Sm3,
             Day(2026, 7, 1), data_, old_sig);  // valid_until is exclusive
  EXPECT_EQ(expired.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_TRUE(absl::StrContains(expired.message(), "had expired")) << expired;
  const std::string new_sig = *new_.signer->Sign(data_);
  absl::Status early =
      Verify("public_security", "ps-2026-07", SealAlgorithm::kSm2Sm3,
             Day(2026, 6, 30), data_, new_sig);
  EXPECT_EQ(early.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_TRUE(absl::StrContains(early.message(), "not yet valid")) << early;
}

TEST_F(SealKeyringTest, UnknownKeyWrongAlgorithmWrongDepartment) {
  const std::string sig = *other_.signer->Sign(data_);
  absl::Status unknown =
      Verify("natural_resources", "nr-2", SealAlgorithm::kEd25519,
             Day(2026, 1, 1), data_, sig);
  EXPECT_EQ(unknown.code(), absl::StatusCode::kNotFound);
  EXPECT_TRUE(absl::StrContains(unknown.message(), "natural_resources/nr-2"))
      << unknown;
  absl::Status wrong_alg =
      Verify("natural_resources", "nr-1", SealAlgorithm::kSm2Sm3,
             Day(2026, 1, 1), data_, sig);
  EXPECT_EQ(wrong_alg.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(absl::StrContains(wrong_alg.message(), "declares algorithm sm2"))
      << wrong_alg;
  // natural_resources' signature presented as public_security's seal.
  const std::string sm2_other =
      *MakeKey("natural_resources", "x", SealAlgorithm::kSm2Sm3,
               absl::InfinitePast(), absl::InfiniteFuture())
           .signer->Sign(data_);
  EXPECT_EQ(Verify("public_security", "ps-2026-07", SealAlgorithm::kSm2Sm3,
                   Day(2026, 8, 1), data_, sm2_other)
                .code(),
            absl::StatusCode::kUnauthenticated);
  // Tampered content through the keyring.
  EXPECT_EQ(Verify("natural_resources", "nr-1", SealAlgorithm::kEd25519,
                   Day(2026, 1, 1), data_ + " ", sig)
                .code(),
            absl::StatusCode::kUnauthenticated);
}

TEST_F(SealKeyringTest, AddRejectsBadEntries) {
  EXPECT_EQ(ring_.Add(old_.entry).code(), absl::StatusCode::kAlreadyExists);
  PublicKeyEntry backwards = new_.entry;
  backwards.key_id = "backwards";
  backwards.valid_until = Day(2026, 1, 1);
  absl::Status s = ring_.Add(backwards);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(absl::StrContains(s.message(), "is not before valid_until")) << s;
  PublicKeyEntry mislabeled = other_.entry;  // an Ed25519 PEM declared SM2
  mislabeled.key_id = "mislabeled";
  mislabeled.algorithm = SealAlgorithm::kSm2Sm3;
  s = ring_.Add(mislabeled);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(absl::StrContains(s.message(), "natural_resources/mislabeled"))
      << s;
  PublicKeyEntry garbage = other_.entry;
  garbage.key_id = "garbage";
  garbage.public_key_pem = "-----BEGIN PUBLIC KEY-----\nAAAA\n";
  EXPECT_EQ(ring_.Add(garbage).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ring_.size(), 3u);
}

TEST(SealKeyringFake, WorksWithTheFakeSeal) {
  SealKeyring ring(fake::FakeVerifierFactory());
  KeyIdentity id{"tax", "t1", SealAlgorithm::kEd25519};
  ASSERT_TRUE(ring.Add({"tax", "t1", SealAlgorithm::kEd25519,
                        fake::FakePublicKeyPem(id), absl::InfinitePast(),
                        absl::InfiniteFuture()})
                  .ok());
  fake::FakeSigner signer(id);
  const std::string sig = *signer.Sign("x");
  EXPECT_TRUE(
      ring.Verify("tax", "t1", SealAlgorithm::kEd25519, absl::Now(), "x", sig)
          .ok());
  EXPECT_EQ(
      ring.Verify("tax", "t1", SealAlgorithm::kEd25519, absl::Now(), "y", sig)
          .code(),
      absl::StatusCode::kUnauthenticated);
}

}  // namespace
}  // namespace datarun::seal
