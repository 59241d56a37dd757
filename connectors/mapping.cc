#include "connectors/mapping.h"

#include <time.h>

#include <cctype>
#include <fstream>
#include <limits>
#include <sstream>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/civil_time.h"
#include "common/status_macros.h"
#include "exchange/subject/subject_id.h"
#include "google/protobuf/io/tokenizer.h"
#include "google/protobuf/message.h"
#include "google/protobuf/text_format.h"
#include "google/protobuf/util/json_util.h"
#include "google/protobuf/util/time_util.h"
#include "proto/datarun/v1/departments/payloads.h"

namespace datarun::connectors {
namespace {

using datarun::connectors::v1::Format;
using datarun::connectors::v1::Mapping;
using google::protobuf::Descriptor;
using google::protobuf::FieldDescriptor;
using google::protobuf::Message;
using google::protobuf::Reflection;

class ErrorCollector : public google::protobuf::io::ErrorCollector {
 public:
  explicit ErrorCollector(std::string path) : path_(std::move(path)) {}
  void AddError(int line, int column, const std::string& message) override {
    if (first_.empty()) {
      first_ =
          absl::StrCat(path_, ":", line + 1, ":", column + 1, ": ", message);
    }
  }
  const std::string& first() const { return first_; }

 private:
  std::string path_;
  std::string first_;
};

bool Reject(absl::string_view reason, std::string detail,
            RowRejection* rejection) {
  rejection->reason = std::string(reason);
  rejection->detail = std::move(detail);
  return false;
}

// "Now" for the birth-date check of citizen ids (not after today in China),
// which needs a day, not a nanosecond: the kernel's coarse clock (a
// memory read, a few ms behind at most) instead of a precise clock_gettime
// per row, which cost ~9% of the mapping thread.
absl::Time CoarseNow() {
  timespec ts;
  if (clock_gettime(CLOCK_REALTIME_COARSE, &ts) != 0) return absl::Now();
  return absl::TimeFromTimespec(ts);
}

absl::StatusOr<subject::SubjectId> ParseSubjectOfKind(
    datarun::v1::SubjectKind kind, absl::string_view text) {
  switch (kind) {
    case datarun::v1::SUBJECT_KIND_CITIZEN:
      return subject::ParseCitizenId(text, CoarseNow());
    case datarun::v1::SUBJECT_KIND_LEGAL_PERSON:
      return subject::ParseCreditCode(text);
    default:
      return subject::ParseSubjectId(text, CoarseNow());
  }
}

// Parses "UPSERT"/"DELETE" and their short and Chinese forms.
bool ParseOp(absl::string_view text, datarun::v1::Record::Op* op) {
  std::string upper = absl::AsciiStrToUpper(absl::StripAsciiWhitespace(text));
  if (upper.empty() || upper == "UPSERT" || upper == "I" || upper == "U" ||
      upper == "INSERT" || upper == "UPDATE" || upper == "新增" ||
      upper == "修改" || upper == "OP_UPSERT") {
    *op = datarun::v1::Record::OP_UPSERT;
    return true;
  }
  if (upper == "DELETE" || upper == "D" || upper == "删除" ||
      upper == "OP_DELETE") {
    *op = datarun::v1::Record::OP_DELETE;
    return true;
  }
  return false;
}

bool IsIntegerType(const FieldDescriptor* f) {
  switch (f->cpp_type()) {
    case FieldDescriptor::CPPTYPE_INT32:
    case FieldDescriptor::CPPTYPE_INT64:
    case FieldDescriptor::CPPTYPE_UINT32:
    case FieldDescriptor::CPPTYPE_UINT64:
      return true;
    default:
      return false;
  }
}

bool IsLeafMessage(const Descriptor* d) {
  const std::string& n = d->full_name();
  return n == "datarun.v1.departments.Date" ||
         n == "google.protobuf.Timestamp" || n == "datarun.v1.Subject";
}

}  // namespace

bool ParseScaledInteger(absl::string_view text, int scale, int64_t* out) {
  text = absl::StripAsciiWhitespace(text);
  bool negative = false;
  if (!text.empty() && (text[0] == '-' || text[0] == '+')) {
    negative = text[0] == '-';
    text.remove_prefix(1);
  }
  if (text.empty()) return false;
  absl::string_view whole = text, fraction;
  size_t dot = text.find('.');
  if (dot != absl::string_view::npos) {
    whole = text.substr(0, dot);
    fraction = text.substr(dot + 1);
    if (whole.empty() && fraction.empty()) return false;
  }
  if (static_cast<int>(fraction.size()) > scale) {
    // Trailing zeros beyond the scale are harmless ("12.50" at scale 1).
    absl::string_view extra = fraction.substr(scale);
    if (extra.find_first_not_of('0') != absl::string_view::npos) return false;
    fraction = fraction.substr(0, scale);
  }
  unsigned __int128 value = 0;
  const unsigned __int128 limit =
      static_cast<unsigned __int128>(std::numeric_limits<int64_t>::max()) + 1;
  auto push = [&](char c) {
    if (c < '0' || c > '9') return false;
    value = value * 10 + (c - '0');
    return value <= limit;
  };
  for (char c : whole) {
    if (!push(c)) return false;
  }
  for (char c : fraction) {
    if (!push(c)) return false;
  }
  for (int i = fraction.size(); i < scale; ++i) {
    if (!push('0')) return false;
  }
  if (!negative && value == limit) return false;
  *out = negative ? static_cast<int64_t>(-static_cast<__int128>(value))
                  : static_cast<int64_t>(value);
  return true;
}

namespace {

bool IsLeapYear(int y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

// YYYY-MM-DD, the common form, without the general parser: digits at
// fixed places and the month's length (as absl::CivilDay would normalise).
bool ParseIsoDate(absl::string_view t, int* year, int* month, int* day) {
  if (t.size() != 10 || t[4] != '-' || t[7] != '-') return false;
  int v[8];
  static constexpr int kAt[8] = {0, 1, 2, 3, 5, 6, 8, 9};
  for (int i = 0; i < 8; ++i) {
    const unsigned d = static_cast<unsigned char>(t[kAt[i]]) - '0';
    if (d > 9) return false;
    v[i] = static_cast<int>(d);
  }
  const int y = v[0] * 1000 + v[1] * 100 + v[2] * 10 + v[3];
  const int m = v[4] * 10 + v[5];
  const int d = v[6] * 10 + v[7];
  static constexpr int kDays[12] = {31, 28, 31, 30, 31, 30,
                                    31, 31, 30, 31, 30, 31};
  if (m < 1 || m > 12 || d < 1) return false;
  if (d > kDays[m - 1] + (m == 2 && IsLeapYear(y) ? 1 : 0)) return false;
  *year = y;
  *month = m;
  *day = d;
  return true;
}

}  // namespace

bool ParseDate(absl::string_view text, int* year, int* month, int* day) {
  // Hot path (one or more dates per row): no allocation.
  text = absl::StripAsciiWhitespace(text);
  if (ParseIsoDate(text, year, month, day)) return true;
  absl::string_view parts[3];
  if (text.size() == 8 &&
      text.find_first_not_of("0123456789") == absl::string_view::npos) {
    parts[0] = text.substr(0, 4);
    parts[1] = text.substr(4, 2);
    parts[2] = text.substr(6, 2);
  } else if (absl::StrContains(text, "年")) {
    if (!absl::ConsumeSuffix(&text, "日")) return false;
    size_t y = text.find("年");
    size_t m = text.find("月");
    if (y == absl::string_view::npos || m == absl::string_view::npos || m < y) {
      return false;
    }
    parts[0] = text.substr(0, y);
    parts[1] = text.substr(y + 3, m - y - 3);
    parts[2] = text.substr(m + 3);
  } else {
    size_t a = text.find_first_of("-/.");
    if (a == absl::string_view::npos) return false;
    size_t b = text.find_first_of("-/.", a + 1);
    if (b == absl::string_view::npos ||
        text.find_first_of("-/.", b + 1) != absl::string_view::npos) {
      return false;
    }
    parts[0] = text.substr(0, a);
    parts[1] = text.substr(a + 1, b - a - 1);
    parts[2] = text.substr(b + 1);
  }
  int y, m, d;
  if (parts[0].size() != 4 || !absl::SimpleAtoi(parts[0], &y) ||
      parts[1].empty() || parts[1].size() > 2 ||
      !absl::SimpleAtoi(parts[1], &m) || parts[2].empty() ||
      parts[2].size() > 2 || !absl::SimpleAtoi(parts[2], &d)) {
    return false;
  }
  absl::CivilDay civil(y, m, d);
  if (civil.year() != y || civil.month() != m || civil.day() != d) {
    return false;  // normalised: the date does not exist
  }
  *year = y;
  *month = m;
  *day = d;
  return true;
}

bool ParseInstant(absl::string_view text, absl::TimeZone zone,
                  absl::Time* out) {
  text = absl::StripAsciiWhitespace(text);
  std::string err;
  if (absl::ParseTime(absl::RFC3339_full, text, out, &err)) return true;
  if (absl::ParseTime("%Y-%m-%d %H:%M:%E*S", text, zone, out, &err)) {
    return true;
  }
  if (absl::ParseTime("%Y-%m-%dT%H:%M:%E*S", text, zone, out, &err)) {
    return true;
  }
  int y, m, d;
  if (ParseDate(text, &y, &m, &d)) {
    *out = absl::FromCivil(absl::CivilDay(y, m, d), zone);
    return true;
  }
  return false;
}

absl::StatusOr<Mapping> LoadMapping(const std::string& path) {
  std::ifstream in(path);
  if (!in) return absl::NotFoundError(absl::StrCat("cannot read ", path));
  std::stringstream buffer;
  buffer << in.rdbuf();
  Mapping mapping;
  google::protobuf::TextFormat::Parser parser;
  ErrorCollector errors(path);
  parser.RecordErrorsTo(&errors);
  if (!parser.ParseFromString(buffer.str(), &mapping)) {
    return absl::InvalidArgumentError(
        errors.first().empty() ? absl::StrCat(path, ": cannot parse mapping")
                               : errors.first());
  }
  return mapping;
}

absl::StatusOr<std::unique_ptr<Mapper>> Mapper::Create(
    const Mapping& mapping, const catalog::CatalogIndex& catalog,
    absl::string_view department) {
  departments::AllPayloadDescriptors();  // keep payload types linked
  std::unique_ptr<Mapper> m(new Mapper());
  m->mapping_ = mapping;
  m->department_ = std::string(department);
  m->catalog_version_ = catalog.version();
  const auto* cls = catalog.FindDataClass(mapping.data_class());
  if (cls == nullptr) {
    return absl::InvalidArgumentError(absl::StrCat("mapping: data_class '",
                                                   mapping.data_class(),
                                                   "' is not in the catalog"));
  }
  if (cls->source_department() != department) {
    return absl::FailedPreconditionError(absl::StrCat(
        "department '", department,
        "' is not the authoritative source of "
        "class '",
        cls->id(), "' (its source is '", cls->source_department(), "')"));
  }
  m->data_class_ = cls;
  m->topic_ = catalog::DataTopicFor(*cls);
  m->dlq_topic_ = absl::StrCat("dr.dlq.", department);
  m->payload_type_ = cls->payload_type();
  m->payload_descriptor_ = catalog.PayloadDescriptor(cls->id());
  if (m->payload_descriptor_ == nullptr) {
    return absl::InternalError(absl::StrCat(
        "payload type '", cls->payload_type(), "' is not linked in"));
  }
  m->prototype_ =
      google::protobuf::MessageFactory::generated_factory()->GetPrototype(
          m->payload_descriptor_);
  m->type_url_ =
      absl::StrCat("type.googleapis.com/", m->payload_descriptor_->full_name());
  std::string zone_name =
      mapping.time_zone().empty() ? "Asia/Shanghai" : mapping.time_zone();
  if (!absl::LoadTimeZone(zone_name, &m->zone_)) {
    if (mapping.time_zone().empty()) {
      m->zone_ = absl::FixedTimeZone(8 * 3600);  // no tzdata: CST is UTC+8
    } else {
      return absl::InvalidArgumentError(
          absl::StrCat("mapping: unknown time_zone '", zone_name, "'"));
    }
  }
  if (mapping.format() == v1::FORMAT_UNSPECIFIED) {
    return absl::InvalidArgumentError("mapping: format is not set");
  }
  if (mapping.format() == v1::FORMAT_CANONICAL_JSONL) {
    if (mapping.fields_size() > 0) {
      return absl::InvalidArgumentError(
          "mapping: fields are not used with FORMAT_CANONICAL_JSONL");
    }
    return m;
  }
  if (mapping.subject_column().empty()) {
    return absl::InvalidArgumentError("mapping: subject_column is required");
  }
  if (cls->multi_record() && mapping.record_key_column().empty()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "mapping: class '", cls->id(),
        "' holds several records per subject: record_key_column is required"));
  }
  if (!cls->multi_record() && !mapping.record_key_column().empty()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "mapping: class '", cls->id(),
        "' holds one record per subject: record_key_column must be empty"));
  }
  if (mapping.version_column().empty() && mapping.event_time_column().empty() &&
      mapping.format() != v1::FORMAT_POSTGRES) {
    return absl::InvalidArgumentError(
        "mapping: version_column or event_time_column is required (a "
        "replayed row must carry the same version as the first time)");
  }
  for (int i = 0; i < mapping.fields_size(); ++i) {
    const auto& fm = mapping.fields(i);
    const std::string where =
        absl::StrCat("mapping: fields[", i, "] (column '", fm.column(), "')");
    if (fm.column().empty() || fm.field().empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat(where, ": column and field are required"));
    }
    Field f;
    f.column = fm.column();
    f.required = fm.required();
    f.scale = fm.scale();
    const Descriptor* d = m->payload_descriptor_;
    std::vector<std::string> parts = absl::StrSplit(fm.field(), '.');
    for (size_t p = 0; p < parts.size(); ++p) {
      const FieldDescriptor* fd =
          d == nullptr ? nullptr : d->FindFieldByName(parts[p]);
      if (fd == nullptr) {
        return absl::InvalidArgumentError(absl::StrCat(
            where, ": ", m->payload_type_, " has no field '", fm.field(), "'"));
      }
      if (fd->is_repeated()) {
        return absl::InvalidArgumentError(absl::StrCat(
            where, ": field '", fm.field(), "' is repeated (not mappable)"));
      }
      f.path.push_back(fd);
      bool last = p + 1 == parts.size();
      if (!last) {
        if (fd->cpp_type() != FieldDescriptor::CPPTYPE_MESSAGE) {
          return absl::InvalidArgumentError(absl::StrCat(where, ": '", parts[p],
                                                         "' in '", fm.field(),
                                                         "' is not a message"));
        }
        d = fd->message_type();
      } else if (fd->cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE &&
                 !IsLeafMessage(fd->message_type())) {
        return absl::InvalidArgumentError(absl::StrCat(
            where, ": field '", fm.field(), "' is a ",
            fd->message_type()->full_name(), "; map its sub-fields"));
      }
    }
    const FieldDescriptor* leaf = f.path.back();
    switch (leaf->cpp_type()) {
      case FieldDescriptor::CPPTYPE_STRING:
        f.kind = Kind::kString;
        break;
      case FieldDescriptor::CPPTYPE_INT32:
      case FieldDescriptor::CPPTYPE_INT64:
      case FieldDescriptor::CPPTYPE_UINT32:
      case FieldDescriptor::CPPTYPE_UINT64:
        f.kind = Kind::kInteger;
        break;
      case FieldDescriptor::CPPTYPE_DOUBLE:
      case FieldDescriptor::CPPTYPE_FLOAT:
        f.kind = Kind::kReal;
        break;
      case FieldDescriptor::CPPTYPE_BOOL:
        f.kind = Kind::kBool;
        break;
      case FieldDescriptor::CPPTYPE_ENUM:
        f.kind = Kind::kEnum;
        break;
      case FieldDescriptor::CPPTYPE_MESSAGE: {
        const std::string& type = leaf->message_type()->full_name();
        f.kind = type == "datarun.v1.departments.Date" ? Kind::kDate
                 : type == "google.protobuf.Timestamp" ? Kind::kTimestamp
                                                       : Kind::kSubject;
        break;
      }
    }
    if (f.scale != 0 && !IsIntegerType(leaf)) {
      return absl::InvalidArgumentError(
          absl::StrCat(where, ": scale is only for integer fields"));
    }
    if (fm.labels_size() > 0 &&
        leaf->cpp_type() != FieldDescriptor::CPPTYPE_ENUM) {
      return absl::InvalidArgumentError(
          absl::StrCat(where, ": labels are only for enum fields"));
    }
    for (const auto& label : fm.labels()) {
      const auto* value = leaf->enum_type()->FindValueByName(label.value());
      if (value == nullptr) {
        return absl::InvalidArgumentError(absl::StrCat(
            where, ": label '", label.label(), "' maps to '", label.value(),
            "', which is not a value of ", leaf->enum_type()->full_name()));
      }
      f.labels[absl::AsciiStrToUpper(label.label())] = value->number();
    }
    m->fields_.push_back(std::move(f));
  }
  m->BuildEncoder();
  return m;
}

