#include "exchange/seal/request_batch.h"

#include <openssl/evp.h>

#include <memory>
#include <utility>

#include "absl/base/internal/endian.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "exchange/seal/signed_bytes.h"

namespace datarun::seal {
namespace {

constexpr size_t kHash = 32;
// magic, leaf index, tree size, path length.
constexpr size_t kHeader = 8 + 4 + 4 + 1;

std::string Sha256(absl::string_view prefix, absl::string_view a,
                   absl::string_view b = {}) {
  // One context per thread (fetching the digest and allocating a context
  // per hash would cost more than the hash of 64 bytes).
  static EVP_MD* const kSha256 = EVP_MD_fetch(nullptr, "SHA256", nullptr);
  thread_local std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(
      EVP_MD_CTX_new(), &EVP_MD_CTX_free);
  std::string out(kHash, '\0');
  unsigned int len = 0;
  EVP_DigestInit_ex(ctx.get(), kSha256, nullptr);
  EVP_DigestUpdate(ctx.get(), prefix.data(), prefix.size());
  EVP_DigestUpdate(ctx.get(), a.data(), a.size());
  EVP_DigestUpdate(ctx.get(), b.data(), b.size());
  EVP_DigestFinal_ex(ctx.get(), reinterpret_cast<unsigned char*>(&out[0]),
                     &len);
  return out;
}

// Largest power of two strictly below n (n >= 2).
size_t SplitPoint(size_t n) {
  size_t k = 1;
  while (k * 2 < n) k *= 2;
  return k;
}

// RFC 9162 §2.1.1 MTH over leaves[begin, end); appends the audit path of
// each leaf in the range to paths[leaf] (siblings from leaf to root are
// appended bottom-up because recursion returns bottom-up).
std::string Build(const std::vector<std::string>& leaves, size_t begin,
                  size_t end, std::vector<std::vector<std::string>>* paths) {
  if (end - begin == 1) return leaves[begin];
  const size_t k = SplitPoint(end - begin);
  std::string left = Build(leaves, begin, begin + k, paths);
  std::string right = Build(leaves, begin + k, end, paths);
  for (size_t i = begin; i < begin + k; ++i) (*paths)[i].push_back(right);
  for (size_t i = begin + k; i < end; ++i) (*paths)[i].push_back(left);
  return MerkleNodeHash(left, right);
}

// The number of path hashes RFC 9162 §2.1.3.2 consumes for (index, size):
// the verification loop below, without the hashing.
size_t PathLength(uint64_t index, uint64_t size) {
  size_t n = 0;
  uint64_t fn = index, sn = size - 1;
  while (sn > 0) {
    ++n;
    if ((fn & 1) == 0 && fn == sn) {
      while ((fn & 1) == 0 && fn != 0) {
        fn >>= 1;
        sn >>= 1;
      }
    }
    fn >>= 1;
    sn >>= 1;
  }
  return n;
}

std::string RequestPrefix() {
  return absl::StrCat(kSealDomain, absl::string_view("\0", 1), kPurposeRequest,
                      absl::string_view("\0", 1));
}

}  // namespace

std::string MerkleLeafHash(absl::string_view data) {
  return Sha256(absl::string_view("\0", 1), data);
}

std::string MerkleNodeHash(absl::string_view left, absl::string_view right) {
  return Sha256("\x01", left, right);
}

std::string BatchRootBytes(uint32_t tree_size, absl::string_view root) {
  char size[4];
  absl::big_endian::Store32(size, tree_size);
  return absl::StrCat(kSealDomain, absl::string_view("\0", 1),
                      kPurposeRequestBatch, absl::string_view("\0", 1),
                      absl::string_view(size, 4), root);
}

absl::StatusOr<std::vector<std::string>> SignBatch(
    const Signer& signer, const std::vector<std::string>& signed_bytes) {
  if (signed_bytes.empty() || signed_bytes.size() > kMaxBatchSize) {
    return absl::InvalidArgumentError(
        absl::StrCat("a signed batch holds 1..", kMaxBatchSize,
                     " requests, not ", signed_bytes.size()));
  }
  std::vector<std::string> leaves;
  leaves.reserve(signed_bytes.size());
  for (const auto& b : signed_bytes) leaves.push_back(MerkleLeafHash(b));
  std::vector<std::vector<std::string>> paths(leaves.size());
  const std::string root = Build(leaves, 0, leaves.size(), &paths);
  const uint32_t size = static_cast<uint32_t>(leaves.size());
  ASSIGN_OR_RETURN(std::string root_signature,
                   signer.Sign(BatchRootBytes(size, root)));
  std::vector<std::string> out;
  out.reserve(leaves.size());
  for (uint32_t i = 0; i < size; ++i) {
    std::string s(kBatchSignatureMagic);
    char header[9];
    absl::big_endian::Store32(header, i);
    absl::big_endian::Store32(header + 4, size);
    header[8] = static_cast<char>(paths[i].size());
    s.append(header, sizeof(header));
    for (const auto& h : paths[i]) s.append(h);
    s.append(root_signature);
    out.push_back(std::move(s));
  }
  return out;
}

bool IsBatchSignature(absl::string_view signature) {
  return absl::StartsWith(signature, kBatchSignatureMagic);
}

absl::StatusOr<BatchProof> ParseBatchSignature(absl::string_view s) {
  if (!IsBatchSignature(s) || s.size() < kHeader) {
    return absl::InvalidArgumentError(
        absl::StrCat("batch signature has ", s.size(),
                     " bytes, shorter than its ", kHeader, "-byte header"));
  }
  BatchProof p;
  p.leaf_index = absl::big_endian::Load32(s.data() + 8);
  p.tree_size = absl::big_endian::Load32(s.data() + 12);
  const size_t path_len = static_cast<uint8_t>(s[16]);
  if (p.tree_size == 0 || p.tree_size > kMaxBatchSize ||
      p.leaf_index >= p.tree_size) {
    return absl::InvalidArgumentError(
        absl::StrCat("batch signature names leaf ", p.leaf_index,
                     " of a batch of ", p.tree_size));
  }
  const size_t want = PathLength(p.leaf_index, p.tree_size);
  if (path_len != want) {
    return absl::InvalidArgumentError(absl::StrCat(
        "batch signature carries ", path_len, " path hashes; leaf ",
        p.leaf_index, " of a batch of ", p.tree_size, " needs ", want));
  }
  if (s.size() <= kHeader + path_len * kHash) {
    return absl::InvalidArgumentError(
        "batch signature ends before its root signature");
  }
  for (size_t i = 0; i < path_len; ++i)
    p.path.emplace_back(s.substr(kHeader + i * kHash, kHash));
  p.root_signature = std::string(s.substr(kHeader + path_len * kHash));
  return p;
}

std::string RootFromPath(absl::string_view data, const BatchProof& proof) {
  // RFC 9162 §2.1.3.2, with the path length already checked.
  uint64_t fn = proof.leaf_index, sn = proof.tree_size - 1;
  std::string r = MerkleLeafHash(data);
  for (const std::string& p : proof.path) {
    if ((fn & 1) == 1 || fn == sn) {
      r = MerkleNodeHash(p, r);
      while ((fn & 1) == 0 && fn != 0) {
        fn >>= 1;
        sn >>= 1;
      }
    } else {
      r = MerkleNodeHash(r, p);
    }
    fn >>= 1;
    sn >>= 1;
  }
  return r;
}

absl::Status BatchRootCache::Verify(absl::string_view key_name,
                                    const Verifier& verifier,
                                    absl::string_view root_bytes,
                                    absl::string_view root_signature) {
  const std::string id = absl::StrCat(key_name, absl::string_view("\0", 1),
                                      Sha256("", root_bytes, root_signature));
  std::shared_ptr<InFlight> flight;
  bool mine = false;
  {
    absl::MutexLock l(&mu_);
    if (verified_.contains(id)) return absl::OkStatus();
    auto [it, inserted] = in_flight_.try_emplace(id);
    if (inserted) it->second = std::make_shared<InFlight>();
    flight = it->second;
    mine = inserted;
  }
  if (!mine) {
    flight->done.WaitForNotification();
    return flight->status;
  }
  flight->status = verifier.Verify(root_bytes, root_signature);
  {
    absl::MutexLock l(&mu_);
    in_flight_.erase(id);
    // Failures are not remembered: a wrong signature costs its sender a
    // verify each time, and nothing negative can go stale.
    if (flight->status.ok() && verified_.insert(id).second) {
      order_.push_back(id);
      while (order_.size() > capacity_) {
        verified_.erase(order_.front());
        order_.pop_front();
      }
    }
  }
  flight->done.Notify();
  return flight->status;
}

absl::Status VerifyBatchSignature(absl::string_view key_name,
                                  const Verifier& verifier,
                                  absl::string_view data,
                                  absl::string_view signature,
                                  BatchRootCache& cache) {
  if (!absl::StartsWith(data, RequestPrefix())) {
    return absl::InvalidArgumentError(
        "a batch signature is accepted for requests only");
  }
  ASSIGN_OR_RETURN(BatchProof proof, ParseBatchSignature(signature));
  const std::string root = RootFromPath(data, proof);
  absl::Status st =
      cache.Verify(key_name, verifier, BatchRootBytes(proof.tree_size, root),
                   proof.root_signature);
  if (!st.ok()) {
    return absl::Status(
        st.code(),
        absl::StrCat("leaf ", proof.leaf_index, " of a batch of ",
                     proof.tree_size,
                     ": the request and its inclusion path do not lead to a "
                     "root signed by ",
                     key_name, " (", st.message(), ")"));
  }
  return absl::OkStatus();
}

}  // namespace datarun::seal
