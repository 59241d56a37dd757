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
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "connectors/connector.pb.h"
#include "connectors/source.h"
#include "exchange/catalog/catalog.h"
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
  // `catalog` must outlive the Mapper.
  static absl::StatusOr<std::unique_ptr<Mapper>> Create(
      const datarun::connectors::v1::Mapping& mapping,
      const catalog::CatalogIndex& catalog, absl::string_view department);

  // Converts `row` into *record (subject, class, department, key, version,
  // op, event time, payload). False when the row is bad: *rejection says
  // why.
  bool Map(const Row& row, datarun::v1::Record* record,
           RowRejection* rejection) const;

  const std::string& topic() const { return topic_; }
  const std::string& dlq_topic() const { return dlq_topic_; }
  const std::string& payload_type() const { return payload_type_; }
  const std::string& catalog_version() const { return catalog_version_; }

 private:
  struct Field {
    std::string column;
    std::vector<const google::protobuf::FieldDescriptor*> path;
    bool required = false;
    int scale = 0;
    // Upper-cased label -> enum value number.
    absl::flat_hash_map<std::string, int> labels;
  };

  Mapper() = default;
  bool MapCanonical(const Row& row, datarun::v1::Record* record,
                    RowRejection* rejection) const;
  bool SetField(const Field& field, absl::string_view value,
                google::protobuf::Message* payload,
                RowRejection* rejection) const;

  datarun::connectors::v1::Mapping mapping_;
  const datarun::v1::DataClass* data_class_ = nullptr;
  const google::protobuf::Descriptor* payload_descriptor_ = nullptr;
  const google::protobuf::Message* prototype_ = nullptr;
  std::string topic_;
  std::string dlq_topic_;
  std::string payload_type_;
  std::string catalog_version_;
  std::string department_;
  absl::TimeZone zone_;
  std::vector<Field> fields_;
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
