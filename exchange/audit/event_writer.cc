#include "exchange/audit/event_writer.h"

namespace datarun::audit {
namespace {

constexpr int kWireVarint = 0;
constexpr int kWireLengthDelimited = 2;

size_t VarintSize(uint64_t v) {
  size_t n = 1;
  while (v >= 0x80) {
    v >>= 7;
    ++n;
  }
  return n;
}

void AppendVarint(uint64_t v, std::string* out) {
  char buf[10];
  size_t n = 0;
  while (v >= 0x80) {
    buf[n++] = static_cast<char>(v | 0x80);
    v >>= 7;
  }
  buf[n++] = static_cast<char>(v);
  out->append(buf, n);
}

// Tag and length prefix plus the bytes of one length-delimited field with a
// one-byte tag (field numbers below 16).
size_t FieldSize(size_t len) { return 1 + VarintSize(len) + len; }

}  // namespace

void AuditEventWriter::Tag(int field, int wire_type) {
  AppendVarint((static_cast<uint64_t>(field) << 3) | wire_type, out_);
}

void AuditEventWriter::Varint(uint64_t v) { AppendVarint(v, out_); }

void AuditEventWriter::LengthDelimited(int field, absl::string_view value) {
  Tag(field, kWireLengthDelimited);
  Varint(value.size());
  out_->append(value.data(), value.size());
}

void AuditEventWriter::Enum(int field, int value) {
  if (value == 0) return;
  Tag(field, kWireVarint);
  // Negative enum values are written as 10-byte varints, as protobuf does.
  Varint(static_cast<uint64_t>(static_cast<int64_t>(value)));
}

void AuditEventWriter::Message(int field,
                               const google::protobuf::MessageLite& message) {
  const size_t size = message.ByteSizeLong();
  Tag(field, kWireLengthDelimited);
  Varint(size);
  const size_t at = out_->size();
  out_->resize(at + size);
  message.SerializeWithCachedSizesToArray(
      reinterpret_cast<uint8_t*>(&(*out_)[at]));
}

void AuditEventWriter::Disclosed(
    absl::string_view data_class, absl::Span<const std::string> fields,
    absl::Span<const absl::string_view> record_keys) {
  // DisclosedClass: data_class = 1, fields = 2, record_keys = 3.
  size_t size = data_class.empty() ? 0 : FieldSize(data_class.size());
  for (const std::string& f : fields) size += FieldSize(f.size());
  for (absl::string_view k : record_keys) size += FieldSize(k.size());
  Tag(kDisclosed, kWireLengthDelimited);
  Varint(size);
  if (!data_class.empty()) LengthDelimited(1, data_class);
  for (const std::string& f : fields) LengthDelimited(2, f);
  for (absl::string_view k : record_keys) LengthDelimited(3, k);
}

void PrependEventId(absl::string_view event_id, absl::string_view rest,
                    std::string* out) {
  out->clear();
  if (!event_id.empty()) {
    out->push_back(static_cast<char>((kEventId << 3) | kWireLengthDelimited));
    AppendVarint(event_id.size(), out);
    out->append(event_id.data(), event_id.size());
  }
  out->append(rest.data(), rest.size());
}

}  // namespace datarun::audit
