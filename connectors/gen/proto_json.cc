#include "connectors/gen/proto_json.h"

#include "absl/strings/str_cat.h"
#include "connectors/gen/utc_format.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/util/json_util.h"

namespace datarun::gen {
namespace {

using google::protobuf::Descriptor;
using google::protobuf::FieldDescriptor;
using google::protobuf::Message;
using google::protobuf::Reflection;

// Strings made of printable ASCII (other than characters protobuf escapes)
// and CJK/punctuation 3-byte UTF-8 sequences (U+3000..U+9FFF, U+FF00..U+FFEF)
// print verbatim in both printers; anything else takes the reference path.
bool PlainString(const std::string& s) {
  const size_t n = s.size();
  for (size_t i = 0; i < n;) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    if (c < 0x80) {
      if (c < 0x20 || c == 0x7f || c == '"' || c == '\\' || c == '<' ||
          c == '>' || c == '&' || c == '\'' || c == '=') {
        return false;
      }
      ++i;
      continue;
    }
    if (i + 3 > n) return false;
    unsigned char c1 = static_cast<unsigned char>(s[i + 1]);
    unsigned char c2 = static_cast<unsigned char>(s[i + 2]);
    if ((c1 & 0xc0) != 0x80 || (c2 & 0xc0) != 0x80) return false;
    const bool cjk = c >= 0xe3 && c <= 0xe9;
    const bool fullwidth =
        c == 0xef && (c1 == 0xbc || c1 == 0xbd || c1 == 0xbe || c1 == 0xbf) &&
        !(c1 == 0xbf && c2 >= 0xb0);
    if (!cjk && !fullwidth) return false;
    i += 3;
  }
  return true;
}

bool AppendTimestamp(const Message& m, std::string* out) {
  const Descriptor* d = m.GetDescriptor();
  const Reflection* r = m.GetReflection();
  int64_t seconds = r->GetInt64(m, d->field(0));
  int32_t nanos = r->GetInt32(m, d->field(1));
  // Years 0001..9999 are the valid Timestamp range.
  if (seconds < -62135596800 || seconds > 253402300799 || nanos < 0 ||
      nanos > 999999999) {
    return false;
  }
  out->push_back('"');
  AppendUtcSeconds(seconds, out);
  if (nanos != 0) {
    std::string frac = absl::StrCat(nanos + 1000000000).substr(1);
    if (nanos % 1000000 == 0) {
      frac.resize(3);
    } else if (nanos % 1000 == 0) {
      frac.resize(6);
    }
    out->push_back('.');
    out->append(frac);
  }
  out->append("Z\"");
  return true;
}

// False when the message needs the reference printer.
bool AppendMessage(const Message& m, std::string* out);

bool AppendValue(const Message& m, const Reflection* r,
                 const FieldDescriptor* f, int index, std::string* out) {
  const bool rep = f->is_repeated();
  switch (f->cpp_type()) {
    case FieldDescriptor::CPPTYPE_INT32:
      absl::StrAppend(
          out, rep ? r->GetRepeatedInt32(m, f, index) : r->GetInt32(m, f));
      return true;
    case FieldDescriptor::CPPTYPE_UINT32:
      absl::StrAppend(
          out, rep ? r->GetRepeatedUInt32(m, f, index) : r->GetUInt32(m, f));
      return true;
    case FieldDescriptor::CPPTYPE_INT64:
      absl::StrAppend(
          out, "\"", rep ? r->GetRepeatedInt64(m, f, index) : r->GetInt64(m, f),
          "\"");
      return true;
    case FieldDescriptor::CPPTYPE_UINT64:
      absl::StrAppend(
          out, "\"",
          rep ? r->GetRepeatedUInt64(m, f, index) : r->GetUInt64(m, f), "\"");
      return true;
    case FieldDescriptor::CPPTYPE_BOOL:
      out->append((rep ? r->GetRepeatedBool(m, f, index) : r->GetBool(m, f))
                      ? "true"
                      : "false");
      return true;
    case FieldDescriptor::CPPTYPE_ENUM: {
      int v =
          rep ? r->GetRepeatedEnumValue(m, f, index) : r->GetEnumValue(m, f);
      const auto* ev = f->enum_type()->FindValueByNumber(v);
      if (ev == nullptr) {
        absl::StrAppend(out, v);
      } else {
        absl::StrAppend(out, "\"", ev->name(), "\"");
      }
      return true;
    }
    case FieldDescriptor::CPPTYPE_STRING: {
      if (f->type() == FieldDescriptor::TYPE_BYTES) return false;  // base64
      std::string scratch;
      const std::string& s =
          rep ? r->GetRepeatedStringReference(m, f, index, &scratch)
              : r->GetStringReference(m, f, &scratch);
      if (!PlainString(s)) return false;
      out->push_back('"');
      out->append(s);
      out->push_back('"');
      return true;
    }
    case FieldDescriptor::CPPTYPE_MESSAGE: {
      const Message& sub =
          rep ? r->GetRepeatedMessage(m, f, index) : r->GetMessage(m, f);
      if (sub.GetDescriptor()->full_name() == "google.protobuf.Timestamp") {
        return AppendTimestamp(sub, out);
      }
      return AppendMessage(sub, out);
    }
    default:  // float, double
      return false;
  }
}

bool AppendMessage(const Message& m, std::string* out) {
  const Descriptor* d = m.GetDescriptor();
  if (d->well_known_type() != Descriptor::WELLKNOWNTYPE_UNSPECIFIED) {
    return false;
  }
  const Reflection* r = m.GetReflection();
  out->push_back('{');
  bool first = true;
  int last_number = 0;
  for (int i = 0, n = d->field_count(); i < n; ++i) {
    const FieldDescriptor* f = d->field(i);
    // Declaration order must be field-number order (the reference prints
    // by number); true of every department payload, checked here anyway.
    if (f->number() < last_number) return false;
    last_number = f->number();
    if (f->is_repeated() ? r->FieldSize(m, f) == 0 : !r->HasField(m, f)) {
      continue;
    }
    if (f->is_map() || f->real_containing_oneof() != nullptr ||
        (f->has_presence() &&
         f->cpp_type() != FieldDescriptor::CPPTYPE_MESSAGE)) {
      return false;
    }
    if (!first) out->push_back(',');
    first = false;
    out->push_back('"');
    out->append(f->name());
    out->append("\":");
    if (f->is_repeated()) {
      const int count = r->FieldSize(m, f);
      out->push_back('[');
      for (int k = 0; k < count; ++k) {
        if (k > 0) out->push_back(',');
        if (!AppendValue(m, r, f, k, out)) return false;
      }
      out->push_back(']');
    } else if (!AppendValue(m, r, f, -1, out)) {
      return false;
    }
  }
  out->push_back('}');
  return true;
}

}  // namespace

absl::Status AppendProtoJsonReference(const Message& message,
                                      std::string* out) {
  google::protobuf::util::JsonPrintOptions options;
  options.preserve_proto_field_names = true;
  std::string json;
  auto st =
      google::protobuf::util::MessageToJsonString(message, &json, options);
  if (!st.ok()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "cannot print ", message.GetTypeName(), " as JSON: ", st.ToString()));
  }
  out->append(json);
  return absl::OkStatus();
}

absl::Status AppendProtoJson(const Message& message, std::string* out) {
  const size_t mark = out->size();
  if (AppendMessage(message, out)) return absl::OkStatus();
  out->resize(mark);
  return AppendProtoJsonReference(message, out);
}

}  // namespace datarun::gen
