// Fast proto3 JSON printing of department payloads for the JSONL writer.
//
// Produces exactly what google::protobuf::util::MessageToJsonString prints
// with preserve_proto_field_names (the format agreed with the JSONL
// connector), without protobuf's TypeResolver round trip, which dominated
// generation time: first by serialising with the generated code and walking
// the wire bytes with a per-type table (proto3 omits default values and
// writes fields in number order, exactly as the JSON printer prints them),
// else by a reflection walk. Field types and strings it does not handle
// natively (floats, maps, Any, wrappers, unusual Unicode) make it fall back
// to MessageToJsonString for that message, so the output never differs; the
// generator test checks equality on every generated payload.
//
// Thread-safety: safe from any thread (per-thread table caches).
#ifndef DATARUN_CONNECTORS_GEN_PROTO_JSON_H_
#define DATARUN_CONNECTORS_GEN_PROTO_JSON_H_

#include <string>

#include "absl/status/status.h"
#include "google/protobuf/message.h"

namespace datarun::gen {

// Appends the proto3 JSON of `message` (compact, proto field names, default
// values omitted) to `out`.
absl::Status AppendProtoJson(const google::protobuf::Message& message,
                             std::string* out);

// The second path AppendProtoJson tries (reflection walk); false, with `out`
// unchanged, when the message needs the reference. Exposed for tests.
bool AppendProtoJsonByReflection(const google::protobuf::Message& message,
                                 std::string* out);

// The reference: MessageToJsonString with preserve_proto_field_names.
absl::Status AppendProtoJsonReference(const google::protobuf::Message& message,
                                      std::string* out);

}  // namespace datarun::gen

#endif  // DATARUN_CONNECTORS_GEN_PROTO_JSON_H_