bool Mapper::Convert(const Field& field, absl::string_view text, Value* value,
                     RowRejection* rejection) const {
  const FieldDescriptor* fd = field.path.back();
  auto bad_type = [&](absl::string_view expected) {
    return Reject(
        kReasonBadType,
        absl::StrCat("column '", field.column, "': '", text, "' is not ",
                     expected, " (field '", fd->full_name(), "')"),
        rejection);
  };
  // Upper-cased, stripped text for bool and enum labels, on the stack.
  char upper_buffer[64];
  std::string upper_heap;
  auto upper = [&]() -> absl::string_view {
    absl::string_view t = absl::StripAsciiWhitespace(text);
    char* out = upper_buffer;
    if (t.size() > sizeof(upper_buffer)) {
      upper_heap.resize(t.size());
      out = upper_heap.data();
    }
    for (size_t i = 0; i < t.size(); ++i) out[i] = absl::ascii_toupper(t[i]);
    return absl::string_view(out, t.size());
  };
  switch (field.kind) {
    case Kind::kString:
      value->text = text;
      return true;
    case Kind::kInteger: {
      int64_t v;
      if (!ParseScaledInteger(text, field.scale, &v)) {
        return bad_type(field.scale > 0
                            ? absl::StrCat("a decimal with at most ",
                                           field.scale, " fraction digits")
                            : "an integer");
      }
      switch (fd->cpp_type()) {
        case FieldDescriptor::CPPTYPE_INT32:
          if (v < std::numeric_limits<int32_t>::min() ||
              v > std::numeric_limits<int32_t>::max()) {
            return bad_type("a 32-bit integer");
          }
          break;
        case FieldDescriptor::CPPTYPE_INT64:
          break;
        case FieldDescriptor::CPPTYPE_UINT32:
          if (v < 0 || v > std::numeric_limits<uint32_t>::max()) {
            return bad_type("an unsigned 32-bit integer");
          }
          break;
        default:
          if (v < 0) return bad_type("an unsigned integer");
          break;
      }
      value->integer = v;
      return true;
    }
    case Kind::kReal: {
      double v;
      if (!absl::SimpleAtod(text, &v)) return bad_type("a number");
      value->real = v;
      return true;
    }
    case Kind::kBool: {
      absl::string_view u = upper();
      if (u == "TRUE" || u == "1" || u == "Y" || u == "YES" || u == "是") {
        value->integer = 1;
      } else if (u == "FALSE" || u == "0" || u == "N" || u == "NO" ||
                 u == "否") {
        value->integer = 0;
      } else {
        return bad_type("a boolean (true/false, 1/0, 是/否)");
      }
      return true;
    }
    case Kind::kEnum: {
      // Labels as written (Chinese ones have no case) hit without
      // upper-casing; the keys are upper-case, so only text that upper-cases
      // to itself can match here.
      if (!text.empty() && !absl::ascii_isspace(text.front()) &&
          !absl::ascii_isspace(text.back())) {
        auto it = field.labels.find(text);
        if (it != field.labels.end()) {
          value->integer = it->second;
          return true;
        }
      }
      absl::string_view u = upper();
      auto it = field.labels.find(u);
      if (it != field.labels.end()) {
        value->integer = it->second;
        return true;
      }
      const auto* et = fd->enum_type();
      const google::protobuf::EnumValueDescriptor* match = nullptr;
      int matches = 0;
      for (int i = 0; i < et->value_count(); ++i) {
        const auto* ev = et->value(i);
        if (ev->number() == 0) continue;  // UNSPECIFIED is never a label
        if (ev->name() == u) {
          match = ev;
          matches = 1;
          break;
        }
        if (!u.empty() && absl::EndsWith(ev->name(), absl::StrCat("_", u))) {
          match = ev;
          ++matches;
        }
      }
      if (matches != 1) {
        return Reject(kReasonUnknownEnum,
                      absl::StrCat("column '", field.column, "': '", text,
                                   "' is not a label of ", et->full_name(),
                                   matches > 1 ? " (ambiguous)" : ""),
                      rejection);
      }
      value->integer = match->number();
      return true;
    }
    case Kind::kDate:
      if (!ParseDate(text, &value->year, &value->month, &value->day)) {
        return bad_type("a date (YYYY-MM-DD, YYYYMMDD, YYYY年M月D日)");
      }
      return true;
    case Kind::kTimestamp: {
      absl::Time t;
      if (!ParseInstant(text, zone_, &t)) {
        return bad_type("a time (RFC 3339 or YYYY-MM-DD HH:MM:SS)");
      }
      value->seconds = absl::ToUnixSeconds(t);
      value->nanos = static_cast<int32_t>(
          absl::ToInt64Nanoseconds(t - absl::FromUnixSeconds(value->seconds)));
      return true;
    }
    case Kind::kSubject: {
      auto id = subject::ParseSubjectId(text, CoarseNow());
      if (!id.ok()) {
        return Reject(kReasonBadSubject,
                      absl::StrCat("column '", field.column,
                                   "': ", id.status().message()),
                      rejection);
      }
      value->subject = *std::move(id);
      return true;
    }
  }
  return bad_type("of a supported type");
}

