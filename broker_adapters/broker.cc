#include "broker_adapters/broker.h"

#include "absl/strings/str_cat.h"

namespace datarun::broker {

std::string ToString(const TopicPartition& tp) {
  return absl::StrCat(tp.topic, "[", tp.partition, "]");
}

bool IsRetriable(const absl::Status& status) {
  switch (status.code()) {
    case absl::StatusCode::kUnavailable:
    case absl::StatusCode::kDeadlineExceeded:
    case absl::StatusCode::kResourceExhausted:
    case absl::StatusCode::kAborted:
      return true;
    default:
      return false;
  }
}

}  // namespace datarun::broker
