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

  // The paths it was built from, in the given order.
  const std::vector<std::string>& paths() const { return paths_; }
  bool empty() const { return paths_.empty(); }

 private:
  struct Node {
    bool whole = false;  // keep the field (and everything below) as is
    absl::flat_hash_map<int, std::unique_ptr<Node>> children;  // by number
  };
  static void ApplyNode(const Node& node, google::protobuf::Message* message);

  std::unique_ptr<Node> root_;
  std::vector<std::string> paths_;
};

}  // namespace datarun::policy

#endif  // DATARUN_EXCHANGE_POLICY_FIELD_MASK_H_