void Mapper::SetField(const Field& field, const Value& value,
                      Message* payload) const {
  Message* msg = payload;
  for (size_t i = 0; i + 1 < field.path.size(); ++i) {
    msg = msg->GetReflection()->MutableMessage(msg, field.path[i]);
  }
  const FieldDescriptor* fd = field.path.back();
  const Reflection* r = msg->GetReflection();
  switch (field.kind) {
    case Kind::kString:
      r->SetString(msg, fd, std::string(value.text));
      return;
    case Kind::kInteger:
      switch (fd->cpp_type()) {
        case FieldDescriptor::CPPTYPE_INT32:
          r->SetInt32(msg, fd, static_cast<int32_t>(value.integer));
          return;
        case FieldDescriptor::CPPTYPE_INT64:
          r->SetInt64(msg, fd, value.integer);
          return;
        case FieldDescriptor::CPPTYPE_UINT32:
          r->SetUInt32(msg, fd, static_cast<uint32_t>(value.integer));
          return;
        default:
          r->SetUInt64(msg, fd, static_cast<uint64_t>(value.integer));
          return;
      }
    case Kind::kReal:
      if (fd->cpp_type() == FieldDescriptor::CPPTYPE_DOUBLE) {
        r->SetDouble(msg, fd, value.real);
      } else {
        r->SetFloat(msg, fd, static_cast<float>(value.real));
      }
      return;
    case Kind::kBool:
      r->SetBool(msg, fd, value.integer != 0);
      return;
    case Kind::kEnum:
      r->SetEnumValue(msg, fd, static_cast<int>(value.integer));
      return;
    case Kind::kDate:
    case Kind::kTimestamp:
    case Kind::kSubject:
      break;
  }
  Message* sub = r->MutableMessage(msg, fd);
  const Descriptor* sd = sub->GetDescriptor();
  const Reflection* sr = sub->GetReflection();
  if (field.kind == Kind::kDate) {
    // Date fields 1, 2, 3 are year, month, day (common.proto).
    sr->SetInt32(sub, sd->field(0), value.year);
    sr->SetInt32(sub, sd->field(1), value.month);
    sr->SetInt32(sub, sd->field(2), value.day);
  } else if (field.kind == Kind::kTimestamp) {
    sr->SetInt64(sub, sd->FindFieldByName("seconds"), value.seconds);
    sr->SetInt32(sub, sd->FindFieldByName("nanos"), value.nanos);
  } else {
    sub->CopyFrom(value.subject->ToProto());
  }
}

