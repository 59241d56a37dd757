// The OpenSSL 3 implementation of the seal seam (exchange/seal/seal.h): SM2
// with SM3 (GB/T 32918, distinguishing id "1234567812345678") and Ed25519,
// plus key generation and PEM conversion used by key_store.h and
// `datarun keygen`.
//
// Every OpenSSL error is converted to absl::Status in this directory and
// nowhere else; the message names the operation and carries the drained
// OpenSSL error queue.
//
// Thread-safety: the functions are thread-safe. Signers and Verifiers are
// immutable after construction and may be shared between threads: an
// EVP_MD_CTX is not shareable, so each call works on its own context, either
// initialised from scratch (ContextStrategy::kFreshPerCall) or duplicated
// from a template prepared once at construction (kCopyTemplate, the default:
// it skips the provider fetch and, for SM2, setting the distinguishing id on
// every call; tests/bench:seal measures both).
#ifndef DATARUN_EXCHANGE_SEAL_OPENSSL_OPENSSL_SEAL_H_
#define DATARUN_EXCHANGE_SEAL_OPENSSL_OPENSSL_SEAL_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "exchange/seal/seal.h"

namespace datarun::seal::openssl {

// A fresh key pair from the OpenSSL default random generator.
absl::StatusOr<KeyPairPem> GenerateKeyPair(SealAlgorithm algorithm);

// The algorithm of a PEM key (private PKCS#8 or public SPKI). An EC key on
// the SM2 curve counts as SM2. Other key types are an InvalidArgument error.
absl::StatusOr<SealAlgorithm> AlgorithmOfPrivatePem(absl::string_view pem);
absl::StatusOr<SealAlgorithm> AlgorithmOfPublicPem(absl::string_view pem);

// The SubjectPublicKeyInfo PEM of a private key.
absl::StatusOr<std::string> PublicPemFromPrivatePem(
    absl::string_view private_pem);

enum class ContextStrategy { kFreshPerCall, kCopyTemplate };

// A signer for a PKCS#8 private key. Fails with InvalidArgument when the PEM
// does not parse or its key type differs from identity.algorithm.
absl::StatusOr<std::unique_ptr<Signer>> NewSigner(
    absl::string_view private_pem, KeyIdentity identity,
    ContextStrategy strategy = ContextStrategy::kCopyTemplate);

// A verifier for an SPKI public key, with the same checks.
absl::StatusOr<std::unique_ptr<Verifier>> NewVerifier(
    absl::string_view public_pem, KeyIdentity identity);

}  // namespace datarun::seal::openssl

#endif  // DATARUN_EXCHANGE_SEAL_OPENSSL_OPENSSL_SEAL_H_
