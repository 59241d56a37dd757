// Mapper::Encode: a row straight to the wire format of its Record, the
// connector's hot path. Mapping and validation are Mapper::MapEnvelope and
// Mapper::Convert, shared with Map, so both paths accept and reject the same
// rows for the same reasons; only the output differs. The bytes are what
// Record::SerializeToString writes for Map's record (fields in field-number
// order, proto3 defaults left out); mapping_encode_test checks that for the
// mappings in the repository.
#include <algorithm>
#include <cstring>
#include <memory>
#include <vector>

#include "connectors/mapping.h"
#include "google/protobuf/arena.h"
#include "google/protobuf/descriptor.h"

namespace datarun::connectors {

using google::protobuf::FieldDescriptor;

// A payload field in the tree of mapped paths: a leaf (a mapping field) or
// a message with mapped fields below.
struct Mapper::Node {
  const FieldDescriptor* descriptor = nullptr;  // null for the payload root
  int field = -1;                               // leaf: index in fields_
  std::vector<Node> children;                   // by field number
};

namespace {

enum WireType { kVarint = 0, kFixed64 = 1, kLength = 2, kFixed32 = 5 };

}  // namespace

// Writes into a string sized up front to a bound on the record's size (see
// Encode), through a pointer: no capacity check per piece.
class Mapper::Wire {
 public:
  Wire(std::string* out, size_t bound) : out_(out) {
    out->resize(bound);
    base_ = out->data();
    p_ = base_;
  }
  void Finish() { out_->resize(p_ - base_); }
  size_t size() const { return p_ - base_; }
  void Truncate(size_t size) { p_ = base_ + size; }

  void Varint(uint64_t v) {
    while (v >= 0x80) {
      *p_++ = static_cast<char>(v | 0x80);
      v >>= 7;
    }
    *p_++ = static_cast<char>(v);
  }
  void Tag(int number, WireType type) {
    Varint((static_cast<uint64_t>(number) << 3) | type);
  }
  void Bytes(int number, absl::string_view bytes) {
    Tag(number, kLength);
    Varint(bytes.size());
    std::memcpy(p_, bytes.data(), bytes.size());
    p_ += bytes.size();
  }
  void Fixed(uint64_t v, int bytes) {
    for (int i = 0; i < bytes; ++i) *p_++ = static_cast<char>(v >> (8 * i));
  }
  // A length-delimited field whose length is known only after its content
  // is written: the content goes after a one-byte length (the common case)
  // and is moved when the length needs more bytes.
  size_t BeginLength(int number) {
    Tag(number, kLength);
    *p_++ = '\0';
    return size();
  }
  void EndLength(size_t start) {
    const size_t length = size() - start;
    if (length < 0x80) {
      base_[start - 1] = static_cast<char>(length);
      return;
    }
    char varint[10];
    int n = 0;
    uint64_t v = length;
    while (v >= 0x80) {
      varint[n++] = static_cast<char>(v | 0x80);
      v >>= 7;
    }
    varint[n++] = static_cast<char>(v);
    std::memmove(base_ + start + n - 1, base_ + start, length);
    std::memcpy(base_ + start - 1, varint, n);
    p_ += n - 1;
  }

