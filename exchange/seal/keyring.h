// SealKeyring: the public seal keys of all departments, with their validity
// periods, answering "does this signature hold under the key it names, and
// was that key valid when the seal was applied?".
//
// Rotation: a department lists several keys; each signature names its key by
// key id and carries its signing time. A rotated (no longer current) key
// still verifies what it signed while valid, and nothing signed outside
// [valid_from, valid_until). The keyring is independent of catalog.proto; an
// adapter fills PublicKeyEntry from Department.SealKey.
//
// Thread-safety: Add and Verify may be called concurrently from any threads.
#ifndef DATARUN_EXCHANGE_SEAL_KEYRING_H_
#define DATARUN_EXCHANGE_SEAL_KEYRING_H_

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <utility>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "exchange/seal/request_batch.h"
#include "exchange/seal/seal.h"

namespace datarun::seal {

// One public key as the catalog lists it (catalog.proto Department.SealKey).
struct PublicKeyEntry {
  std::string department;
  std::string key_id;
  SealAlgorithm algorithm = SealAlgorithm::kSm2Sm3;
  std::string public_key_pem;
  // Signatures made before valid_from or at/after valid_until are refused.
  absl::Time valid_from = absl::InfinitePast();
  absl::Time valid_until = absl::InfiniteFuture();
};

// Builds a verifier from public PEM text. The default is OpenSSL's; unit
// tests of other components may pass fake::FakeVerifierFactory().
using VerifierFactory = std::function<absl::StatusOr<std::unique_ptr<Verifier>>(
    absl::string_view public_pem, KeyIdentity identity)>;

class SealKeyring {
 public:
  SealKeyring();  // OpenSSL verifiers
  explicit SealKeyring(VerifierFactory factory);

  // Adds a key. InvalidArgument when the PEM does not parse, its key type
  // differs from entry.algorithm, or valid_from >= valid_until;
  // AlreadyExists for a second key with the same (department, key id).
  absl::Status Add(const PublicKeyEntry& entry);

  // Verifies a seal: `signature` over `data`, claimed to be made by
  // (department, key_id) with `declared` algorithm at `signed_at`.
  //   NotFound            unknown department or key id
  //   InvalidArgument     declared algorithm differs from the key's
  //   FailedPrecondition  signed_at is outside the key's validity
  //   Unauthenticated     the signature does not verify
  // A request's signed bytes may also carry a batch signature (the key's
  // signature over a Merkle root, request_batch.h); each distinct root is
  // verified once.
  absl::Status Verify(absl::string_view department, absl::string_view key_id,
                      SealAlgorithm declared, absl::Time signed_at,
                      absl::string_view data,
                      absl::string_view signature) const;

  size_t size() const;

 private:
  struct Key {
    PublicKeyEntry entry;
    std::unique_ptr<Verifier> verifier;
  };

  const VerifierFactory factory_;
  mutable BatchRootCache batch_roots_;
  mutable absl::Mutex mu_;
  // Keyed by (department, key id). Entries are never removed, so a Key*
  // stays valid after the lock is released.
  std::map<std::pair<std::string, std::string>, std::unique_ptr<Key>> keys_
      ABSL_GUARDED_BY(mu_);
};

}  // namespace datarun::seal

#endif  // DATARUN_EXCHANGE_SEAL_KEYRING_H_
