#include "exchange/audit/event_writer.h"

#include <algorithm>
#include <cstring>

namespace datarun::audit {
namespace {

constexpr int kWireVarint = 0;
constexpr int kWireLengthDelimited = 2;
constexpr size_t kMaxVarint = 10;

size_t VarintSize(uint64_t v) {
  size_t n = 1;
  while (v >= 0x80) {
    v >>= 7;
    ++n;
  }
  return n;
}

char* PutVarint(uint64_t v, char* p) {
  while (v >= 0x80) {
    *p++ = static_cast<char>(v | 0x80);
    v >>= 7;
  }
  *p++ = static_cast<char>(v);
  return p;
}

uint64_t Tag(int field, int wire_type) {
  return (static_cast<uint64_t>(field) << 3) | wire_type;
}

// A length-delimited field of a DisclosedClass (field numbers 1-3: a
// one-byte tag), tag and length included.
size_t FieldSize(size_t len) { return 1 + VarintSize(len) + len; }

}  // namespace

AuditEventWriter::AuditEventWriter(std::string* out) : out_(out) {
  // Reuses the whole buffer a previous event grew.
  out_->resize(std::max<size_t>(out_->capacity(), 512));
}

void AuditEventWriter::Grow(size_t k) {
  out_->resize(std::max(2 * out_->size(), n_ + k));
}

void AuditEventWriter::LengthDelimited(int field, absl::string_view value) {
  char* p = Room(2 * kMaxVarint + value.size());
  p = PutVarint(Tag(field, kWireLengthDelimited), p);
  p = PutVarint(value.size(), p);
  if (!value.empty()) std::memcpy(p, value.data(), value.size());
  Done(p + value.size());
}

void AuditEventWriter::Enum(int field, int value) {
  if (value == 0) return;
  char* p = Room(2 * kMaxVarint);
  p = PutVarint(Tag(field, kWireVarint), p);
  // Negative enum values are written as 10-byte varints, as protobuf does.
  p = PutVarint(static_cast<uint64_t>(static_cast<int64_t>(value)), p);
  Done(p);
}

void AuditEventWriter::Message(int field,
                               const google::protobuf::MessageLite& message) {
  const size_t size = message.ByteSizeLong();
  char* p = Room(2 * kMaxVarint + size);
  p = PutVarint(Tag(field, kWireLengthDelimited), p);
  p = PutVarint(size, p);
  message.SerializeWithCachedSizesToArray(reinterpret_cast<uint8_t*>(p));
  Done(p + size);
}

void AuditEventWriter::Disclosed(
    absl::string_view data_class, absl::Span<const std::string> fields,
    absl::Span<const absl::string_view> record_keys) {
  // DisclosedClass: data_class = 1, fields = 2, record_keys = 3.
  size_t size = data_class.empty() ? 0 : FieldSize(data_class.size());
  for (const std::string& f : fields) size += FieldSize(f.size());
  for (absl::string_view k : record_keys) size += FieldSize(k.size());
  char* p = Room(2 * kMaxVarint + size);
  p = PutVarint(Tag(kDisclosed, kWireLengthDelimited), p);
  p = PutVarint(size, p);
  auto put = [&p](int field, absl::string_view v) {
    *p++ = static_cast<char>(Tag(field, kWireLengthDelimited));
    p = PutVarint(v.size(), p);
    if (!v.empty()) std::memcpy(p, v.data(), v.size());
    p += v.size();
  };
  if (!data_class.empty()) put(1, data_class);
  for (const std::string& f : fields) put(2, f);
  for (absl::string_view k : record_keys) put(3, k);
  Done(p);
}

void PrependEventId(absl::string_view event_id, absl::string_view rest,
                    std::string* out) {
  out->resize(1 + kMaxVarint + event_id.size() + rest.size());
  char* p = out->data();
  if (!event_id.empty()) {
    *p++ = static_cast<char>(Tag(kEventId, kWireLengthDelimited));
    p = PutVarint(event_id.size(), p);
    std::memcpy(p, event_id.data(), event_id.size());
    p += event_id.size();
  }
  if (!rest.empty()) std::memcpy(p, rest.data(), rest.size());
  p += rest.size();
  out->resize(p - out->data());
}

}  // namespace datarun::audit
