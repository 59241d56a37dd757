#include "exchange/audit/audit_sink.h"

namespace datarun::audit {

void MemoryAuditSink::Write(const datarun::v1::ChainLink& link,
                            AckCallback done) {
  absl::Status status;
  {
    absl::MutexLock lock(&mu_);
    status = fail_;
    if (status.ok()) links_.push_back(link);
  }
  done(status);
}

void MemoryAuditSink::WriteCheckpoint(const datarun::v1::SealedCheckpoint& cp,
                                      AckCallback done) {
  absl::Status status;
  {
    absl::MutexLock lock(&mu_);
    status = fail_;
    if (status.ok()) checkpoints_.push_back(cp);
  }
  done(status);
}

absl::StatusOr<std::optional<ChainHead>> MemoryAuditSink::LastLink(
    int32_t partition) {
  absl::MutexLock lock(&mu_);
  if (!fail_.ok()) return fail_;
  for (auto it = links_.rbegin(); it != links_.rend(); ++it) {
    if (it->partition() == partition) {
      return ChainHead{it->sequence(), it->event_hash()};
    }
  }
  return std::nullopt;
}

std::vector<datarun::v1::SealedCheckpoint> MemoryAuditSink::checkpoints()
    const {
  absl::MutexLock lock(&mu_);
  return checkpoints_;
}

void MemoryAuditSink::Fail(absl::Status status) {
  absl::MutexLock lock(&mu_);
  fail_ = std::move(status);
}

std::vector<datarun::v1::ChainLink> MemoryAuditSink::links() const {
  absl::MutexLock lock(&mu_);
  return links_;
}

size_t MemoryAuditSink::size() const {
  absl::MutexLock lock(&mu_);
  return links_.size();
}

}  // namespace datarun::audit
