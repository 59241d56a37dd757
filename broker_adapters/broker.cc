#include "broker_adapters/broker.h"

#include "absl/strings/str_cat.h"

namespace datarun::broker {

std::string ToString(const TopicPartition& tp) {
  return absl::StrCat(tp.topic, "[", tp.partition, "]");
}

void PolledBatch::VisitHeaders(
    size_t i,
    absl::FunctionRef<void(absl::string_view, absl::string_view)> visit) const {
  // The copies must outlive the calls, not the batch: visit sees them here.
  const Headers copies = headers(i);
  for (const auto& [name, value] : copies) visit(name, value);
}

namespace {

// PollBatch's default: owns copies made by Poll.
class CopiedBatch : public PolledBatch {
 public:
  explicit CopiedBatch(std::vector<Message> messages)
      : messages_(std::move(messages)) {
    views_.reserve(messages_.size());
    for (const Message& m : messages_) {
      views_.push_back({m.topic, m.partition, m.offset, m.key, m.value});
    }
  }
  Headers headers(size_t i) const override { return messages_[i].headers; }
  void VisitHeaders(
      size_t i,
      absl::FunctionRef<void(absl::string_view, absl::string_view)> visit)
      const override {
    for (const auto& [name, value] : messages_[i].headers) visit(name, value);
  }
  absl::Time timestamp(size_t i) const override {
    return messages_[i].timestamp;
  }

 private:
  std::vector<Message> messages_;
};

}  // namespace

absl::Status Consumer::PollBatch(size_t max_messages, absl::Duration timeout,
                                 std::unique_ptr<PolledBatch>* out) {
  out->reset();
  std::vector<Message> messages;
  absl::Status s = Poll(max_messages, timeout, &messages);
  if (!s.ok()) return s;
  *out = std::make_unique<CopiedBatch>(std::move(messages));
  return absl::OkStatus();
}

absl::StatusOr<std::vector<int64_t>> Consumer::OffsetsForTimes(
    const std::vector<std::pair<TopicPartition, absl::Time>>&, absl::Duration) {
  return absl::UnimplementedError("this consumer has no OffsetsForTimes");
}

absl::Status Producer::SendRecord(const OutgoingRecord& record, void*) {
  return absl::UnimplementedError(absl::StrCat(
      "this producer has no SendRecord; use Send (topic ", record.topic, ")"));
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
