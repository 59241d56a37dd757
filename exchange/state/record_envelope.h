// The envelope of a serialized datarun.v1.Record, decoded in place: the
// fields ingest checks and the state keys on, as views into the bytes,
// without building a Record (no allocation, no copy of the payload).
//
// Callers: exchange/ingest (checks every consumed message with it), the
// RocksDB state store (keys and tombstones of RecordWrite::bytes) and the
// resolver's PROFILE answer (provenance, payload masked on the wire). Pure
// functions; safe from any thread.
//
// Accepts exactly what Record::ParseFromString accepts (the unit test holds
// it to that on valid, truncated and corrupted records): wire structure of
// every field, nested Subject/Timestamp/Any included, UTF-8 of every string
// field, unknown fields skipped, a repeated field's last occurrence wins and
// repeated sub-messages merge. Like ParseFromString it does not decode the
// Any's value (the typed payload): the payload type is checked by name, and
// the payload is decoded where it is served (masking, certificates).
#ifndef DATARUN_EXCHANGE_STATE_RECORD_ENVELOPE_H_
#define DATARUN_EXCHANGE_STATE_RECORD_ENVELOPE_H_

#include <cstdint>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace datarun::state {

struct RecordEnvelope {
  int subject_kind = 0;  // datarun.v1.SubjectKind
  absl::string_view subject_id;
  absl::string_view data_class;
  absl::string_view source_department;
  absl::string_view record_key;
  uint64_t source_version = 0;
  int op = 0;  // datarun.v1.Record.Op
  absl::string_view payload_type_url;
  // The payload's value: the typed department message, still serialized.
  absl::string_view payload_value;
  // Record.event_time, its occurrences merged as protobuf merges them.
  bool has_event_time = false;
  int64_t event_time_seconds = 0;
  int32_t event_time_nanos = 0;
  // Where the payload field (8) sits in the bytes, so that a tombstone can
  // be the same bytes without it. payload_fields counts its occurrences;
  // [payload_begin, payload_end) is the only one when it is 1.
  int payload_fields = 0;
  uint32_t payload_begin = 0;
  uint32_t payload_end = 0;
};

// Decodes `bytes` (a serialized Record) into *out, whose views point into
// `bytes`. InvalidArgument naming the field and byte offset when `bytes` is
// not a Record.
absl::Status DecodeRecordEnvelope(absl::string_view bytes, RecordEnvelope* out);

}  // namespace datarun::state

#endif  // DATARUN_EXCHANGE_STATE_RECORD_ENVELOPE_H_
