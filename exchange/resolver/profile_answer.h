// The PROFILE answer of the resolver: reading a subject's records for it and
// adding the disclosed records (masked payload, provenance) to the response
// and the disclosed classes to the subject's audit event.
//
// The hot path of the exchange (DESIGN §8: ≥ 100k answers/s in process), so
// data records are never parsed into Records: the store hands out their
// bytes (StateStore::VisitProfile), the envelope is decoded in place
// (state::DecodeRecordEnvelope) and the payload is filtered on the wire
// (FieldMask::FilterWire). Only the gating records (consent_grant,
// delegation), which the policy reads field by field, are parsed.
//
// Callers: Resolver::Handle. Thread-safety: functions with no shared state;
// a ProfileRecords belongs to one request.
#ifndef DATARUN_EXCHANGE_RESOLVER_PROFILE_ANSWER_H_
#define DATARUN_EXCHANGE_RESOLVER_PROFILE_ANSWER_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "exchange/policy/policy.h"
#include "exchange/state/record_envelope.h"
#include "exchange/state/state_store.h"
#include "proto/datarun/v1/audit.pb.h"
#include "proto/datarun/v1/query.pb.h"
#include "proto/datarun/v1/record.pb.h"

namespace datarun::resolver {

// One subject's data records for a PROFILE answer, in key order. Neither
// copyable nor movable: the views point into `bytes` (a moved short string
// would leave them dangling).
struct ProfileRecords {
  ProfileRecords() = default;
  ProfileRecords(const ProfileRecords&) = delete;
  ProfileRecords& operator=(const ProfileRecords&) = delete;

  std::vector<state::RecordEnvelope> data;
  std::string bytes;  // the stored records, back to back
};

// Reads the live records of `subject_id` of the classes in `read_classes`
// with one prefix scan: the gating classes parsed into `gating`, the others
// as envelopes into `out`. DataLoss names the subject and what is wrong
// when a stored record does not parse.
absl::Status ReadProfile(state::StateStore& store, int32_t partition,
                         absl::string_view subject_id,
                         const absl::flat_hash_set<std::string>& read_classes,
                         ProfileRecords* out,
                         std::vector<datarun::v1::Record>* gating);

// Appends to `response` a DisclosedRecord for each record whose class the
// agreement discloses (payload masked to the agreement's fields, provenance,
// `subject`), and to `event` one DisclosedClass per class with its fields
// and the record keys. DataLoss when a stored payload is not of the class's
// type or does not parse.
absl::Status AnswerProfile(const policy::AgreementPlan& plan,
                           const datarun::v1::Subject& subject,
                           const ProfileRecords& records,
                           datarun::v1::QueryResponse* response,
                           datarun::v1::AuditEvent* event);

}  // namespace datarun::resolver

#endif  // DATARUN_EXCHANGE_RESOLVER_PROFILE_ANSWER_H_
