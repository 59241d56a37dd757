// Conversion from google.protobuf.Timestamp (the proto messages' times) to
// absl::Time (the code's times), at full nanosecond precision.
//
// Header-only, no state, safe from any thread.
#ifndef DATARUN_COMMON_PROTO_TIME_H_
#define DATARUN_COMMON_PROTO_TIME_H_

#include "absl/time/time.h"
#include "google/protobuf/timestamp.pb.h"

namespace datarun {

inline absl::Time FromProtoTime(const google::protobuf::Timestamp& ts) {
  return absl::FromUnixSeconds(ts.seconds()) + absl::Nanoseconds(ts.nanos());
}

}  // namespace datarun

#endif  // DATARUN_COMMON_PROTO_TIME_H_
