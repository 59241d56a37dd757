#include "exchange/state/record_envelope.h"

#include "absl/strings/str_cat.h"
#include "google/protobuf/stubs/common.h"

namespace datarun::state {
namespace {

// Field numbers of datarun.v1.Record and the messages it embeds.
enum : uint32_t {
  kSubject = 1,
  kDataClass = 2,
  kSourceDepartment = 3,
  kRecordKey = 4,
  kSourceVersion = 5,
  kOp = 6,
  kEventTime = 7,
  kPayload = 8,
  kTraceId = 9,
};
enum : uint32_t { kSubjectKind = 1, kSubjectId = 2 };
enum : uint32_t { kAnyTypeUrl = 1, kAnyValue = 2 };
enum : uint32_t { kSeconds = 1, kNanos = 2 };

enum WireType : uint32_t {
  kVarint = 0,
  kFixed64 = 1,
  kLengthDelimited = 2,
  kStartGroup = 3,
  kEndGroup = 4,
  kFixed32 = 5,
};

// Protobuf's own nesting limit; only unknown groups can nest here.
constexpr int kMaxDepth = 100;

// A cursor over one message's bytes [p, end). Errors keep the first
// failure's offset from the start of the whole record.
class Reader {
 public:
  Reader(const char* base, const char* p, const char* end)
      : base_(base), p_(p), end_(end) {}

  bool done() const { return p_ == end_; }
  const char* pos() const { return p_; }
  size_t offset() const { return static_cast<size_t>(p_ - base_); }

  // Protobuf reads at most 10 bytes; the last may not continue.
  bool Varint(uint64_t* v) {
    uint64_t result = 0;
    for (int i = 0; i < 10; ++i) {
      if (p_ == end_) return false;
      const uint8_t b = static_cast<uint8_t>(*p_++);
      result |= static_cast<uint64_t>(b & 0x7f) << (7 * i);
      if (b < 0x80) {
        *v = result;
        return true;
      }
    }
    return false;
  }

  // Tags are varint32: at most 5 bytes; like protobuf, bits past 32 are
  // dropped.
  bool Tag(uint32_t* tag) {
    const char* start = p_;
    uint64_t v;
    if (!Varint(&v) || p_ - start > 5) return false;
    *tag = static_cast<uint32_t>(v);
    return true;
  }

  // A length prefix (varint32, at most INT_MAX) and the bytes it covers.
  bool Bytes(absl::string_view* out) {
    const char* start = p_;
    uint64_t size;
    if (!Varint(&size) || p_ - start > 5 || size > 0x7fffffffu ||
        size > static_cast<uint64_t>(end_ - p_)) {
      return false;
    }
    *out = absl::string_view(p_, size);
    p_ += size;
    return true;
  }

  bool Skip(size_t n) {
    if (static_cast<size_t>(end_ - p_) < n) return false;
    p_ += n;
    return true;
  }

  // Skips the value of a field protobuf does not know (or knows with
  // another wire type): it keeps it as an unknown field.
  bool SkipField(uint32_t tag, int depth) {
    uint64_t ignored;
    absl::string_view bytes;
    switch (tag & 7) {
      case kVarint:
        return Varint(&ignored);
      case kFixed64:
        return Skip(8);
      case kLengthDelimited:
        return Bytes(&bytes);
      case kFixed32:
        return Skip(4);
      case kStartGroup: {
        if (depth >= kMaxDepth) return false;
        while (true) {
          uint32_t inner;
          if (!Tag(&inner) || (inner >> 3) == 0) return false;
          if ((inner & 7) == kEndGroup) return inner >> 3 == tag >> 3;
          if (!SkipField(inner, depth + 1)) return false;
        }
      }
      default:  // an end group without start, or wire types 6 and 7
        return false;
    }
  }

