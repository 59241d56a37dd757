#include "exchange/certificate/field_format.h"

#include <cstdint>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "google/protobuf/timestamp.pb.h"

namespace datarun::certificate {
namespace {

namespace pb = google::protobuf;

const absl::flat_hash_map<std::string, std::string>& Labels() {
  static const auto* labels = new absl::flat_hash_map<std::string, std::string>{
#include "exchange/certificate/enum_labels_table.inc"
  };
  return *labels;
}

std::string FormatFen(int64_t fen) {
  const char* sign = fen < 0 ? "-" : "";
  uint64_t abs = fen < 0 ? -static_cast<uint64_t>(fen) : fen;
  return absl::StrFormat("%s%d.%02d元", sign, abs / 100, abs % 100);
}

// Integer fields carry their unit in the name (department proto convention).
std::string FormatInteger(absl::string_view name, int64_t v) {
  if (absl::EndsWith(name, "_fen")) return FormatFen(v);
  if (absl::EndsWith(name, "_centi_sqm")) {
    return absl::StrFormat("%d.%02d平方米", v / 100, (v < 0 ? -v : v) % 100);
  }
  if (absl::EndsWith(name, "_bp")) {
    return absl::StrFormat("%d.%02d%%", v / 100, (v < 0 ? -v : v) % 100);
  }
  return absl::StrCat(v);
}

std::string FormatMessage(const pb::Message& m);

std::string FormatValue(const pb::Message& m, const pb::FieldDescriptor& f,
                        int index) {
  const pb::Reflection* r = m.GetReflection();
  const bool rep = f.is_repeated();
  switch (f.cpp_type()) {
    case pb::FieldDescriptor::CPPTYPE_STRING: {
      std::string s =
          rep ? r->GetRepeatedString(m, &f, index) : r->GetString(m, &f);
      return s.empty() ? "无" : s;
    }
    case pb::FieldDescriptor::CPPTYPE_BOOL:
      return (rep ? r->GetRepeatedBool(m, &f, index) : r->GetBool(m, &f))
                 ? "是"
                 : "否";
    case pb::FieldDescriptor::CPPTYPE_INT32:
      return FormatInteger(f.name(), rep ? r->GetRepeatedInt32(m, &f, index)
                                         : r->GetInt32(m, &f));
    case pb::FieldDescriptor::CPPTYPE_INT64:
      return FormatInteger(f.name(), rep ? r->GetRepeatedInt64(m, &f, index)
                                         : r->GetInt64(m, &f));
    case pb::FieldDescriptor::CPPTYPE_UINT32:
      return absl::StrCat(rep ? r->GetRepeatedUInt32(m, &f, index)
                              : r->GetUInt32(m, &f));
    case pb::FieldDescriptor::CPPTYPE_UINT64:
      return absl::StrCat(rep ? r->GetRepeatedUInt64(m, &f, index)
                              : r->GetUInt64(m, &f));
    case pb::FieldDescriptor::CPPTYPE_DOUBLE:
      return absl::StrCat(rep ? r->GetRepeatedDouble(m, &f, index)
                              : r->GetDouble(m, &f));
    case pb::FieldDescriptor::CPPTYPE_FLOAT:
      return absl::StrCat(rep ? r->GetRepeatedFloat(m, &f, index)
                              : r->GetFloat(m, &f));
    case pb::FieldDescriptor::CPPTYPE_ENUM:
      return EnumLabel(rep ? *r->GetRepeatedEnum(m, &f, index)
                           : *r->GetEnum(m, &f));
    case pb::FieldDescriptor::CPPTYPE_MESSAGE:
      if (!rep && !r->HasField(m, &f)) return "无";
      return FormatMessage(rep ? r->GetRepeatedMessage(m, &f, index)
                               : r->GetMessage(m, &f));
  }
  return "";
}

std::string FormatMessage(const pb::Message& m) {
  const std::string& type = m.GetDescriptor()->full_name();
  const pb::Descriptor* d = m.GetDescriptor();
  const pb::Reflection* r = m.GetReflection();
  auto int_field = [&](const char* name) -> int64_t {
    const pb::FieldDescriptor* f = d->FindFieldByName(name);
    return f == nullptr ? 0 : r->GetInt32(m, f);
  };
  auto str_field = [&](const char* name) -> std::string {
    const pb::FieldDescriptor* f = d->FindFieldByName(name);
    return f == nullptr ? "" : r->GetString(m, f);
  };
  if (type == "datarun.v1.departments.Date") {
    int64_t y = int_field("year"), mo = int_field("month"),
            da = int_field("day");
    if (y == 0) return "无";
    if (da == 0) return absl::StrFormat("%d年%d月", y, mo);
    return absl::StrFormat("%d年%d月%d日", y, mo, da);
  }
  if (type == "datarun.v1.departments.Address") {
    std::string s = absl::StrCat(str_field("province"), str_field("city"),
                                 str_field("district"), str_field("township"),
                                 str_field("detail"));
    return s.empty() ? "无" : s;
  }
  if (type == "datarun.v1.departments.Validity") {
    const pb::FieldDescriptor* lt = d->FindFieldByName("long_term");
    std::string start = FormatField(m, *d->FindFieldByName("start"));
    if (lt != nullptr && r->GetBool(m, lt)) return start + "至长期";
    return absl::StrCat(start, "至",
                        FormatField(m, *d->FindFieldByName("end")));
  }
  if (type == "datarun.v1.Subject") {
    std::string id = str_field("id");
    return id.empty() ? "无" : id;
  }
  if (type == "google.protobuf.Timestamp") {
    const auto* ts = d->FindFieldByName("seconds");
    const auto* ns = d->FindFieldByName("nanos");
    return FormatChineseDateTime(absl::FromUnixSeconds(r->GetInt64(m, ts)) +
                                 absl::Nanoseconds(r->GetInt32(m, ns)));
  }
  // Other messages: their set fields, "name=value" joined by "，".
  std::vector<std::string> parts;
  std::vector<const pb::FieldDescriptor*> fields;
  r->ListFields(m, &fields);
  for (const pb::FieldDescriptor* f : fields) {
    parts.push_back(absl::StrCat(f->name(), "=", FormatField(m, *f)));
  }
  return parts.empty() ? "无" : absl::StrJoin(parts, "，");
}

}  // namespace

absl::TimeZone ChinaTime() { return absl::FixedTimeZone(8 * 60 * 60); }

std::string FormatChineseDate(absl::Time t) {
  absl::CivilSecond c = absl::ToCivilSecond(t, ChinaTime());
  return absl::StrFormat("%d年%d月%d日", c.year(), c.month(), c.day());
}

std::string FormatChineseDateTime(absl::Time t) {
  absl::CivilSecond c = absl::ToCivilSecond(t, ChinaTime());
  return absl::StrFormat("%d年%d月%d日 %02d时%02d分", c.year(), c.month(),
                         c.day(), c.hour(), c.minute());
}

std::string EnumLabel(const pb::EnumValueDescriptor& value) {
  const auto& labels = Labels();
  auto it = labels.find(absl::StrCat(value.type()->name(), ".", value.name()));
  if (it != labels.end()) return it->second;
  if (value.number() == 0) return "无";
  // Strip the enum's prefix, e.g. VEHICLE_STATUS_ from VEHICLE_STATUS_NORMAL.
  const std::string& name = value.name();
  const std::string& first = value.type()->value(0)->name();  // X_UNSPECIFIED
  size_t cut = first.rfind('_');
  if (cut != std::string::npos &&
      absl::StartsWith(name, first.substr(0, cut + 1))) {
    return name.substr(cut + 1);
  }
  return name;
}

std::string FormatField(const pb::Message& message,
                        const pb::FieldDescriptor& field) {
  if (!field.is_repeated()) return FormatValue(message, field, -1);
  int n = message.GetReflection()->FieldSize(message, &field);
  if (n == 0) return "无";
  std::vector<std::string> values;
  for (int i = 0; i < n; ++i) values.push_back(FormatValue(message, field, i));
  return absl::StrJoin(values, "、");
}

}  // namespace datarun::certificate
