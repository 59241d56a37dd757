#include "connectors/gen/proto_json.h"

#include <algorithm>
#include <cstdint>
#include <memory>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
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
bool PlainString(absl::string_view s) {
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

// ---------------------------------------------------------------------------
// Wire-format path: serialise with the generated code (fast), then walk the
// bytes with a per-type table. Proto3 serialisation omits default values and
// writes fields in number order with repeated elements adjacent, which is
// exactly what the JSON printer prints, so no reflection is needed.

struct FieldInfo {
  const FieldDescriptor* field = nullptr;
  std::string key;  // "\"name\":"
  FieldDescriptor::Type type = FieldDescriptor::TYPE_INT32;
  bool repeated = false;
  bool timestamp = false;
  const Descriptor* message = nullptr;
  const google::protobuf::EnumDescriptor* enum_type = nullptr;
};

struct Table {
  bool usable = false;
  std::vector<FieldInfo> by_number;
};

const Table& TableFor(const Descriptor* d) {
  // Per thread: no locking on the hot path; a table is a few hundred bytes.
  thread_local absl::flat_hash_map<const Descriptor*, std::unique_ptr<Table>>
      cache;
  std::unique_ptr<Table>& slot = cache[d];
  if (slot != nullptr) return *slot;
  slot = std::make_unique<Table>();
  Table& t = *slot;
  if (d->well_known_type() != Descriptor::WELLKNOWNTYPE_UNSPECIFIED ||
      d->oneof_decl_count() > 0 || d->extension_range_count() > 0) {
    return t;
  }
  int max_number = 0;
  for (int i = 0; i < d->field_count(); ++i) {
    max_number = std::max(max_number, d->field(i)->number());
  }
  if (max_number > 1000) return t;
  t.by_number.resize(max_number + 1);
  for (int i = 0; i < d->field_count(); ++i) {
    const FieldDescriptor* f = d->field(i);
    if (f->is_map() || (f->has_presence() &&
                        f->cpp_type() != FieldDescriptor::CPPTYPE_MESSAGE)) {
      return t;
    }
    FieldInfo& fi = t.by_number[f->number()];
    fi.field = f;
    fi.key = absl::StrCat("\"", f->name(), "\":");
    fi.type = f->type();
    fi.repeated = f->is_repeated();
    if (f->type() == FieldDescriptor::TYPE_MESSAGE) {
      fi.message = f->message_type();
      fi.timestamp = fi.message->full_name() == "google.protobuf.Timestamp";
      if (!fi.timestamp && fi.message->well_known_type() !=
                               Descriptor::WELLKNOWNTYPE_UNSPECIFIED) {
        return t;
      }
    } else if (f->type() == FieldDescriptor::TYPE_ENUM) {
      fi.enum_type = f->enum_type();
    }
  }
  t.usable = true;
  return t;
}

bool ReadVarint(const char*& p, const char* end, uint64_t* v) {
  uint64_t result = 0;
  for (int shift = 0; shift < 64 && p < end; shift += 7) {
    const uint8_t b = static_cast<uint8_t>(*p++);
    result |= static_cast<uint64_t>(b & 0x7f) << shift;
    if ((b & 0x80) == 0) {
      *v = result;
      return true;
    }
  }
  return false;
}

bool AppendVarintValue(const FieldInfo& fi, uint64_t v, std::string* out) {
  char buf[32];
  switch (fi.type) {
    case FieldDescriptor::TYPE_INT32: {
      char* e =
          absl::numbers_internal::FastIntToBuffer(static_cast<int32_t>(v), buf);
      out->append(buf, e - buf);
      return true;
    }
    case FieldDescriptor::TYPE_UINT32: {
      char* e = absl::numbers_internal::FastIntToBuffer(
          static_cast<uint32_t>(v), buf);
      out->append(buf, e - buf);
      return true;
    }
    case FieldDescriptor::TYPE_INT64: {
      out->push_back('"');
      char* e =
          absl::numbers_internal::FastIntToBuffer(static_cast<int64_t>(v), buf);
      out->append(buf, e - buf);
      out->push_back('"');
      return true;
    }
    case FieldDescriptor::TYPE_UINT64: {
      out->push_back('"');
      char* e = absl::numbers_internal::FastIntToBuffer(v, buf);
      out->append(buf, e - buf);
      out->push_back('"');
      return true;
    }
    case FieldDescriptor::TYPE_BOOL:
      out->append(v != 0 ? "true" : "false");
      return true;
    case FieldDescriptor::TYPE_ENUM: {
      const auto* ev = fi.enum_type->FindValueByNumber(static_cast<int32_t>(v));
      if (ev == nullptr) {
        char* e = absl::numbers_internal::FastIntToBuffer(
            static_cast<int32_t>(v), buf);
        out->append(buf, e - buf);
      } else {
        out->push_back('"');
        out->append(ev->name());
        out->push_back('"');
      }
      return true;
    }
    default:  // sint (zigzag) and the fixed types are not handled here
      return false;
  }
}

bool AppendWireTimestamp(const char* p, const char* end, std::string* out) {
  uint64_t seconds = 0, nanos = 0;
  while (p < end) {
    uint64_t tag, v;
    if (!ReadVarint(p, end, &tag) || (tag & 7) != 0 ||
        !ReadVarint(p, end, &v)) {
      return false;
    }
    if ((tag >> 3) == 1) {
      seconds = v;
    } else if ((tag >> 3) == 2) {
      nanos = v;
    } else {
      return false;
    }
  }
  const int64_t s = static_cast<int64_t>(seconds);
  const int32_t n = static_cast<int32_t>(nanos);
  if (s < -62135596800 || s > 253402300799 || n < 0 || n > 999999999) {
    return false;
  }
  out->push_back('"');
  AppendUtcSeconds(s, out);
  if (n != 0) {
    std::string frac = absl::StrCat(n + 1000000000).substr(1);
    if (n % 1000000 == 0) {
      frac.resize(3);
    } else if (n % 1000 == 0) {
      frac.resize(6);
    }
    out->push_back('.');
    out->append(frac);
  }
  out->append("Z\"");
  return true;
}

bool AppendWireMessage(const Table& t, const char* p, const char* end,
                       std::string* out) {
  if (!t.usable) return false;
  out->push_back('{');
  bool first = true;
  uint64_t open_array = 0;  // field number of the array being printed
  while (p < end) {
    uint64_t tag;
    if (!ReadVarint(p, end, &tag)) return false;
    const uint64_t number = tag >> 3;
    const int wire = static_cast<int>(tag & 7);
    if (number == 0 || number >= t.by_number.size()) return false;
    const FieldInfo& fi = t.by_number[number];
    if (fi.field == nullptr) return false;
    if (fi.repeated && number == open_array) {
      out->push_back(',');
    } else {
      if (open_array != 0) out->push_back(']');
      if (!first) out->push_back(',');
      first = false;
      out->append(fi.key);
      if (fi.repeated) {
        out->push_back('[');
        open_array = number;
      } else {
        open_array = 0;
      }
    }
    if (wire == 0) {
      uint64_t v;
      if (!ReadVarint(p, end, &v) || !AppendVarintValue(fi, v, out)) {
        return false;
      }
      continue;
    }
    if (wire != 2) return false;
    uint64_t len;
    if (!ReadVarint(p, end, &len) || len > static_cast<uint64_t>(end - p)) {
      return false;
    }
    const char* data = p;
    p += len;
    switch (fi.type) {
      case FieldDescriptor::TYPE_STRING: {
        absl::string_view s(data, len);
        if (!PlainString(s)) return false;
        out->push_back('"');
        out->append(s.data(), s.size());
        out->push_back('"');
        break;
      }
      case FieldDescriptor::TYPE_MESSAGE:
        if (fi.timestamp) {
          if (!AppendWireTimestamp(data, p, out)) return false;
        } else if (!AppendWireMessage(TableFor(fi.message), data, p, out)) {
          return false;
        }
        break;
      default: {  // packed repeated varints
        if (!fi.repeated) return false;
        const char* q = data;
        bool first_element = true;
        while (q < p) {
          uint64_t v;
          if (!ReadVarint(q, p, &v)) return false;
          if (!first_element) out->push_back(',');
          first_element = false;
          if (!AppendVarintValue(fi, v, out)) return false;
        }
        break;
      }
    }
  }
  if (open_array != 0) out->push_back(']');
  out->push_back('}');
  return true;
}

bool AppendReflected(const Message& m, std::string* out) {
  return AppendMessage(m, out);
}

bool AppendViaWire(const Message& m, std::string* out) {
  const Table& t = TableFor(m.GetDescriptor());
  if (!t.usable) return false;
  thread_local std::string wire;
  wire.clear();
  if (!m.SerializeToString(&wire)) return false;
  return AppendWireMessage(t, wire.data(), wire.data() + wire.size(), out);
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

bool AppendProtoJsonByReflection(const Message& message, std::string* out) {
  const size_t mark = out->size();
  if (AppendReflected(message, out)) return true;
  out->resize(mark);
  return false;
}

absl::Status AppendProtoJson(const Message& message, std::string* out) {
  const size_t mark = out->size();
  if (AppendViaWire(message, out)) return absl::OkStatus();
  out->resize(mark);
  if (AppendReflected(message, out)) return absl::OkStatus();
  out->resize(mark);
  return AppendProtoJsonReference(message, out);
}

}  // namespace datarun::gen
