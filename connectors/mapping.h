// Mapping and validation of source rows into Record envelopes of one data
// class, as a mapping textproto (connector.proto: Mapping) describes.
//
// Create() checks the mapping against the catalog once (class known, the
// department is its authoritative source, every field path and label
// resolves), so Map() on the hot path only converts and validates values.
// Conversions by payload field type: strings as is; integers (with an
// optional decimal scale: yuan -> fen); bool (true/false, 1/0, 是/否);
// enums by mapped label (e.g. Chinese), full value name or value-name
// suffix in any case; datarun.v1.departments.Date from YYYY-MM-DD,
// YYYYMMDD, YYYY/MM/DD or YYYY年M月D日; Timestamps from RFC 3339 or local
// "YYYY-MM-DD HH:MM:SS"; datarun.v1.Subject from a validated id.
//
// Called by connectors/pipeline for every row. Thread-safety: immutable
// after Create; Map is safe from any thread.
#ifndef DATARUN_CONNECTORS_MAPPING_H_
#define DATARUN_CONNECTORS_MAPPING_H_

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/inlined_vector.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "connectors/connector.pb.h"
#include "connectors/source.h"
#include "exchange/catalog/catalog.h"
#include "exchange/subject/subject_id.h"
#include "google/protobuf/descriptor.h"
#include "proto/datarun/v1/record.pb.h"

namespace datarun::connectors {

// DLQ reasons (header dr-dlq-reason), one counter each.
inline constexpr absl::string_view kReasonBadSubject = "bad_subject";
inline constexpr absl::string_view kReasonMissingField = "missing_field";
inline constexpr absl::string_view kReasonBadType = "bad_type";
inline constexpr absl::string_view kReasonUnknownEnum = "unknown_enum";
inline constexpr absl::string_view kReasonBadCsv = "bad_csv";
inline constexpr absl::string_view kReasonInvalidUtf8 = "invalid_utf8";
inline constexpr absl::string_view kReasonBadJson = "bad_json";

struct RowRejection {
  std::string reason;  // one of the kReason* above
  std::string detail;  // names the column / field and what is wrong
};

// Reads and parses a Mapping textproto; errors name the file and line.
absl::StatusOr<datarun::connectors::v1::Mapping> LoadMapping(
    const std::string& path);

class Mapper {
 public:
  class Wire;  // Encode's writer (mapping_encode.cc), for no other use

 private:
  struct Node;  // the payload's wire layout (mapping_encode.cc)

 public:
  // Where the mapping's columns are in the rows of one Row::layout: indexes
  // into Row::columns, -1 when the row has no such column. Resolving names
  // once per layout (one CSV file) instead of per row.
  struct Binding {
    uint64_t layout = 0;
    int subject = -1;
    int record_key = -1;
    int op = -1;
    int event_time = -1;
    int version = -1;
    absl::InlinedVector<int, 16> fields;  // per mapping field
  };

  // `catalog` must outlive the Mapper.
  static absl::StatusOr<std::unique_ptr<Mapper>> Create(
      const datarun::connectors::v1::Mapping& mapping,
      const catalog::CatalogIndex& catalog, absl::string_view department);
  ~Mapper();

  // Converts `row` into *record (subject, class, department, key, version,
  // op, event time, payload). False when the row is bad: *rejection says
  // why.
  bool Map(const Row& row, datarun::v1::Record* record,
           RowRejection* rejection) const;

  // The binding of `row`'s column names (the first column of a name wins,
  // as in Map).
  Binding Bind(const Row& row) const;

  // The publishing fast path: the serialized Record that Map would produce
  // for `row` into *value and its subject id (the Kafka key) into *key,
  // written directly in the wire format from the converted column values
  // (no reflection, no Record object). `binding` must be Bind() of a row
  // with the same column names (same Row::layout). The same rejections as
  // Map, in the same order. Mappings the direct writer does not cover
  // (canonical JSONL; two fields mapped to one payload field) go through
  // Map and SerializeToString.
  bool Encode(const Row& row, const Binding& binding, std::string* value,
              std::string* key, RowRejection* rejection) const;

