// FakeSeal: an in-memory, NOT cryptographic stand-in for the seal seam, for
// unit tests of components that sign or verify (certificates, requests, audit
// checkpoints) without OpenSSL keys.
//
// A fake signature is "fake-seal:<department>/<key_id>:<16 hex digits>", the
// digits an FNV-1a hash of the key name and the data: any change of content,
// signature or key makes verification fail with the same codes as the real
// seal (Unauthenticated), but anyone can forge one. Never use outside tests.
//
// Thread-safety: immutable; safe from any thread.
#ifndef DATARUN_EXCHANGE_SEAL_FAKE_FAKE_SEAL_H_
#define DATARUN_EXCHANGE_SEAL_FAKE_FAKE_SEAL_H_

#include <memory>
#include <string>

#include "exchange/seal/keyring.h"
#include "exchange/seal/seal.h"

namespace datarun::seal::fake {

class FakeSigner : public Signer {
 public:
  explicit FakeSigner(KeyIdentity identity) : identity_(std::move(identity)) {}
  absl::StatusOr<std::string> Sign(absl::string_view data) const override;
  const KeyIdentity& identity() const override { return identity_; }

 private:
  const KeyIdentity identity_;
};

class FakeVerifier : public Verifier {
 public:
  explicit FakeVerifier(KeyIdentity identity)
      : identity_(std::move(identity)) {}
  absl::Status Verify(absl::string_view data,
                      absl::string_view signature) const override;
  const KeyIdentity& identity() const override { return identity_; }

 private:
  const KeyIdentity identity_;
};

// The "public key" text of a fake key, to put in PublicKeyEntry.
std::string FakePublicKeyPem(const KeyIdentity& identity);

// For SealKeyring(FakeVerifierFactory()): accepts only FakePublicKeyPem text
// of the same identity.
VerifierFactory FakeVerifierFactory();

}  // namespace datarun::seal::fake

#endif  // DATARUN_EXCHANGE_SEAL_FAKE_FAKE_SEAL_H_
