// Certificate revocation: the seam `datarun verify` and the exchange consult
// to learn whether an issuer revoked a certificate, by serial.
//
// Real system: the compacted topic `dr.cert.revoked` (revocation.proto has
// the record format). Here: InMemoryRevocationList (also the unit-test fake),
// filled from a JSON-lines file (LoadRevocationFile, one
// datarun.v1.CertificateRevocation per line in proto3 JSON, the format of
// the topic's values). A topic-backed list would consume the topic from the
// beginning into an InMemoryRevocationList and keep following it.
//
// Only a revocation by the certificate's own issuer counts (verify.cc): a
// department cannot revoke another department's certificates.
//
// Thread-safety: InMemoryRevocationList is safe for concurrent Add and Find.
#ifndef DATARUN_EXCHANGE_CERTIFICATE_REVOCATION_LIST_H_
#define DATARUN_EXCHANGE_CERTIFICATE_REVOCATION_LIST_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "exchange/certificate/revocation.pb.h"

namespace datarun::certificate {

// Name of the compacted revocation topic, keyed by serial.
inline constexpr absl::string_view kRevocationTopic = "dr.cert.revoked";

class RevocationList {
 public:
  virtual ~RevocationList() = default;
  // Every revocation recorded for `serial` (usually none or one).
  virtual absl::StatusOr<std::vector<v1::CertificateRevocation>> Find(
      absl::string_view serial) const = 0;
};

class InMemoryRevocationList : public RevocationList {
 public:
  // InvalidArgument when serial or issuer_department is empty.
  absl::Status Add(const v1::CertificateRevocation& revocation);
  absl::StatusOr<std::vector<v1::CertificateRevocation>> Find(
      absl::string_view serial) const override;
  size_t size() const;

 private:
  mutable absl::Mutex mu_;
  absl::flat_hash_map<std::string, std::vector<v1::CertificateRevocation>>
      by_serial_ ABSL_GUARDED_BY(mu_);
};

// One revocation as a JSON line (no trailing newline), the topic value.
absl::StatusOr<std::string> RevocationToJson(
    const v1::CertificateRevocation& revocation);

// Reads a JSON-lines revocation file. Blank lines and lines starting with
// '#' are skipped; a bad line fails with "<path>:<line>: ...".
absl::StatusOr<std::unique_ptr<InMemoryRevocationList>> LoadRevocationFile(
    const std::string& path);

// Appends one revocation line to `path` (created if missing).
absl::Status AppendRevocationFile(const std::string& path,
                                  const v1::CertificateRevocation& revocation);

}  // namespace datarun::certificate

#endif  // DATARUN_EXCHANGE_CERTIFICATE_REVOCATION_LIST_H_
