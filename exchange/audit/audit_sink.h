// AuditSink: where audit chain links go before a response may leave the
// exchange (topic dr.audit in production, acknowledged by the bus).
// CheckpointSink: where sealed chain heads go (dr.audit.checkpoint).
// ChainHeadSource: the last link already on the bus for a partition, so a
// restarted exchange (or the new owner of a partition) continues the chain
// instead of forking it (exchange/audit/kafka/ reads it from dr.audit).
//
// Called by AuditLog (audit_log.h) with the partition's lock held, so Write
// must only enqueue and return; the acknowledgement comes later through
// `done`. Implementations must keep the call order per partition (a Kafka
// producer with idempotence and one in-flight ordering does).
// MemoryAuditSink is the in-memory fake of all three for tests and
// benchmarks.
//
// Thread-safety: Write may be called from any thread; `done` may run on any
// thread, including inline inside Write.
#ifndef DATARUN_EXCHANGE_AUDIT_AUDIT_SINK_H_
#define DATARUN_EXCHANGE_AUDIT_AUDIT_SINK_H_

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
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

class CheckpointSink {
 public:
  virtual ~CheckpointSink() = default;
  // Same contract as AuditSink::Write (called under the partition's lock).
  virtual void WriteCheckpoint(const datarun::v1::SealedCheckpoint& cp,
                               AckCallback done) = 0;
};

// Sequence and event hash of a partition's last link.
struct ChainHead {
  uint64_t sequence = 0;
  std::string hash;
};

class ChainHeadSource {
 public:
  virtual ~ChainHeadSource() = default;
  // The last link of `partition` on the bus; nullopt when the partition has
  // none (the chain starts at sequence 0). An error when it cannot be told
  // (bus unreachable, the head no longer retained): the caller must not
  // append then. Called under the partition's lock; may block.
  virtual absl::StatusOr<std::optional<ChainHead>> LastLink(
      int32_t partition) = 0;
};

// Keeps every acknowledged link and checkpoint in memory, in write order.
// `Fail(status)` makes later writes fail with that status (to test
// fail-closed paths). LastLink answers from the links kept.
class MemoryAuditSink : public AuditSink,
                        public CheckpointSink,
                        public ChainHeadSource {
 public:
  void Write(const datarun::v1::ChainLink& link, AckCallback done) override;
  void WriteCheckpoint(const datarun::v1::SealedCheckpoint& cp,
                       AckCallback done) override;
  absl::StatusOr<std::optional<ChainHead>> LastLink(int32_t partition) override;

  void Fail(absl::Status status);
  std::vector<datarun::v1::ChainLink> links() const;
  std::vector<datarun::v1::SealedCheckpoint> checkpoints() const;
  size_t size() const;

 private:
  mutable absl::Mutex mu_;
  std::vector<datarun::v1::ChainLink> links_ ABSL_GUARDED_BY(mu_);
  std::vector<datarun::v1::SealedCheckpoint> checkpoints_ ABSL_GUARDED_BY(mu_);
  absl::Status fail_ ABSL_GUARDED_BY(mu_);
};

}  // namespace datarun::audit

#endif  // DATARUN_EXCHANGE_AUDIT_AUDIT_SINK_H_
