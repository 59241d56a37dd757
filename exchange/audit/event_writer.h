// AuditEventWriter: writes a datarun.v1.AuditEvent's wire bytes field by
// field, without building the message. The resolver's PROFILE answers (the
// exchange's hot path, DESIGN §8) encode their audit event with it and hand
// the bytes to AuditLog::AppendEncoded, which puts the event_id in front:
// building, serializing (with protobuf's UTF-8 checks and size pass) and
// clearing an AuditEvent per answer cost more than the bytes themselves
// (docs/benchmarks.md, "Resolver profile queries").
//
// The bytes equal AuditEvent::SerializeAsString() of the same event only if
// the caller writes the fields in increasing field number, as protobuf
// serializes them, and follows proto3 presence: singular strings and enums
// are skipped when empty/zero (String, Enum do that), messages and repeated
// elements are written whenever the message has them (Message, Disclosed,
// RepeatedString always write). event_writer_test compares the two.
//
// Thread-safety: one writer per thread; it writes into the caller's string.
#ifndef DATARUN_EXCHANGE_AUDIT_EVENT_WRITER_H_
#define DATARUN_EXCHANGE_AUDIT_EVENT_WRITER_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "google/protobuf/message_lite.h"

namespace datarun::audit {

// AuditEvent field numbers (proto/datarun/v1/audit.proto).
enum AuditEventField : int {
  kEventId = 1,
  kTime = 2,
  kRequestId = 3,
  kRequesterDepartment = 4,
  kOfficerId = 5,
  kOnBehalfOf = 6,
  kMatter = 7,
  kSubject = 8,
  kKind = 9,
  kDisclosed = 10,
  kDecision = 11,
  kRule = 12,
  kDetail = 13,
  kCatalogVersion = 14,
  kConsentExemptClasses = 15,
  kConsentExemptionBasis = 16,
  kDocumentId = 17,
};

class AuditEventWriter {
 public:
  // Writes into `out`, replacing what it held but keeping its capacity. The
  // bytes are complete (and `out` sized to them) once the writer is
  // destroyed.
  explicit AuditEventWriter(std::string* out);
  ~AuditEventWriter() { out_->resize(n_); }
  AuditEventWriter(const AuditEventWriter&) = delete;
  AuditEventWriter& operator=(const AuditEventWriter&) = delete;

  // A singular string field; nothing when empty (proto3).
  void String(int field, absl::string_view value) {
    if (!value.empty()) LengthDelimited(field, value);
  }
  // One element of a repeated string field (written even when empty).
  void RepeatedString(int field, absl::string_view value) {
    LengthDelimited(field, value);
  }
  // A singular enum field; nothing when 0 (proto3).
  void Enum(int field, int value);
  // A message field the event has (set, even if empty): serialized by the
  // message itself, so unknown fields it carries come along as protobuf
  // would write them.
  void Message(int field, const google::protobuf::MessageLite& message);
  // One DisclosedClass (field kDisclosed): its data_class, fields and
  // record_keys, each element written as DisclosedClass::add_* would keep it.
  void Disclosed(absl::string_view data_class,
                 absl::Span<const std::string> fields,
                 absl::Span<const absl::string_view> record_keys);

 private:
  // Room for `k` more bytes at the write position, which it returns. The
  // string is sized ahead and written through a pointer: appending each
  // tag, length and value to a std::string cost more than the bytes.
  char* Room(size_t k) {
    if (n_ + k > out_->size()) Grow(k);
    return &(*out_)[n_];
  }
  void Grow(size_t k);
  void Done(const char* end) { n_ = end - out_->data(); }
  void LengthDelimited(int field, absl::string_view value);

  std::string* const out_;
  size_t n_ = 0;  // bytes written
};

// The bytes of field 1 (event_id) followed by `rest`: the serialized event
// when `rest` is the serialization of the same event without its id
// (field 1 comes first).
void PrependEventId(absl::string_view event_id, absl::string_view rest,
                    std::string* out);

}  // namespace datarun::audit

#endif  // DATARUN_EXCHANGE_AUDIT_EVENT_WRITER_H_
