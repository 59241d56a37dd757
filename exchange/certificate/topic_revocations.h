// The revocation topic dr.cert.revoked over the broker seam: an issuer
// publishes a revocation (key = serial, value = proto3 JSON of
// datarun.v1.CertificateRevocation, revocation.proto), a verifier reads the
// topic from the beginning to its current end into an
// InMemoryRevocationList.
//
// Callers: `datarun verify --brokers=...`, the exchange (issuers revoking).
// Thread-safety: each call uses its own consumer; the producer is the
// caller's (thread-safe per broker.h).
#ifndef DATARUN_EXCHANGE_CERTIFICATE_TOPIC_REVOCATIONS_H_
#define DATARUN_EXCHANGE_CERTIFICATE_TOPIC_REVOCATIONS_H_

#include <memory>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "broker_adapters/broker.h"
#include "exchange/certificate/revocation.pb.h"
#include "exchange/certificate/revocation_list.h"

namespace datarun::certificate {

// Sends one revocation (revoked_at set to now when unset) and waits until
// the broker acknowledged it.
absl::Status PublishRevocation(broker::Producer& producer,
                               const v1::CertificateRevocation& revocation,
                               absl::Duration timeout);

// Every revocation on the topic up to its end at the time of the call.
// Null values (tombstones, which issuers must not send) are ignored; a value
// that is not a revocation fails naming its partition and offset.
// DeadlineExceeded when the end is not reached within `timeout`.
absl::StatusOr<std::unique_ptr<InMemoryRevocationList>> ReadRevocationTopic(
    broker::Broker& broker, absl::Duration timeout);

}  // namespace datarun::certificate

#endif  // DATARUN_EXCHANGE_CERTIFICATE_TOPIC_REVOCATIONS_H_