bool Mapper::MapCanonical(const Row& row, datarun::v1::Record* record,
                          RowRejection* rejection) const {
  v1::CanonicalEnvelope envelope;
  google::protobuf::util::JsonParseOptions strict;
  auto status =
      google::protobuf::util::JsonStringToMessage(row.raw, &envelope, strict);
  if (!status.ok()) {
    return Reject(kReasonBadJson,
                  absl::StrCat("envelope: ", status.message().as_string()),
                  rejection);
  }
  auto id =
      ParseSubjectOfKind(data_class_->subject_kind(), envelope.subject_id());
  if (!id.ok()) {
    return Reject(kReasonBadSubject,
                  absl::StrCat("subject_id: ", id.status().message()),
                  rejection);
  }
  datarun::v1::Record::Op op;
  if (!ParseOp(envelope.op(), &op)) {
    return Reject(
        kReasonBadType,
        absl::StrCat("op: '", envelope.op(), "' is neither UPSERT nor DELETE"),
        rejection);
  }
  if (data_class_->multi_record() == envelope.record_key().empty()) {
    return Reject(kReasonMissingField,
                  data_class_->multi_record()
                      ? absl::StrCat("record_key is required by class '",
                                     data_class_->id(), "'")
                      : absl::StrCat("record_key must be empty for class '",
                                     data_class_->id(), "'"),
                  rejection);
  }
  if (envelope.source_version() == 0) {
    return Reject(kReasonMissingField, "source_version is missing or 0",
                  rejection);
  }
  *record->mutable_subject() = id->ToProto();
  record->set_data_class(data_class_->id());
  record->set_source_department(department_);
  record->set_record_key(envelope.record_key());
  record->set_source_version(envelope.source_version());
  record->set_op(op);
  *record->mutable_event_time() = envelope.event_time();
  if (op == datarun::v1::Record::OP_UPSERT) {
    std::string payload_json;
    auto s = google::protobuf::util::MessageToJsonString(envelope.payload(),
                                                         &payload_json);
    std::unique_ptr<Message> payload(prototype_->New());
    if (s.ok()) {
      s = google::protobuf::util::JsonStringToMessage(payload_json,
                                                      payload.get(), strict);
    }
    if (!s.ok()) {
      const std::string message = s.message().as_string();
      // The JSON parser names the expected type; an enum type there means
      // an unknown enum label.
      bool is_enum = false;
      size_t at = message.find("for type type.googleapis.com/");
      if (at != std::string::npos) {
        std::string type = message.substr(at + 29);
        is_enum = google::protobuf::DescriptorPool::generated_pool()
                      ->FindEnumTypeByName(type) != nullptr;
      }
      return Reject(is_enum ? kReasonUnknownEnum : kReasonBadType,
                    absl::StrCat("payload (", payload_type_, "): ", message),
                    rejection);
    }
    record->mutable_payload()->PackFrom(*payload);
  }
  return true;
}

