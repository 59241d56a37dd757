// Renders payload field values as the Chinese text of a certificate:
// dates as 2026年11月26日, amounts in fen as 元, areas in centi-m² as 平方米,
// basis points as percent, booleans as 是/否, enums by their Chinese label
// (enum_labels_table.inc, generated from the department protos' comments).
//
// Used by the certificate issuer (issuer.cc) and the renderer. Pure
// functions over protobuf reflection; thread-safe.
#ifndef DATARUN_EXCHANGE_CERTIFICATE_FIELD_FORMAT_H_
#define DATARUN_EXCHANGE_CERTIFICATE_FIELD_FORMAT_H_

#include <string>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/message.h"

namespace datarun::certificate {

// Certificates show times in China Standard Time (UTC+8, no DST).
absl::TimeZone ChinaTime();

// "2026年11月26日" in China Standard Time.
std::string FormatChineseDate(absl::Time t);
// "2026年11月26日 16时30分" in China Standard Time.
std::string FormatChineseDateTime(absl::Time t);

// The Chinese label of an enum value, or the value name without the enum's
// prefix (VEHICLE_STATUS_NORMAL -> NORMAL) when none is known.
std::string EnumLabel(const google::protobuf::EnumValueDescriptor& value);

// The text of top-level field `field` of `message`: repeated values joined
// by "、", unset message fields as "无".
std::string FormatField(const google::protobuf::Message& message,
                        const google::protobuf::FieldDescriptor& field);

}  // namespace datarun::certificate

#endif  // DATARUN_EXCHANGE_CERTIFICATE_FIELD_FORMAT_H_