  const std::string& topic() const { return topic_; }
  const std::string& dlq_topic() const { return dlq_topic_; }
  const std::string& payload_type() const { return payload_type_; }
  const std::string& catalog_version() const { return catalog_version_; }

 private:
  // How a column's text is converted, by the payload field's type.
  enum class Kind {
    kString,
    kInteger,
    kReal,
    kBool,
    kEnum,
    kDate,
    kTimestamp,
    kSubject
  };
  struct Field {
    std::string column;
    std::vector<const google::protobuf::FieldDescriptor*> path;
    Kind kind = Kind::kString;
    bool required = false;
    int scale = 0;
    // Upper-cased label -> enum value number.
    absl::flat_hash_map<std::string, int> labels;
  };
  // One column's converted value (the member its Kind uses).
  struct Value {
    int64_t integer = 0;  // integers, enums, bools
    double real = 0;
    absl::string_view text;  // strings: a view into the row
    int year = 0, month = 0, day = 0;
    int64_t seconds = 0;
    int32_t nanos = 0;
    std::optional<subject::SubjectId> subject;
  };
  // The envelope fields of a row, validated.
  struct Envelope {
    std::optional<subject::SubjectId> subject;
    absl::string_view record_key;
    datarun::v1::Record::Op op = datarun::v1::Record::OP_UPSERT;
    bool has_event_time = false;
    int64_t event_seconds = 0;
    int32_t event_nanos = 0;
    uint64_t version = 0;
  };

  Mapper();
  bool MapCanonical(const Row& row, datarun::v1::Record* record,
                    RowRejection* rejection) const;
  bool MapEnvelope(const Row& row, const Binding& binding, Envelope* envelope,
                   RowRejection* rejection) const;
  // Empty value of a field: true to skip it, false (rejected) if required.
  bool Missing(const Row& row, const Binding& binding, size_t i,
               RowRejection* rejection) const;
  bool Convert(const Field& field, absl::string_view text, Value* value,
               RowRejection* rejection) const;
  void SetField(const Field& field, const Value& value,
                google::protobuf::Message* payload) const;
  // Encode helpers (mapping_encode.cc).
  void BuildEncoder();
  bool EncodeFallback(const Row& row, std::string* value, std::string* key,
                      RowRejection* rejection) const;
  void EncodeNode(const Node& node, const Value* values, const bool* set,
                  Wire* out) const;

  datarun::connectors::v1::Mapping mapping_;
  const datarun::v1::DataClass* data_class_ = nullptr;
  const google::protobuf::Descriptor* payload_descriptor_ = nullptr;
  const google::protobuf::Message* prototype_ = nullptr;
  std::string topic_;
  std::string dlq_topic_;
  std::string payload_type_;
  std::string type_url_;  // of the payload in the Any
  std::string catalog_version_;
  std::string department_;
  absl::TimeZone zone_;
  std::vector<Field> fields_;
  // The payload's fields in field-number order as a tree of the mapped
  // paths; null when Encode falls back to Map.
  std::unique_ptr<Node> encoder_;
  size_t encode_bound_ = 0;  // see BuildEncoder
};

// Parses a date in one of the accepted forms; false if none matches or the
// date does not exist.
bool ParseDate(absl::string_view text, int* year, int* month, int* day);
// Parses an instant: RFC 3339, or local "YYYY-MM-DD[ T]HH:MM:SS" or
// "YYYY-MM-DD" in `zone`.
bool ParseInstant(absl::string_view text, absl::TimeZone zone, absl::Time* out);
// Parses a decimal "-123.45" shifted by `scale` digits into an integer;
// false on syntax error, overflow, or more fraction digits than `scale`.
bool ParseScaledInteger(absl::string_view text, int scale, int64_t* out);

}  // namespace datarun::connectors

#endif  // DATARUN_CONNECTORS_MAPPING_H_
