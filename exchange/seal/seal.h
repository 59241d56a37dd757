// Electronic seals (电子公章): the signing and verification seam.
//
// A department's seal is a key pair, SM2 with SM3 (GB/T 32918, distinguishing
// id "1234567812345678") or Ed25519. Certificates, dossiers, request
// authenticity and audit checkpoints all sign through `Signer` and check
// through `Verifier`; which bytes get signed is decided by the caller (see
// signed_bytes.h for the deterministic, domain-separated encoding).
//
// Implementations: exchange/seal/openssl/ (the real one, OpenSSL 3) and
// exchange/seal/fake/ (a trivial in-memory FakeSeal for unit tests of other
// components). Keys come from key_store.h; choosing the right public key for a
// signature (key id, rotation, validity) is keyring.h.
//
// Thread-safety: every Signer and Verifier is immutable after construction and
// safe to call from any number of threads at once.
//
// Verification failures are canonical codes so callers can report the reason
// without parsing text:
//   kUnauthenticated     the signature does not verify (content or signature
//                        altered, or made by another key)
//   kInvalidArgument     the declared algorithm does not match the key, or the
//                        input is malformed (e.g. empty signature)
//   kNotFound            (keyring) no such department or key id
//   kFailedPrecondition  (keyring) the key was not valid at the signing time
#ifndef DATARUN_EXCHANGE_SEAL_SEAL_H_
#define DATARUN_EXCHANGE_SEAL_SEAL_H_

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace datarun::seal {

// Values equal catalog.proto's datarun.v1.SealAlgorithm (callers cast
// between the two); never renumber.
enum class SealAlgorithm {
  kSm2Sm3 = 1,   // catalog SEAL_ALGORITHM_SM2_SM3
  kEd25519 = 2,  // catalog SEAL_ALGORITHM_ED25519
};

// The GB/T 32918 default distinguishing id used for every SM2 seal.
inline constexpr absl::string_view kSm2DistinguishingId = "1234567812345678";

// "sm2" or "ed25519", the spelling of the CLI and of the docs.
absl::string_view AlgorithmName(SealAlgorithm algorithm);
// The catalog enum name, e.g. "SEAL_ALGORITHM_SM2_SM3".
absl::string_view AlgorithmCatalogName(SealAlgorithm algorithm);
// Accepts "sm2", "sm2_sm3", "ed25519" and the catalog enum names (any case).
absl::StatusOr<SealAlgorithm> ParseAlgorithm(absl::string_view name);

// Who a key belongs to.
struct KeyIdentity {
  std::string department;  // catalog department id, e.g. "public_security"
  std::string key_id;      // unique within the department
  SealAlgorithm algorithm = SealAlgorithm::kEd25519;
};

// A key pair as PEM text: PKCS#8 "-----BEGIN PRIVATE KEY-----" and
// SubjectPublicKeyInfo "-----BEGIN PUBLIC KEY-----", the layout stock
// `openssl genpkey` / `openssl pkey -pubout` produce and read.
struct KeyPairPem {
  std::string private_pem;
  std::string public_pem;
};

class Signer {
 public:
  virtual ~Signer() = default;
  // Returns the signature over `data`: DER (r, s) for SM2 (70-72 bytes),
  // 64 raw bytes for Ed25519.
  virtual absl::StatusOr<std::string> Sign(absl::string_view data) const = 0;
  virtual const KeyIdentity& identity() const = 0;

  const std::string& department() const { return identity().department; }
  const std::string& key_id() const { return identity().key_id; }
  SealAlgorithm algorithm() const { return identity().algorithm; }
};

class Verifier {
 public:
  virtual ~Verifier() = default;
  // OK when `signature` is a valid signature of `data` under this key;
  // otherwise a Status whose code and message say why (see above).
  virtual absl::Status Verify(absl::string_view data,
                              absl::string_view signature) const = 0;
  virtual const KeyIdentity& identity() const = 0;

  const std::string& department() const { return identity().department; }
  const std::string& key_id() const { return identity().key_id; }
  SealAlgorithm algorithm() const { return identity().algorithm; }
};

}  // namespace datarun::seal

#endif  // DATARUN_EXCHANGE_SEAL_SEAL_H_
