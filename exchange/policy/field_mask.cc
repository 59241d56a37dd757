#include "exchange/policy/field_mask.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace datarun::policy {

using google::protobuf::Descriptor;
using google::protobuf::FieldDescriptor;
using google::protobuf::Message;
using google::protobuf::Reflection;

absl::StatusOr<FieldMask> FieldMask::Create(
    const Descriptor* descriptor, const std::vector<std::string>& paths) {
  FieldMask mask;
  mask.root_ = std::make_unique<Node>();
  mask.paths_ = paths;
  for (const std::string& path : paths) {
    Node* node = mask.root_.get();
    const Descriptor* type = descriptor;
    std::vector<absl::string_view> parts = absl::StrSplit(path, '.');
    for (size_t i = 0; i < parts.size(); ++i) {
      if (type == nullptr) {
        return absl::InvalidArgumentError(absl::StrCat(
            "field path \"", path, "\" of ", descriptor->full_name(), ": \"",
            parts[i - 1], "\" is not a message field, cannot select \"",
            parts[i], "\" in it"));
      }
      const FieldDescriptor* field =
          type->FindFieldByName(std::string(parts[i]));
      if (field == nullptr) {
        return absl::InvalidArgumentError(absl::StrCat(
            "field path \"", path, "\" of ", descriptor->full_name(), ": ",
            type->full_name(), " has no field \"", parts[i], "\""));
      }
      if (node->whole) break;  // an ancestor is kept whole already
      auto& child = node->children[field->number()];
      if (child == nullptr) child = std::make_unique<Node>();
      child->field = field;
      node = child.get();
      type = field->cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE
                 ? field->message_type()
                 : nullptr;
      if (i + 1 == parts.size()) {
        node->whole = true;
        node->children.clear();
      }
    }
  }
  return mask;
}

void FieldMask::ApplyNode(const Node& node, Message* message) {
  const Reflection* reflection = message->GetReflection();
  std::vector<const FieldDescriptor*> set;
  reflection->ListFields(*message, &set);
  for (const FieldDescriptor* field : set) {
    auto it = node.children.find(field->number());
    if (it == node.children.end()) {
      reflection->ClearField(message, field);
      continue;
    }
    const Node& child = *it->second;
    if (child.whole || field->cpp_type() != FieldDescriptor::CPPTYPE_MESSAGE) {
      continue;
    }
    if (field->is_repeated()) {
      const int n = reflection->FieldSize(*message, field);
      for (int i = 0; i < n; ++i) {
        ApplyNode(child, reflection->MutableRepeatedMessage(message, field, i));
      }
    } else {
      ApplyNode(child, reflection->MutableMessage(message, field));
    }
  }
  // Unknown fields would otherwise travel on untouched.
  reflection->MutableUnknownFields(message)->Clear();
}

namespace {

// Wire types (the protobuf encoding spec).
constexpr int kVarint = 0;
constexpr int kFixed64 = 1;
constexpr int kLengthDelimited = 2;
constexpr int kFixed32 = 5;

bool ReadVarint(absl::string_view* in, uint64_t* v) {
  uint64_t r = 0;
  for (int shift = 0; shift < 64; shift += 7) {
    if (in->empty()) return false;
    const uint8_t b = static_cast<uint8_t>(in->front());
    in->remove_prefix(1);
    r |= static_cast<uint64_t>(b & 0x7f) << shift;
    if ((b & 0x80) == 0) {
      *v = r;
      return true;
    }
  }
  return false;
}

void AppendVarint(uint64_t v, std::string* out) {
  while (v >= 0x80) {
    out->push_back(static_cast<char>(v | 0x80));
    v >>= 7;
  }
  out->push_back(static_cast<char>(v));
}

// Whether the parser would accept `wire_type` for `field` (anything else
// lands in the unknown fields, which Apply clears).
bool WireTypeFits(const FieldDescriptor* field, int wire_type) {
  int expected = kLengthDelimited;
  switch (field->type()) {
    case FieldDescriptor::TYPE_INT32:
    case FieldDescriptor::TYPE_INT64:
    case FieldDescriptor::TYPE_UINT32:
    case FieldDescriptor::TYPE_UINT64:
    case FieldDescriptor::TYPE_SINT32:
    case FieldDescriptor::TYPE_SINT64:
    case FieldDescriptor::TYPE_BOOL:
    case FieldDescriptor::TYPE_ENUM:
      expected = kVarint;
      break;
    case FieldDescriptor::TYPE_FIXED64:
    case FieldDescriptor::TYPE_SFIXED64:
    case FieldDescriptor::TYPE_DOUBLE:
      expected = kFixed64;
      break;
    case FieldDescriptor::TYPE_FIXED32:
    case FieldDescriptor::TYPE_SFIXED32:
    case FieldDescriptor::TYPE_FLOAT:
      expected = kFixed32;
      break;
    case FieldDescriptor::TYPE_GROUP:
      return false;  // never reached: groups make FilterNode give up
    default:         // string, bytes, message
      break;
  }
  if (wire_type == expected) return true;
  // Packed and unpacked encodings of a repeated scalar are both accepted.
  return wire_type == kLengthDelimited && field->is_packable();
}

}  // namespace

bool FieldMask::FilterNode(const Node& node, absl::string_view wire,
                           std::string* out) {
  while (!wire.empty()) {
    const char* field_start = wire.data();
    uint64_t tag;
    if (!ReadVarint(&wire, &tag)) return false;
    const int wire_type = static_cast<int>(tag & 7);
    const uint64_t number = tag >> 3;
    if (number == 0) return false;
    absl::string_view body;  // length-delimited payload
    switch (wire_type) {
      case kVarint: {
        uint64_t ignored;
        if (!ReadVarint(&wire, &ignored)) return false;
        break;
      }
      case kFixed64:
        if (wire.size() < 8) return false;
        wire.remove_prefix(8);
        break;
      case kFixed32:
        if (wire.size() < 4) return false;
        wire.remove_prefix(4);
        break;
      case kLengthDelimited: {
        uint64_t len;
        if (!ReadVarint(&wire, &len) || len > wire.size()) return false;
        body = wire.substr(0, len);
        wire.remove_prefix(len);
        break;
      }
      default:  // groups (deprecated) and invalid wire types: let Apply judge
        return false;
    }
    auto it = node.children.find(static_cast<int>(number));
    if (it == node.children.end()) continue;
    const Node& child = *it->second;
    if (!WireTypeFits(child.field, wire_type)) continue;
    if (child.whole ||
        child.field->cpp_type() != FieldDescriptor::CPPTYPE_MESSAGE) {
      out->append(field_start, wire.data() - field_start);
      continue;
    }
    // A partly kept sub-message: filter it, then write its new length.
    std::string sub;
    if (!FilterNode(child, body, &sub)) return false;
    AppendVarint(tag, out);
    AppendVarint(sub.size(), out);
    out->append(sub);
  }
  return true;
}

bool FieldMask::FilterWire(absl::string_view wire, std::string* out) const {
  if (root_ == nullptr) return true;  // Apply clears everything
  return FilterNode(*root_, wire, out);
}

void FieldMask::Apply(Message* message) const {
  if (root_ == nullptr) {
    message->Clear();
    return;
  }
  ApplyNode(*root_, message);
}

}  // namespace datarun::policy
