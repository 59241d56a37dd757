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
#include "absl/container/inlined_vector.h"
#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "exchange/policy/policy.h"
#include "exchange/state/record_envelope.h"
#include "exchange/state/state_store.h"
#include "google/protobuf/timestamp.pb.h"
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

// One disclosed class of a PROFILE answer as the audit event lists it (a
// DisclosedClass without copies): views into the agreement's plan and into
// the subject's ProfileRecords, valid while both are.
struct DisclosedView {
  absl::string_view data_class;
  const std::vector<std::string>* fields = nullptr;  // the agreement's mask
  absl::InlinedVector<absl::string_view, 2> record_keys;
};

// Appends to `response` a DisclosedRecord for each record whose class the
// agreement discloses (payload masked to the agreement's fields, provenance,
// `subject`), and to `disclosed` one entry per class with its fields and the
// record keys, in the order the classes first appear. DataLoss when a stored
// payload is not of the class's type or does not parse.
absl::Status AnswerProfile(const policy::AgreementPlan& plan,
                           const datarun::v1::Subject& subject,
                           const ProfileRecords& records,
                           datarun::v1::QueryResponse* response,
                           std::vector<DisclosedView>* disclosed);

// The same, with the disclosed classes added to `event` as DisclosedClass
// messages.
absl::Status AnswerProfile(const policy::AgreementPlan& plan,
                           const datarun::v1::Subject& subject,
                           const ProfileRecords& records,
                           datarun::v1::QueryResponse* response,
                           datarun::v1::AuditEvent* event);

// The audit event of subject `subject_index` of a PROFILE `request` (a
// request naming no subject: index 0 and no subject), without its event_id,
// into `out` (AuditEventWriter): the bytes Resolver::Handle's message path
// (building an AuditEvent, AnnotateEvent, serializing) gives for the same
// answer, written without the message. `disclosed` is what AnswerProfile
// returned for the subject (empty when denied).
void WriteProfileEvent(const datarun::v1::QueryRequest& request,
                       int subject_index,
                       const google::protobuf::Timestamp& answered_at,
                       absl::string_view catalog_version,
                       const policy::RequestGrant& grant,
                       const policy::Decision& decision,
                       absl::Span<const DisclosedView> disclosed,
                       std::string* out);

}  // namespace datarun::resolver

#endif  // DATARUN_EXCHANGE_RESOLVER_PROFILE_ANSWER_H_