 private:
  std::string* out_;
  char* base_;
  char* p_;
};

namespace {

using Wire = Mapper::Wire;

// A scalar with implicit presence is left out when it is zero, as the
// generated serializer does; with explicit presence it is written when set.
void PutScalar(Wire* out, const FieldDescriptor* fd, int64_t integer,
               double real) {
  const bool always = fd->has_presence();
  const int n = fd->number();
  switch (fd->type()) {
    case FieldDescriptor::TYPE_DOUBLE: {
      uint64_t bits;
      std::memcpy(&bits, &real, sizeof(bits));
      if (bits == 0 && !always) return;
      out->Tag(n, kFixed64);
      out->Fixed(bits, 8);
      return;
    }
    case FieldDescriptor::TYPE_FLOAT: {
      const float f = static_cast<float>(real);
      uint32_t bits;
      std::memcpy(&bits, &f, sizeof(bits));
      if (bits == 0 && !always) return;
      out->Tag(n, kFixed32);
      out->Fixed(bits, 4);
      return;
    }
    default:
      break;
  }
  if (integer == 0 && !always) return;
  switch (fd->type()) {
    case FieldDescriptor::TYPE_SINT32:
    case FieldDescriptor::TYPE_SINT64:
      out->Tag(n, kVarint);
      out->Varint((static_cast<uint64_t>(integer) << 1) ^
                  static_cast<uint64_t>(integer >> 63));
      return;
    case FieldDescriptor::TYPE_FIXED32:
    case FieldDescriptor::TYPE_SFIXED32:
      out->Tag(n, kFixed32);
      out->Fixed(static_cast<uint64_t>(integer), 4);
      return;
    case FieldDescriptor::TYPE_FIXED64:
    case FieldDescriptor::TYPE_SFIXED64:
      out->Tag(n, kFixed64);
      out->Fixed(static_cast<uint64_t>(integer), 8);
      return;
    default:  // int32/64, uint32/64, bool, enum: negative int32 as 10 bytes
      out->Tag(n, kVarint);
      out->Varint(static_cast<uint64_t>(integer));
      return;
  }
}

void PutSubject(Wire* out, int number, const subject::SubjectId& id) {
  const size_t start = out->BeginLength(number);
  out->Tag(1, kVarint);  // Subject.kind, never UNSPECIFIED here
  out->Varint(id.kind() == subject::SubjectKind::kCitizen
                  ? datarun::v1::SUBJECT_KIND_CITIZEN
                  : datarun::v1::SUBJECT_KIND_LEGAL_PERSON);
  out->Bytes(2, id.id());
  out->EndLength(start);
}

// Inserts `path` below `node` (a Mapper::Node, private, hence the
// template); false when the tree cannot say what Map would do: a field
// mapped twice, both as a leaf and as a message, or in a oneof.
template <typename NodeT>
bool Insert(NodeT* node, const std::vector<const FieldDescriptor*>& path,
            size_t depth, int field) {
  const FieldDescriptor* fd = path[depth];
  if (fd->containing_oneof() != nullptr) return false;
  auto it = node->children.begin();
  while (it != node->children.end() &&
         it->descriptor->number() < fd->number()) {
    ++it;
  }
  if (it == node->children.end() || it->descriptor != fd) {
    it = node->children.insert(it, NodeT());
    it->descriptor = fd;
  }
  if (depth + 1 == path.size()) {
    if (it->field >= 0 || !it->children.empty()) return false;
    it->field = field;
    return true;
  }
  if (it->field >= 0) return false;
  return Insert(&*it, path, depth + 1, field);
}

template <typename NodeT>
size_t CountNodes(const NodeT& node) {
  size_t n = 1;
  for (const NodeT& child : node.children) n += CountNodes(child);
  return n;
}

// True when a mapped field at or below `node` has a value in this row.
template <typename NodeT>
bool AnySet(const NodeT& node, const bool* set) {
  if (node.field >= 0) return set[node.field];
  for (const NodeT& child : node.children) {
    if (AnySet(child, set)) return true;
  }
  return false;
}

}  // namespace

Mapper::Mapper() = default;
Mapper::~Mapper() = default;

void Mapper::BuildEncoder() {
  auto root = std::make_unique<Node>();
  for (size_t i = 0; i < fields_.size(); ++i) {
    if (!Insert(root.get(), fields_[i].path, 0, static_cast<int>(i))) {
      return;  // Encode falls back to Map
    }
  }
  // Everything but the per-field parts (Encode adds those): subject (id up
  // to 18 characters), class, department, version, op, event time, the
  // Any with its type URL, and tag plus length (with room to grow) of every
  // message on the way to a mapped field.
  encode_bound_ = 256 + data_class_->id().size() + department_.size() +
                  type_url_.size() + 16 * CountNodes(*root);
  encoder_ = std::move(root);
}

void Mapper::EncodeNode(const Node& node, const Value* values, const bool* set,
                        Wire* out) const {
  for (const Node& child : node.children) {
    const FieldDescriptor* fd = child.descriptor;
    if (child.field < 0) {
      // A message on the way to mapped fields: present when one of them has
      // a value (Map's MutableMessage), even if the values are defaults.
      if (!AnySet(child, set)) continue;
      const size_t start = out->BeginLength(fd->number());
      EncodeNode(child, values, set, out);
      out->EndLength(start);
      continue;
    }
    if (!set[child.field]) continue;
    const Field& field = fields_[child.field];
    const Value& value = values[child.field];
    switch (field.kind) {
      case Kind::kString:
        out->Bytes(fd->number(), value.text);
        break;
      case Kind::kInteger:
      case Kind::kBool:
      case Kind::kEnum:
      case Kind::kReal:
        PutScalar(out, fd, value.integer, value.real);
        break;
      case Kind::kDate: {
        const size_t start = out->BeginLength(fd->number());
        // Date: year 1, month 2, day 3 (common.proto); a valid date has no
        // zero part.
        out->Tag(1, kVarint);
        out->Varint(static_cast<uint64_t>(value.year));
        out->Tag(2, kVarint);
        out->Varint(static_cast<uint64_t>(value.month));
        out->Tag(3, kVarint);
        out->Varint(static_cast<uint64_t>(value.day));
        out->EndLength(start);
        break;
      }
      case Kind::kTimestamp: {
        const size_t start = out->BeginLength(fd->number());
        if (value.seconds != 0) {
          out->Tag(1, kVarint);
          out->Varint(static_cast<uint64_t>(value.seconds));
        }
        if (value.nanos != 0) {
          out->Tag(2, kVarint);
          out->Varint(static_cast<uint64_t>(int64_t{value.nanos}));
        }
        out->EndLength(start);
        break;
      }
      case Kind::kSubject:
        PutSubject(out, fd->number(), *value.subject);
        break;
    }
  }
}

bool Mapper::EncodeFallback(const Row& row, std::string* value,
                            std::string* key, RowRejection* rejection) const {
  alignas(8) char block[8 << 10];
  google::protobuf::ArenaOptions options;
  options.initial_block = block;
  options.initial_block_size = sizeof(block);
  google::protobuf::Arena arena(options);
  auto* record =
      google::protobuf::Arena::CreateMessage<datarun::v1::Record>(&arena);
  if (!Map(row, record, rejection)) return false;
  value->clear();
  record->AppendToString(value);
  key->assign(record->subject().id());
  return true;
}

bool Mapper::Encode(const Row& row, const Binding& binding, std::string* value,
                    std::string* key, RowRejection* rejection) const {
  if (encoder_ == nullptr || !row.source_error.empty()) {
    return EncodeFallback(row, value, key, rejection);
  }
  Envelope envelope;
  if (!MapEnvelope(row, binding, &envelope, rejection)) return false;
  const bool upsert = envelope.op != datarun::v1::Record::OP_DELETE;
  // Per-thread scratch kept from row to row: building and destroying
  // fields_.size() Values (each with an optional SubjectId) per row cost
  // ~10% of the mapping thread. Only entries with set[i] are read, and
  // Convert writes every member its kind reads, so stale values are inert.
  struct Scratch {
    std::vector<Value> values;
    std::unique_ptr<bool[]> set;
    size_t set_size = 0;
  };
  thread_local Scratch scratch;
  std::vector<Value>& values = scratch.values;
  if (values.size() < fields_.size()) values.resize(fields_.size());
  if (scratch.set_size < fields_.size()) {
    scratch.set.reset(new bool[fields_.size()]);
    scratch.set_size = fields_.size();
  }
  bool* const set = scratch.set.get();
  std::fill(set, set + fields_.size(), false);
  if (upsert) {
    for (size_t i = 0; i < fields_.size(); ++i) {
      const int at = binding.fields[i];
      absl::string_view text = at < 0
                                   ? absl::string_view()
                                   : absl::string_view(row.columns[at].second);
      if (text.empty()) {
        if (!Missing(row, binding, i, rejection)) return false;
        continue;
      }
      if (!Convert(fields_[i], text, &values[i], rejection)) return false;
      set[i] = true;
    }
  }
  // Record, fields in number order (record.proto), into a buffer sized to
  // a bound: fixed parts (encode_bound_) plus, per field, its text and 64
  // bytes for tags, lengths and the widest non-string value.
  size_t bound = encode_bound_ + envelope.record_key.size();
  if (upsert) {
    for (size_t i = 0; i < fields_.size(); ++i) {
      if (set[i]) bound += 64 + values[i].text.size();
    }
  }
  Wire w(value, bound);
  Wire* out = &w;
  PutSubject(out, 1, *envelope.subject);
  if (!data_class_->id().empty()) out->Bytes(2, data_class_->id());
  if (!department_.empty()) out->Bytes(3, department_);
  if (!envelope.record_key.empty()) out->Bytes(4, envelope.record_key);
  out->Tag(5, kVarint);  // source_version, never 0
  out->Varint(envelope.version);
  out->Tag(6, kVarint);  // op, never UNSPECIFIED
  out->Varint(envelope.op);
  if (envelope.has_event_time) {
    const size_t start = out->BeginLength(7);
    if (envelope.event_seconds != 0) {
      out->Tag(1, kVarint);
      out->Varint(static_cast<uint64_t>(envelope.event_seconds));
    }
    if (envelope.event_nanos != 0) {
      out->Tag(2, kVarint);
      out->Varint(static_cast<uint64_t>(int64_t{envelope.event_nanos}));
    }
    out->EndLength(start);
  }
  if (upsert) {
    const size_t any = out->BeginLength(8);
    out->Bytes(1, type_url_);
    const size_t tag_at = out->size();
    const size_t payload = out->BeginLength(2);
    EncodeNode(*encoder_, values.data(), set, out);
    if (out->size() == payload) {
      out->Truncate(tag_at);  // empty payload: Any.value left out
    } else {
      out->EndLength(payload);
    }
    out->EndLength(any);
  }
  w.Finish();
  key->assign(envelope.subject->id().data(), envelope.subject->id().size());
  return true;
}

}  // namespace datarun::connectors
