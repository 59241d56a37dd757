// Offline verification of certificates and dossiers: what `datarun verify`
// runs and what a receiving office's system would run.
//
// A certificate is valid when: it is sealed by its own issuer department;
// the template exists in the catalog and names that issuer (when a catalog
// is given); the seal's key is known and was valid at the issue time; the
// signature covers the certificate as presented; the seal time equals the
// issue time; it has not expired at `now`; and its issuer has not revoked
// it (when a revocation list is given).
//
// Thread-safety: stateless functions; the keyring and revocation list are
// thread-safe themselves.
#ifndef DATARUN_EXCHANGE_CERTIFICATE_VERIFY_H_
#define DATARUN_EXCHANGE_CERTIFICATE_VERIFY_H_

#include <string>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "exchange/certificate/revocation_list.h"
#include "exchange/seal/keyring.h"
#include "proto/datarun/v1/catalog.pb.h"
#include "proto/datarun/v1/certificate.pb.h"

namespace datarun::certificate {

enum class Verdict {
  kValid,
  kMalformed,    // missing serial, issuer, subject, times, or not sealed
  kTampered,     // signature does not verify (content, seal or signature
                 // altered, or signed by another key)
  kUnknownKey,   // no such department / key id in the catalog
  kKeyNotValid,  // key expired or not yet valid at the issue time
  kWrongIssuer,  // sealed by another department than the issuer, or the
                 // template names another issuer / is unknown
  kExpired,      // now >= expires_at
  kRevoked,      // the issuer revoked it
  kError,        // the check itself failed (e.g. revocation list unreadable)
};

// "valid", "tampered", "expired", ... (the CLI's spelling).
absl::string_view VerdictName(Verdict verdict);

struct Verification {
  Verdict verdict = Verdict::kError;
  // Human-readable reason naming what is wrong; empty when valid.
  std::string reason;
  bool valid() const { return verdict == Verdict::kValid; }
};

struct VerifyOptions {
  const seal::SealKeyring* keyring = nullptr;   // required
  const v1::Catalog* catalog = nullptr;         // optional: template checks
  const RevocationList* revocations = nullptr;  // optional
  absl::Time now = absl::Now();
};

Verification VerifyCertificate(const v1::Certificate& certificate,
                               const VerifyOptions& options);

// A dossier: sealed (by any catalog department's valid key), seal time
// equals assembled_at. Dossiers do not expire and are not revoked.
Verification VerifyDossier(const v1::Dossier& dossier,
                           const VerifyOptions& options);

}  // namespace datarun::certificate

#endif  // DATARUN_EXCHANGE_CERTIFICATE_VERIFY_H_
