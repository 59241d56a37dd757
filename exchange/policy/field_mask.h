// FieldMask: which fields of a payload message may leave the exchange, and
// clearing every other field through protobuf reflection.
//
// Paths are field names, dot-separated into nested messages:
// "address" keeps the whole Address, "address.region_code" keeps only that
// field of it (and clears the rest of the Address); a path through a
// repeated message field applies to every element. Built by the policy from
// SharingAgreement.classes[].fields, applied by the resolver to each record.
//
// Thread-safety: immutable after Create(); Apply may run concurrently on
// different messages.
#ifndef DATARUN_EXCHANGE_POLICY_FIELD_MASK_H_
#define DATARUN_EXCHANGE_POLICY_FIELD_MASK_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/message.h"

namespace datarun::policy {

class FieldMask {
 public:
  // InvalidArgument naming the path and the message type when a segment is
  // not a field, or a non-final segment is not a message field.
  static absl::StatusOr<FieldMask> Create(
      const google::protobuf::Descriptor* descriptor,
      const std::vector<std::string>& paths);

  FieldMask() = default;
  FieldMask(FieldMask&&) = default;
  FieldMask& operator=(FieldMask&&) = default;

  // Clears every field of `message` not covered. `message` must be of the
  // descriptor's type.
  void Apply(google::protobuf::Message* message) const;

  // The same masking on the serialized message, without parsing it: appends
  // to `out` the fields of `wire` that Apply would keep (tags, lengths and
  // kept bytes copied, partly kept sub-messages filtered recursively; fields
  // the descriptor does not know, or sent with another wire type, dropped as
  // Apply drops unknown fields). Parsing `out` gives the message Apply
  // leaves, at a fraction of the cost of parse + reflection + serialize
  // (the resolver's hot path). Returns false, with `out` in an unspecified
  // state, when `wire` is not well-formed or holds groups: callers then
  // parse and use Apply, which reports what is wrong.
  bool FilterWire(absl::string_view wire, std::string* out) const;

  // The paths it was built from, in the given order.
  const std::vector<std::string>& paths() const { return paths_; }
  bool empty() const { return paths_.empty(); }

 private:
  struct Node {
    bool whole = false;  // keep the field (and everything below) as is
    // The field this node selects (null at the root): its wire types.
    const google::protobuf::FieldDescriptor* field = nullptr;
    absl::flat_hash_map<int, std::unique_ptr<Node>> children;  // by number
  };
  static void ApplyNode(const Node& node, google::protobuf::Message* message);
  static bool FilterNode(const Node& node, absl::string_view wire,
                         std::string* out);

  std::unique_ptr<Node> root_;
  std::vector<std::string> paths_;
};

}  // namespace datarun::policy

#endif  // DATARUN_EXCHANGE_POLICY_FIELD_MASK_H_
