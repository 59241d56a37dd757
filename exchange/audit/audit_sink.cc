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
