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

void FieldMask::Apply(Message* message) const {
  if (root_ == nullptr) {
    message->Clear();
    return;
  }
  ApplyNode(*root_, message);
}

}  // namespace datarun::policy
