#include "exchange/certificate/verify.h"

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "common/proto_time.h"
#include "exchange/seal/document_seal.h"

namespace datarun::certificate {
namespace {

std::string Rfc3339(absl::Time t) {
  return absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", t, absl::UTCTimeZone());
}

Verification Fail(Verdict verdict, std::string reason) {
  return {verdict, std::move(reason)};
}

// Maps the seal layer's canonical codes (seal.h, keyring.h) to verdicts.
Verification FromSealStatus(const absl::Status& status) {
  switch (status.code()) {
    case absl::StatusCode::kOk:
      return {Verdict::kValid, ""};
    case absl::StatusCode::kUnauthenticated:
      return Fail(Verdict::kTampered, std::string(status.message()));
    case absl::StatusCode::kNotFound:
      return Fail(Verdict::kUnknownKey, std::string(status.message()));
    case absl::StatusCode::kFailedPrecondition:
      return Fail(Verdict::kKeyNotValid, std::string(status.message()));
    case absl::StatusCode::kInvalidArgument:
      // Declared algorithm differs from the key's, or a malformed signature:
      // either way the seal as presented is not the one that was applied.
      return Fail(Verdict::kTampered, std::string(status.message()));
    default:
      return Fail(Verdict::kError, status.ToString());
  }
}

// Seal checks shared by certificates and dossiers. `document_time` is the
// document's own issued_at / assembled_at, which the seal time must equal
// (the signature covers both, so this only catches a sealer bug, but it
// pins "key valid at issue time" to the document's stated time).
Verification CheckSeal(const google::protobuf::Message& document,
                       absl::string_view purpose, const v1::Seal& seal,
                       const google::protobuf::Timestamp& document_time,
                       const VerifyOptions& options) {
  if (options.keyring == nullptr) {
    return Fail(Verdict::kError, "no keyring to verify the seal with");
  }
  Verification v = FromSealStatus(
      seal::VerifyDocumentSeal(*options.keyring, purpose, document));
  if (!v.valid()) return v;
  if (seal.signed_at().seconds() != document_time.seconds() ||
      seal.signed_at().nanos() != document_time.nanos()) {
    return Fail(
        Verdict::kTampered,
        absl::StrCat("seal time ", Rfc3339(FromProtoTime(seal.signed_at())),
                     " differs from the document's time ",
                     Rfc3339(FromProtoTime(document_time))));
  }
  return v;
}

}  // namespace

absl::string_view VerdictName(Verdict verdict) {
  switch (verdict) {
    case Verdict::kValid:
      return "valid";
    case Verdict::kMalformed:
      return "malformed";
    case Verdict::kTampered:
      return "tampered";
    case Verdict::kUnknownKey:
      return "unknown key";
    case Verdict::kKeyNotValid:
      return "key not valid at issue time";
    case Verdict::kWrongIssuer:
      return "wrong issuer";
    case Verdict::kExpired:
      return "expired";
    case Verdict::kRevoked:
      return "revoked";
    case Verdict::kError:
      return "error";
  }
  return "error";
}

Verification VerifyCertificate(const v1::Certificate& cert,
                               const VerifyOptions& options) {
  if (cert.serial().empty())
    return Fail(Verdict::kMalformed, "serial is empty");
  if (cert.issuer_department().empty()) {
    return Fail(Verdict::kMalformed, "issuer_department is empty");
  }
  if (cert.subject().id().empty()) {
    return Fail(Verdict::kMalformed, "subject id is empty");
  }
  if (!cert.has_issued_at() || !cert.has_expires_at()) {
    return Fail(Verdict::kMalformed, "issued_at or expires_at is missing");
  }
  if (!cert.has_seal() || cert.seal().signature().empty()) {
    return Fail(Verdict::kMalformed,
                "certificate is not sealed (no signature)");
  }
  if (cert.seal().department() != cert.issuer_department()) {
    return Fail(Verdict::kWrongIssuer,
                absl::StrCat("sealed by \"", cert.seal().department(),
                             "\" but issued in the name of \"",
                             cert.issuer_department(), "\""));
  }
  if (options.catalog != nullptr) {
    const v1::CertificateTemplate* tmpl = nullptr;
    for (const auto& t : options.catalog->certificate_templates()) {
      if (t.id() == cert.template_id()) tmpl = &t;
    }
    if (tmpl == nullptr) {
      return Fail(Verdict::kWrongIssuer,
                  absl::StrCat("the catalog has no certificate template \"",
                               cert.template_id(), "\""));
    }
    if (tmpl->issuer_department() != cert.issuer_department()) {
      return Fail(Verdict::kWrongIssuer,
                  absl::StrCat("template \"", tmpl->id(), "\" is issued by \"",
                               tmpl->issuer_department(), "\", not \"",
                               cert.issuer_department(), "\""));
    }
  }
  Verification v = CheckSeal(cert, seal::kPurposeCertificate, cert.seal(),
                             cert.issued_at(), options);
  if (!v.valid()) return v;

  const absl::Time expires = FromProtoTime(cert.expires_at());
  if (options.now >= expires) {
    return Fail(Verdict::kExpired,
                absl::StrCat("expired at ", Rfc3339(expires), " (now ",
                             Rfc3339(options.now), ")"));
  }
  if (options.revocations != nullptr) {
    auto found = options.revocations->Find(cert.serial());
    if (!found.ok()) {
      return Fail(Verdict::kError, absl::StrCat("revocation lookup: ",
                                                found.status().ToString()));
    }
    for (const v1::CertificateRevocation& r : *found) {
      // Only the issuer may revoke its own certificate.
      if (r.issuer_department() != cert.issuer_department()) continue;
      return Fail(
          Verdict::kRevoked,
          absl::StrCat(
              "revoked by ", r.issuer_department(),
              r.has_revoked_at() ? " at " : "",
              r.has_revoked_at() ? Rfc3339(FromProtoTime(r.revoked_at())) : "",
              r.reason().empty() ? "" : ": ", r.reason()));
    }
  }
  return {Verdict::kValid, ""};
}

Verification VerifyDossier(const v1::Dossier& dossier,
                           const VerifyOptions& options) {
  if (dossier.id().empty()) return Fail(Verdict::kMalformed, "id is empty");
  if (dossier.subject().id().empty()) {
    return Fail(Verdict::kMalformed, "subject id is empty");
  }
  if (!dossier.has_seal() || dossier.seal().signature().empty()) {
    return Fail(Verdict::kMalformed, "dossier is not sealed (no signature)");
  }
  return CheckSeal(dossier, seal::kPurposeDossier, dossier.seal(),
                   dossier.assembled_at(), options);
}

}  // namespace datarun::certificate