Mapper::Binding Mapper::Bind(const Row& row) const {
  auto index = [&](absl::string_view column) {
    if (column.empty()) return -1;
    for (size_t i = 0; i < row.columns.size(); ++i) {
      if (row.columns[i].first == column) return static_cast<int>(i);
    }
    return -1;
  };
  Binding b;
  b.layout = row.layout;
  b.subject = index(mapping_.subject_column());
  b.record_key = index(mapping_.record_key_column());
  b.op = index(mapping_.op_column());
  b.event_time = index(mapping_.event_time_column());
  b.version = index(mapping_.version_column());
  b.fields.reserve(fields_.size());
  for (const Field& f : fields_) b.fields.push_back(index(f.column));
  return b;
}

namespace {

absl::string_view At(const Row& row, int index) {
  return index < 0 ? absl::string_view()
                   : absl::string_view(row.columns[index].second);
}

}  // namespace

bool Mapper::MapEnvelope(const Row& row, const Binding& binding,
                         Envelope* envelope, RowRejection* rejection) const {
  // Subject.
  const absl::string_view subject_text = At(row, binding.subject);
  if (subject_text.empty()) {
    return Reject(kReasonMissingField,
                  absl::StrCat("column '", mapping_.subject_column(),
                               "' (subject id) is empty or missing"),
                  rejection);
  }
  auto id = ParseSubjectOfKind(data_class_->subject_kind(), subject_text);
  if (!id.ok()) {
    return Reject(kReasonBadSubject,
                  absl::StrCat("column '", mapping_.subject_column(),
                               "': ", id.status().message()),
                  rejection);
  }
  envelope->subject = *std::move(id);
  // Record key.
  if (!mapping_.record_key_column().empty()) {
    absl::string_view key = At(row, binding.record_key);
    if (key.empty()) {
      return Reject(kReasonMissingField,
                    absl::StrCat("column '", mapping_.record_key_column(),
                                 "' (record key) is empty or missing"),
                    rejection);
    }
    envelope->record_key = key;
  }
  // Op.
  datarun::v1::Record::Op op = row.op == RowOp::kDelete
                                   ? datarun::v1::Record::OP_DELETE
                                   : datarun::v1::Record::OP_UPSERT;
  if (!mapping_.op_column().empty()) {
    absl::string_view text = At(row, binding.op);
    if (!ParseOp(text, &op)) {
      return Reject(kReasonBadType,
                    absl::StrCat("column '", mapping_.op_column(), "': '", text,
                                 "' is neither UPSERT nor DELETE"),
                    rejection);
    }
  }
  envelope->op = op;
  // Event time.
  absl::Time event_time = absl::InfinitePast();
  if (!mapping_.event_time_column().empty()) {
    absl::string_view text = At(row, binding.event_time);
    if (text.empty()) {
      return Reject(kReasonMissingField,
                    absl::StrCat("column '", mapping_.event_time_column(),
                                 "' (event time) is empty or missing"),
                    rejection);
    }
    if (!ParseInstant(text, zone_, &event_time)) {
      return Reject(kReasonBadType,
                    absl::StrCat("column '", mapping_.event_time_column(),
                                 "': '", text, "' is not a time"),
                    rejection);
    }
    envelope->has_event_time = true;
    envelope->event_seconds = absl::ToUnixSeconds(event_time);
    envelope->event_nanos = static_cast<int32_t>(absl::ToInt64Nanoseconds(
        event_time - absl::FromUnixSeconds(envelope->event_seconds)));
  }
  // Version.
  if (!mapping_.version_column().empty()) {
    absl::string_view text = At(row, binding.version);
    uint64_t v = 0;
    if (text.empty()) {
      return Reject(kReasonMissingField,
                    absl::StrCat("column '", mapping_.version_column(),
                                 "' (version) is empty or missing"),
                    rejection);
    }
    if (!absl::SimpleAtoi(text, &v) || v == 0) {
      return Reject(kReasonBadType,
                    absl::StrCat("column '", mapping_.version_column(), "': '",
                                 text, "' is not a positive integer"),
                    rejection);
    }
    envelope->version = v;
  } else if (row.source_version != 0) {
    envelope->version = row.source_version;
  } else if (event_time != absl::InfinitePast()) {
    int64_t micros = absl::ToUnixMicros(event_time);
    if (micros <= 0) {
      return Reject(kReasonBadType, "event time before 1970 cannot version",
                    rejection);
    }
    envelope->version = static_cast<uint64_t>(micros);
  } else {
    return Reject(kReasonMissingField, "no version for the row", rejection);
  }
  return true;
}

