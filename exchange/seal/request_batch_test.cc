// Batch signatures over requests: every request of batches of many sizes
// verifies through the keyring on its own; an altered request, a wrong
// path, index or size, another department's key and a batch signature on a
// certificate are refused.
#include "exchange/seal/request_batch.h"

#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "exchange/seal/keyring.h"
#include "exchange/seal/openssl/openssl_seal.h"
#include "exchange/seal/signed_bytes.h"
#include "gtest/gtest.h"
#include "proto/datarun/v1/query.pb.h"

namespace datarun::seal {
namespace {

struct Dept {
  std::unique_ptr<Signer> signer;
  PublicKeyEntry entry;
};

Dept MakeDept(const std::string& name, SealAlgorithm a) {
  auto pair = openssl::GenerateKeyPair(a);
  EXPECT_TRUE(pair.ok()) << pair.status();
  Dept d;
  auto s = openssl::NewSigner(pair->private_pem, KeyIdentity{name, "k1", a});
  EXPECT_TRUE(s.ok()) << s.status();
  d.signer = *std::move(s);
  d.entry.department = name;
  d.entry.key_id = "k1";
  d.entry.algorithm = a;
  d.entry.public_key_pem = pair->public_pem;
  return d;
}

std::string RequestBytes(int i) {
  datarun::v1::QueryRequest r;
  r.set_request_id(absl::StrCat("req-", i));
  r.set_requester_department("tax");
  r.set_matter("m");
  r.set_key_id("k1");
  auto b = SignedBytes(r, kPurposeRequest);
  EXPECT_TRUE(b.ok()) << b.status();
  return *b;
}

class RequestBatchTest : public ::testing::TestWithParam<SealAlgorithm> {
 protected:
  void SetUp() override {
    tax_ = MakeDept("tax", GetParam());
    other_ = MakeDept("other", GetParam());
    ASSERT_TRUE(ring_.Add(tax_.entry).ok());
    ASSERT_TRUE(ring_.Add(other_.entry).ok());
  }
  absl::Status Verify(absl::string_view dept, absl::string_view data,
                      absl::string_view sig) {
    return ring_.Verify(dept, "k1", GetParam(), absl::Now(), data, sig);
  }

