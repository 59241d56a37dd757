// Issuing electronic certificates (电子证明) from catalog templates.
//
// The resolver (query kind "certificate") calls Issue with the template the
// request names, the subject, and the subject's records of the template's
// classes as read from StateStore::Profile; deciding whether the requester
// may have the certificate (sharing agreement, consent) is the resolver's
// policy step, done before. Issue fills the template, seals the certificate
// with the issuer department's seal and returns it.
//
// Serial numbers: "<issuer department>-<YYYYMMDDhhmmss UTC of issue>-<16 hex
// digits from OpenSSL RAND_bytes>", e.g.
// "public_security-20261126083012-9f3a1c0b7d2e4a61": unique without
// coordination between exchange instances (64 random bits per second per
// issuer) and unguessable, so a serial cannot be enumerated.
//
// Thread-safety: a CertificateIssuer is immutable; Issue may run
// concurrently (the catalog and signers must outlive it).
#ifndef DATARUN_EXCHANGE_CERTIFICATE_ISSUER_H_
#define DATARUN_EXCHANGE_CERTIFICATE_ISSUER_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "absl/types/span.h"
#include "exchange/catalog/catalog.h"
#include "exchange/certificate/signer_set.h"
#include "proto/datarun/v1/certificate.pb.h"
#include "proto/datarun/v1/record.pb.h"
#include "proto/datarun/v1/subject.pb.h"

namespace datarun::certificate {

// Value shown for a source field when the subject has no record of the class
// ("no property", "no vehicle").
inline constexpr absl::string_view kNoRecord = "无";

// A fresh serial for `department` at `now` (format above).
std::string NewSerial(absl::string_view department, absl::Time now);

class CertificateIssuer {
 public:
  CertificateIssuer(const catalog::CatalogIndex& catalog,
                    const SignerSet& signers)
      : catalog_(catalog), signers_(signers) {}

  // Issues a certificate from template `template_id` for `subject` at `now`
  // (truncated to whole seconds). `records` may hold any records of the
  // subject; only live records (not OP_DELETE) of the template's classes
  // from each class's authoritative source are used.
  //   NotFound           unknown template
  //   FailedPrecondition no seal for the template's issuer department
  //   InvalidArgument    a record about another subject, or an empty subject
  //   DataLoss           a record payload that does not unpack as its class
  absl::StatusOr<v1::Certificate> Issue(absl::string_view template_id,
                                        const v1::Subject& subject,
                                        absl::Span<const v1::Record> records,
                                        absl::Time now) const;

  // Template lookup; nullptr when unknown.
  const v1::CertificateTemplate* FindTemplate(absl::string_view id) const;

 private:
  const catalog::CatalogIndex& catalog_;
  const SignerSet& signers_;
};

}  // namespace datarun::certificate

#endif  // DATARUN_EXCHANGE_CERTIFICATE_ISSUER_H_