bool Mapper::Missing(const Row& row, const Binding& binding, size_t i,
                     RowRejection* rejection) const {
  const Field& field = fields_[i];
  if (!field.required) return true;
  return Reject(
      kReasonMissingField,
      absl::StrCat("column '", field.column, "' (", field.path.back()->name(),
                   ") is ", binding.fields[i] >= 0 ? "empty" : "missing",
                   " but required"),
      rejection);
}

bool Mapper::Map(const Row& row, datarun::v1::Record* record,
                 RowRejection* rejection) const {
  record->Clear();
  if (!row.source_error.empty()) {
    return Reject(row.source_error_reason, row.source_error, rejection);
  }
  if (mapping_.format() == v1::FORMAT_CANONICAL_JSONL) {
    return MapCanonical(row, record, rejection);
  }
  const Binding binding = Bind(row);
  Envelope envelope;
  if (!MapEnvelope(row, binding, &envelope, rejection)) return false;
  *record->mutable_subject() = envelope.subject->ToProto();
  record->set_data_class(data_class_->id());
  record->set_source_department(department_);
  if (!envelope.record_key.empty()) {
    record->set_record_key(envelope.record_key.data(),
                           envelope.record_key.size());
  }
  record->set_op(envelope.op);
  if (envelope.has_event_time) {
    record->mutable_event_time()->set_seconds(envelope.event_seconds);
    record->mutable_event_time()->set_nanos(envelope.event_nanos);
  }
  record->set_source_version(envelope.version);
  if (envelope.op == datarun::v1::Record::OP_DELETE) return true;
  // Payload.
  // On the record's arena when it has one (no allocation for the payload's
  // fields).
  google::protobuf::Arena* arena = record->GetArena();
  Message* payload = prototype_->New(arena);
  std::unique_ptr<Message> owned(arena == nullptr ? payload : nullptr);
  for (size_t i = 0; i < fields_.size(); ++i) {
    absl::string_view text = At(row, binding.fields[i]);
    if (text.empty()) {
      if (!Missing(row, binding, i, rejection)) return false;
      continue;
    }
    Value value;
    if (!Convert(fields_[i], text, &value, rejection)) return false;
    SetField(fields_[i], value, payload);
  }
  record->mutable_payload()->PackFrom(*payload);
  return true;
}

}  // namespace datarun::connectors