  Dept tax_, other_;
  SealKeyring ring_;
};

TEST_P(RequestBatchTest, EveryRequestOfEveryBatchSizeVerifiesOnItsOwn) {
  for (int n : {1, 2, 3, 4, 5, 7, 8, 9, 13, 64, 100}) {
    std::vector<std::string> data;
    for (int i = 0; i < n; ++i) data.push_back(RequestBytes(n * 1000 + i));
    auto sigs = SignBatch(*tax_.signer, data);
    ASSERT_TRUE(sigs.ok()) << sigs.status();
    ASSERT_EQ(sigs->size(), static_cast<size_t>(n));
    for (int i = 0; i < n; ++i) {
      EXPECT_TRUE(IsBatchSignature((*sigs)[i]));
      EXPECT_TRUE(Verify("tax", data[i], (*sigs)[i]).ok())
          << "leaf " << i << " of " << n << ": "
          << Verify("tax", data[i], (*sigs)[i]);
      // A request verified with another request's proof fails.
      if (n > 1) {
        const int j = (i + 1) % n;
        EXPECT_EQ(Verify("tax", data[i], (*sigs)[j]).code(),
                  absl::StatusCode::kUnauthenticated)
            << i << " with the proof of " << j << " of " << n;
      }
    }
  }
}

TEST_P(RequestBatchTest, TamperingIsRefused) {
  std::vector<std::string> data;
  for (int i = 0; i < 5; ++i) data.push_back(RequestBytes(i));
  auto sigs = SignBatch(*tax_.signer, data);
  ASSERT_TRUE(sigs.ok()) << sigs.status();
  const std::string& sig = (*sigs)[2];

  // Changed request.
  std::string altered = data[2];
  altered.back() ^= 1;
  absl::Status s = Verify("tax", altered, sig);
  EXPECT_EQ(s.code(), absl::StatusCode::kUnauthenticated) << s;
  EXPECT_NE(s.message().find("inclusion path"), std::string::npos) << s;

  // Wrong path: one sibling hash flipped.
  std::string bad_path = sig;
  bad_path[17] ^= 1;
  EXPECT_EQ(Verify("tax", data[2], bad_path).code(),
            absl::StatusCode::kUnauthenticated);

  // Wrong index (same size and path length: leaf 3 of 5).
  std::string bad_index = sig;
  bad_index[11] = 3;
  EXPECT_EQ(Verify("tax", data[2], bad_index).code(),
            absl::StatusCode::kUnauthenticated);

  // Index or size making the path length wrong, or out of range.
  std::string bad_size = sig;
  bad_size[15] = 9;
  s = Verify("tax", data[2], bad_size);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << s;
  std::string out_of_range = sig;
  out_of_range[11] = 7;
  s = Verify("tax", data[2], out_of_range);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << s;

  // Truncated: no root signature, shorter than the header.
  EXPECT_EQ(Verify("tax", data[2], sig.substr(0, 17 + 3 * 32)).code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(Verify("tax", data[2], sig.substr(0, 10)).code(),
            absl::StatusCode::kInvalidArgument);

  // Root signature altered.
  std::string bad_root_sig = sig;
  bad_root_sig.back() ^= 1;
  EXPECT_FALSE(Verify("tax", data[2], bad_root_sig).ok());

  // Claimed by another department: its key did not sign the root.
  EXPECT_EQ(Verify("other", data[2], sig).code(),
            absl::StatusCode::kUnauthenticated);

  // The untouched proof still verifies (nothing above poisoned the cache).
  EXPECT_TRUE(Verify("tax", data[2], sig).ok());
}

TEST_P(RequestBatchTest, OnlyRequestsMayBeBatchSigned) {
  datarun::v1::QueryRequest r;
  r.set_request_id("x");
  auto cert_bytes = SignedBytes(r, kPurposeCertificate);
  ASSERT_TRUE(cert_bytes.ok());
  auto sigs = SignBatch(*tax_.signer, {*cert_bytes});
  ASSERT_TRUE(sigs.ok()) << sigs.status();
  absl::Status s = Verify("tax", *cert_bytes, (*sigs)[0]);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << s;
  EXPECT_NE(s.message().find("requests only"), std::string::npos) << s;
}

TEST_P(RequestBatchTest, KeyValidityIsStillCheckedPerRequest) {
  const std::string data = RequestBytes(1);
  auto sigs = SignBatch(*tax_.signer, {data});
  ASSERT_TRUE(sigs.ok());
  SealKeyring ring;
  PublicKeyEntry expired = tax_.entry;
  expired.valid_until = absl::Now() - absl::Hours(1);
  expired.valid_from = expired.valid_until - absl::Hours(1);
  ASSERT_TRUE(ring.Add(expired).ok());
  EXPECT_EQ(ring.Verify("tax", "k1", GetParam(), absl::Now(), data, (*sigs)[0])
                .code(),
            absl::StatusCode::kFailedPrecondition);
}

TEST(RequestBatch, RejectsEmptyBatchesAndKnowsTheTreeShape) {
  auto ed = MakeDept("tax", SealAlgorithm::kEd25519);
  EXPECT_EQ(SignBatch(*ed.signer, {}).status().code(),
            absl::StatusCode::kInvalidArgument);
  // RFC 9162 path lengths: leaf 4 of 5 is promoted twice (one hash), leaf 0
  // of 5 needs three.
  std::vector<std::string> data;
  for (int i = 0; i < 5; ++i) data.push_back(RequestBytes(i));
  auto sigs = SignBatch(*ed.signer, data);
  ASSERT_TRUE(sigs.ok());
  auto p0 = ParseBatchSignature((*sigs)[0]);
  auto p4 = ParseBatchSignature((*sigs)[4]);
  ASSERT_TRUE(p0.ok() && p4.ok());
  EXPECT_EQ(p0->path.size(), 3u);
  EXPECT_EQ(p4->path.size(), 1u);
  EXPECT_EQ(RootFromPath(data[0], *p0), RootFromPath(data[4], *p4));
}

INSTANTIATE_TEST_SUITE_P(Algorithms, RequestBatchTest,
                         ::testing::Values(SealAlgorithm::kEd25519,
                                           SealAlgorithm::kSm2Sm3));

}  // namespace
}  // namespace datarun::seal
