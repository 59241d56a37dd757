// AuditSink: where audit chain links go before a response may leave the
// exchange (topic dr.audit in production, acknowledged by the bus).
//
// Called by AuditLog (audit_log.h) with the partition's lock held, so Write
// must only enqueue and return; the acknowledgement comes later through
// `done`. Implementations must keep the call order per partition (a Kafka
// producer with idempotence and one in-flight ordering does).
// MemoryAuditSink is the in-memory fake for tests and benchmarks.
//
// Thread-safety: Write may be called from any thread; `done` may run on any
// thread, including inline inside Write.
#ifndef DATARUN_EXCHANGE_AUDIT_AUDIT_SINK_H_
#define DATARUN_EXCHANGE_AUDIT_AUDIT_SINK_H_

#include <functional>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "proto/datarun/v1/audit.pb.h"

namespace datarun::audit {

// Called exactly once per Write with OK once the link is durable, or the
// reason it is not.
using AckCallback = std::function<void(absl::Status)>;

class AuditSink {
 public:
  virtual ~AuditSink() = default;
  virtual void Write(const datarun::v1::ChainLink& link, AckCallback done) = 0;
};

// Keeps every acknowledged link in memory, in write order. `Fail(status)`
// makes later writes fail with that status (to test fail-closed paths).
class MemoryAuditSink : public AuditSink {
 public:
  void Write(const datarun::v1::ChainLink& link, AckCallback done) override;

  void Fail(absl::Status status);
  std::vector<datarun::v1::ChainLink> links() const;
  size_t size() const;

 private:
  mutable absl::Mutex mu_;
  std::vector<datarun::v1::ChainLink> links_ ABSL_GUARDED_BY(mu_);
  absl::Status fail_ ABSL_GUARDED_BY(mu_);
};

}  // namespace datarun::audit

#endif  // DATARUN_EXCHANGE_AUDIT_AUDIT_SINK_H_
