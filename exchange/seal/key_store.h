// The keys directory: where departments' seal key pairs live on disk.
//
//   <dir>/<department>/<key_id>.key.pem   PKCS#8 private key, mode 0600
//   <dir>/<department>/<key_id>.pub.pem   SubjectPublicKeyInfo, mode 0644
//
// The same PEM files stock `openssl genpkey` and `openssl pkey -pubout` write,
// so keys move freely between this store and the openssl CLI. Used by
// `datarun keygen` (Generate) and by the exchange core to load the signer of
// the department it seals for. Verifiers are not loaded from here but from
// the public PEM text the catalog lists (keyring.h).
//
// Thread-safety: a KeyStore holds only its path; calls may run concurrently,
// but two Generate calls for the same key race on the file system (one fails
// with AlreadyExists, which is the intended outcome).
#ifndef DATARUN_EXCHANGE_SEAL_KEY_STORE_H_
#define DATARUN_EXCHANGE_SEAL_KEY_STORE_H_

#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "exchange/seal/seal.h"

namespace datarun::seal {

// InvalidArgument unless `name` is a safe path component: 1-128 characters
// of [A-Za-z0-9._-], not starting with '.'. `what` names the field in the
// message ("department", "key id").
absl::Status CheckKeyName(absl::string_view what, absl::string_view name);

class KeyStore {
 public:
  explicit KeyStore(std::string dir) : dir_(std::move(dir)) {}

  std::string PrivateKeyPath(absl::string_view department,
                             absl::string_view key_id) const;
  std::string PublicKeyPath(absl::string_view department,
                            absl::string_view key_id) const;

  // Writes a key pair. Creates <dir> and <dir>/<department> (0700) as
  // needed. Never overwrites: AlreadyExists when either file exists.
  absl::Status Write(absl::string_view department, absl::string_view key_id,
                     const KeyPairPem& pair) const;

  // Generates a fresh key pair with OpenSSL and writes it.
  absl::StatusOr<KeyPairPem> Generate(absl::string_view department,
                                      absl::string_view key_id,
                                      SealAlgorithm algorithm) const;

  // The signer for (department, key id); the algorithm is read from the key.
  // PermissionDenied when the private key file is readable by group or
  // others (like ssh, a leaked-looking key is refused rather than used).
  absl::StatusOr<std::unique_ptr<Signer>> LoadSigner(
      absl::string_view department, absl::string_view key_id) const;

  // The public key PEM text, as it goes into the catalog.
  absl::StatusOr<std::string> ReadPublicPem(absl::string_view department,
                                            absl::string_view key_id) const;

 private:
  std::string dir_;
};

// A verifier from public PEM text (e.g. a catalog SealKey.public_key_pem).
absl::StatusOr<std::unique_ptr<Verifier>> LoadVerifier(
    absl::string_view public_pem, KeyIdentity identity);

}  // namespace datarun::seal

#endif  // DATARUN_EXCHANGE_SEAL_KEY_STORE_H_
