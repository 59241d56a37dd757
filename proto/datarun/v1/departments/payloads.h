// The department payload message types, listed once.
//
// The catalog loader and anything that resolves DataClass.payload_type by
// name through the generated descriptor pool must make sure the generated
// code is linked in: a statically linked binary drops .pb.o files nobody
// references, and their types then silently vanish from the pool. Calling
// AllPayloadDescriptors() references every department file, so linking this
// library is enough.
//
// Thread-safety: the list is built once (function-local static) and
// immutable; safe from any thread.
#ifndef DATARUN_PROTO_DATARUN_V1_DEPARTMENTS_PAYLOADS_H_
#define DATARUN_PROTO_DATARUN_V1_DEPARTMENTS_PAYLOADS_H_

#include <vector>

#include "google/protobuf/descriptor.h"

namespace datarun::departments {

// Every message of package datarun.v1.departments used as a data class
// payload (shared value types such as Date and Address are not listed).
const std::vector<const google::protobuf::Descriptor*>& AllPayloadDescriptors();

}  // namespace datarun::departments

#endif  // DATARUN_PROTO_DATARUN_V1_DEPARTMENTS_PAYLOADS_H_
