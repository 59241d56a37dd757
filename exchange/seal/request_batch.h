// Batch signatures for requests: a department signs the Merkle root of many
// requests once instead of each request, and every request carries that
// root signature plus its inclusion path. Each request stays individually
// provable as the department's (anyone with the public key can check it on
// its own, e.g. from the audit trail), but the asymmetric cost (Ed25519
// ~80 us sign / ~150 us verify here, SM2 several times more) is paid once
// per batch on each side.
//
// Tree: RFC 9162 (Certificate Transparency v2) §2.1 Merkle tree hash over
// SHA-256, leaves = SHA-256(0x00 || signed bytes of one request), nodes =
// SHA-256(0x01 || left || right); the domain bytes keep a leaf from being
// passed off as a node. The signed bytes of a request are exactly the ones
// a single signature covers: seal::SignedBytes(request without signature,
// "request") (signed_bytes.h).
//
// The department's key signs
//   "datarun-seal-v1" NUL "request-batch" NUL <tree size, u32 BE> <root, 32>
// and each request's `signature` field holds the compound signature
//   "drbatch1" <leaf index, u32 BE> <tree size, u32 BE> <path length, u8>
//   <path: length x 32-byte sibling hashes, leaf to root> <root signature>
// (docs/architecture.md, "Batch-signed requests"). A plain Ed25519 or SM2
// signature never starts with the 8-byte magic except by a 2^-64 chance,
// and then fails verification (fail closed).
//
// Callers: QueryClient (SignBatch), SealKeyring::Verify (through
// VerifyBatchSignature, for data with the request purpose only).
// Thread-safety: free functions are stateless; BatchRootCache is
// thread-safe.
#ifndef DATARUN_EXCHANGE_SEAL_REQUEST_BATCH_H_
#define DATARUN_EXCHANGE_SEAL_REQUEST_BATCH_H_

#include <cstdint>
#include <deque>
#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "exchange/seal/seal.h"

namespace datarun::seal {

inline constexpr absl::string_view kBatchSignatureMagic = "drbatch1";
inline constexpr absl::string_view kPurposeRequestBatch = "request-batch";
// A batch larger than this is split by the signer (paths stay <= 16 hashes).
inline constexpr size_t kMaxBatchSize = 1 << 16;

// SHA-256(0x00 || data) and SHA-256(0x01 || left || right), 32 bytes each.
std::string MerkleLeafHash(absl::string_view data);
std::string MerkleNodeHash(absl::string_view left, absl::string_view right);

// The bytes the department's key signs for a batch with this root.
std::string BatchRootBytes(uint32_t tree_size, absl::string_view root);

// Signs `signed_bytes` (one entry per request, each seal::SignedBytes of the
// request without signature for purpose "request") with one signature over
// their Merkle root; returns the compound signature of each entry, in order.
// InvalidArgument when empty or larger than kMaxBatchSize.
absl::StatusOr<std::vector<std::string>> SignBatch(
    const Signer& signer, const std::vector<std::string>& signed_bytes);

// Whether `signature` is in the compound format (starts with the magic).
bool IsBatchSignature(absl::string_view signature);

// A compound signature taken apart.
struct BatchProof {
  uint32_t leaf_index = 0;
  uint32_t tree_size = 0;
  std::vector<std::string> path;  // sibling hashes, leaf to root
  std::string root_signature;
};

// InvalidArgument naming what is malformed (short, index out of range, path
// length not the one the index and size imply, no root signature).
absl::StatusOr<BatchProof> ParseBatchSignature(absl::string_view signature);

// The root that `data` and the proof's path lead to (RFC 9162 §2.1.3.2).
std::string RootFromPath(absl::string_view data, const BatchProof& proof);

// Remembers roots whose signature verified, keyed by (key name, root bytes,
// root signature), so one batch costs one asymmetric verify however many of
// its requests arrive. Caching a successful verify is safe: the outcome of a
// verify of the same bytes, signature and key never changes, and key
// validity is still checked per request by the keyring. Bounded, oldest
// dropped first. Single flight: the requests of one batch tend to arrive
// together on several threads; one of them verifies, the others wait for
// its outcome instead of verifying the same root again.
class BatchRootCache {
 public:
  explicit BatchRootCache(size_t capacity = 4096) : capacity_(capacity) {}

  // Verifies the root signature with `verifier` unless this exact (key,
  // root, signature) verified before.
  absl::Status Verify(absl::string_view key_name, const Verifier& verifier,
                      absl::string_view root_bytes,
                      absl::string_view root_signature);

 private:
  struct InFlight {
    absl::Notification done;
    absl::Status status;  // set before `done`
  };

  const size_t capacity_;
  absl::Mutex mu_;
  absl::flat_hash_set<std::string> verified_ ABSL_GUARDED_BY(mu_);
  std::deque<std::string> order_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<std::string, std::shared_ptr<InFlight>> in_flight_
      ABSL_GUARDED_BY(mu_);
};

// Verifies a compound signature over `data` (the request's signed bytes):
// recomputes the root from the path, then the root signature through
// `cache`. Unauthenticated when the root's signature does not verify (data
// altered, wrong path or index, another key); InvalidArgument when the
// compound signature is malformed or `data` is not a request's signed
// bytes (batch signatures are accepted for requests only).
absl::Status VerifyBatchSignature(absl::string_view key_name,
                                  const Verifier& verifier,
                                  absl::string_view data,
                                  absl::string_view signature,
                                  BatchRootCache& cache);

}  // namespace datarun::seal

#endif  // DATARUN_EXCHANGE_SEAL_REQUEST_BATCH_H_
