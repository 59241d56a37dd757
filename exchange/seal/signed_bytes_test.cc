#include "exchange/seal/signed_bytes.h"

#include <string>

#include "absl/strings/match.h"
#include "exchange/seal/openssl/openssl_seal.h"
#include "google/protobuf/struct.pb.h"
#include "google/protobuf/timestamp.pb.h"
#include "gtest/gtest.h"

namespace datarun::seal {
namespace {

using google::protobuf::Struct;

// A certificate-like message: Struct holds a map, whose wire order is
// unspecified unless serialization is deterministic.
Struct Content(bool reversed) {
  Struct s;
  const char* keys[] = {"subject",  "issuer", "address",   "household_head",
                        "relation", "serial", "issued_at", "template"};
  const int n = sizeof(keys) / sizeof(keys[0]);
  for (int i = 0; i < n; ++i) {
    const int k = reversed ? n - 1 - i : i;
    (*s.mutable_fields())[keys[k]].set_string_value(std::string("v-") +
                                                    keys[k]);
  }
  return s;
}

TEST(SignedBytes, LayoutIsDomainPurposeTypeThenMessage) {
  google::protobuf::Timestamp t;
  t.set_seconds(1764144000);
  auto bytes = SignedBytes(t, kPurposeCertificate);
  ASSERT_TRUE(bytes.ok()) << bytes.status();
  const std::string header = std::string(
      "datarun-seal-v1\0certificate\0google.protobuf.Timestamp\0", 54);
  ASSERT_TRUE(absl::StartsWith(*bytes, header));
  google::protobuf::Timestamp back;
  ASSERT_TRUE(back.ParseFromString(bytes->substr(header.size())));
  EXPECT_EQ(back.seconds(), 1764144000);
}

TEST(SignedBytes, DeterministicWhateverTheMapInsertionOrder) {
  Struct a = Content(false);
  Struct b = Content(true);
  auto ba = SignedBytes(a, kPurposeCertificate);
  auto bb = SignedBytes(b, kPurposeCertificate);
  ASSERT_TRUE(ba.ok());
  ASSERT_TRUE(bb.ok());
  EXPECT_EQ(*ba, *bb);
  // And a re-parsed copy encodes to the same bytes (what a verifier does).
  Struct reparsed;
  ASSERT_TRUE(reparsed.ParseFromString(a.SerializeAsString()));
  EXPECT_EQ(*SignedBytes(reparsed, kPurposeCertificate), *ba);
}

TEST(SignedBytes, RequestSignatureIsNotACertificateSeal) {
  auto pair = openssl::GenerateKeyPair(SealAlgorithm::kEd25519);
  ASSERT_TRUE(pair.ok());
  KeyIdentity id{"public_security", "ps-1", SealAlgorithm::kEd25519};
  auto signer = openssl::NewSigner(pair->private_pem, id);
  auto verifier = openssl::NewVerifier(pair->public_pem, id);
  ASSERT_TRUE(signer.ok() && verifier.ok());
  Struct msg = Content(false);
  auto sig = SealMessage(**signer, msg, kPurposeRequest);
  ASSERT_TRUE(sig.ok()) << sig.status();
  EXPECT_TRUE(VerifyMessage(**verifier, msg, kPurposeRequest, *sig).ok());
  EXPECT_EQ(VerifyMessage(**verifier, msg, kPurposeCertificate, *sig).code(),
            absl::StatusCode::kUnauthenticated);
  // Changing one value of the content breaks the seal.
  (*msg.mutable_fields())["address"].set_string_value("elsewhere");
  EXPECT_EQ(VerifyMessage(**verifier, msg, kPurposeRequest, *sig).code(),
            absl::StatusCode::kUnauthenticated);
}

TEST(SignedBytes, BadPurposeIsRefused) {
  Struct msg;
  EXPECT_EQ(SignedBytes(msg, "").status().code(),
            absl::StatusCode::kInvalidArgument);
  auto s = SignedBytes(msg, std::string("cert\0ificate", 12));
  EXPECT_EQ(s.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(absl::StrContains(s.status().message(), "position 4"))
      << s.status();
  EXPECT_FALSE(SignedBytes(msg, "Certificate").ok());
}

}  // namespace
}  // namespace datarun::seal