 private:
  const char* base_;
  const char* p_;
  const char* end_;
};

bool ValidUtf8(absl::string_view s) {
  return google::protobuf::internal::IsStructurallyValidUTF8(
      s.data(), static_cast<int>(s.size()));
}

absl::Status Bad(absl::string_view what, size_t offset) {
  return absl::InvalidArgumentError(
      absl::StrCat("not a datarun.v1.Record: ", what, " at byte ", offset));
}

// Walks the fields of one message. `on_field(tag, reader, tag_offset)`
// consumes the value of a field it knows (kBad on a malformed value) and
// returns kUnknown for others, which are skipped.
enum class Field { kOk, kBad, kUnknown };

template <typename OnField>
absl::Status Walk(Reader& r, absl::string_view message, OnField on_field) {
  while (!r.done()) {
    const size_t at = r.offset();
    uint32_t tag;
    if (!r.Tag(&tag)) return Bad(absl::StrCat(message, ": bad tag"), at);
    // A zero tag or an end group ends a message early: protobuf then fails
    // the parse because the message did not end at its length.
    if ((tag >> 3) == 0 || (tag & 7) == kEndGroup) {
      return Bad(absl::StrCat(message, ": unexpected tag ", tag), at);
    }
    switch (on_field(tag, r, at)) {
      case Field::kOk:
        break;
      case Field::kBad:
        return Bad(absl::StrCat(message, " field ", tag >> 3), at);
      case Field::kUnknown:
        if (!r.SkipField(tag, 0)) {
          return Bad(absl::StrCat(message, ": unknown field ", tag >> 3), at);
        }
        break;
    }
  }
  return absl::OkStatus();
}

// A string field of a proto3 message: length-delimited, valid UTF-8.
Field String(Reader& r, absl::string_view* out) {
  return r.Bytes(out) && ValidUtf8(*out) ? Field::kOk : Field::kBad;
}

Field Enum(Reader& r, int* out) {
  uint64_t v;
  if (!r.Varint(&v)) return Field::kBad;
  *out = static_cast<int32_t>(v);  // protobuf truncates the same way
  return Field::kOk;
}

}  // namespace

absl::Status DecodeRecordEnvelope(absl::string_view bytes,
                                  RecordEnvelope* out) {
  *out = RecordEnvelope();
  if (bytes.size() > 0x7fffffffu) {
    return absl::InvalidArgumentError(
        absl::StrCat("record of ", bytes.size(), " bytes is over 2 GiB"));
  }
  const char* base = bytes.data();
  Reader r(base, base, base + bytes.size());
  absl::Status nested = absl::OkStatus();
  // Parses an embedded message field into a sub-reader.
  auto sub = [&](Reader& outer, absl::string_view name, auto on_field) {
    absl::string_view body;
    if (!outer.Bytes(&body)) return Field::kBad;
    Reader inner(base, body.data(), body.data() + body.size());
    nested = Walk(inner, name, on_field);
    return nested.ok() ? Field::kOk : Field::kBad;
  };
  absl::Status s =
      Walk(r, "Record", [&](uint32_t tag, Reader& in, size_t tag_at) {
        const uint32_t number = tag >> 3;
        const uint32_t type = tag & 7;
        if (number == kSourceVersion || number == kOp) {
          if (type != kVarint) return Field::kUnknown;
          if (number == kOp) return Enum(in, &out->op);
          return in.Varint(&out->source_version) ? Field::kOk : Field::kBad;
        }
        if (number < kSubject || number > kTraceId ||
            type != kLengthDelimited) {
          return Field::kUnknown;
        }
        switch (number) {
          case kSubject:
            return sub(in, "Record.subject",
                       [&](uint32_t t, Reader& sr, size_t) {
                         if (t == (kSubjectKind << 3 | kVarint)) {
                           return Enum(sr, &out->subject_kind);
                         }
                         if (t == (kSubjectId << 3 | kLengthDelimited)) {
                           return String(sr, &out->subject_id);
                         }
                         return Field::kUnknown;
                       });
          case kDataClass:
            return String(in, &out->data_class);
          case kSourceDepartment:
            return String(in, &out->source_department);
          case kRecordKey:
            return String(in, &out->record_key);
          case kEventTime:
            // Timestamp: two varints; protobuf checks only their structure.
            out->has_event_time = true;
            return sub(in, "Record.event_time",
                       [&](uint32_t t, Reader& tr, size_t) {
                         uint64_t v;
                         if (t == (kSeconds << 3 | kVarint)) {
                           if (!tr.Varint(&v)) return Field::kBad;
                           out->event_time_seconds = static_cast<int64_t>(v);
                           return Field::kOk;
                         }
                         if (t == (kNanos << 3 | kVarint)) {
                           if (!tr.Varint(&v)) return Field::kBad;
                           out->event_time_nanos = static_cast<int32_t>(v);
                           return Field::kOk;
                         }
                         return Field::kUnknown;
                       });
          case kPayload: {
            Field f =
                sub(in, "Record.payload", [&](uint32_t t, Reader& ar, size_t) {
                  if (t == (kAnyTypeUrl << 3 | kLengthDelimited)) {
                    return String(ar, &out->payload_type_url);
                  }
                  if (t == (kAnyValue << 3 | kLengthDelimited)) {
                    // Bytes: no UTF-8 check, and not decoded.
                    return ar.Bytes(&out->payload_value) ? Field::kOk
                                                         : Field::kBad;
                  }
                  return Field::kUnknown;
                });
            if (f == Field::kOk) {
              ++out->payload_fields;
              out->payload_begin = static_cast<uint32_t>(tag_at);
              out->payload_end = static_cast<uint32_t>(in.offset());
            }
            return f;
          }
          case kTraceId: {
            absl::string_view ignored;
            return String(in, &ignored);
          }
        }
        return Field::kUnknown;
      });
  if (!nested.ok()) return nested;
  return s;
}

}  // namespace datarun::state
