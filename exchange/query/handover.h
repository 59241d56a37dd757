// Hand-over of audit chains between exchange instances (issue #5): chain p
// belongs to the instance whose ingest owns data partition p, and the next
// owner reads the chain head from dr.audit once it is assigned p. So the
// previous owner must have stopped appending to chain p, and every link of
// p it had in flight must be acknowledged or failed, before its revocation
// callback returns: with the eager rebalance protocol the next owner is
// assigned p only after every member returned from its revocation.
//
// ChainFence: the per-partition gate on one instance's chain writes.
// KafkaAuditSink admits each link through it (the in-flight count and the
// fence flag are two atomics: no lock on the steady-state path); the
// IngestGate answers no request of a fenced partition; FencedCheckpointSink
// refuses checkpoints sealing links the fence refused. QueryService::
// HandOver / TakeOver drive it.
//
// RebalanceHookBroker: a Broker decorator for the ingest consumer (the
// Ingestor is not changed): a RebalanceListener hears of a revocation
// before the Ingestor's own callback runs, and of an assignment after it.
// datarund hands it to the Ingestor and listens with DaemonQueries.
//
// Thread-safety: ChainFence and FencedCheckpointSink may be used from any
// thread. RebalanceHookBroker is thread-safe like any Broker; its
// listener runs on the consumer's thread inside Poll or Close.
#ifndef DATARUN_EXCHANGE_QUERY_HANDOVER_H_
#define DATARUN_EXCHANGE_QUERY_HANDOVER_H_

#include <atomic>
#include <cstdint>
#include <limits>
#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "broker_adapters/broker.h"
#include "exchange/audit/audit_log.h"
#include "exchange/audit/audit_sink.h"

namespace datarun::query {

class ChainFence {
 public:
  // Partitions [0, partitions) are tracked; links of others are admitted
  // untracked (the resolver never makes them).
  explicit ChainFence(int32_t partitions);

  // The sink, for each link, before sending it: true admits it and counts
  // it in flight (the sink decrements in_flight(partition) once its
  // outcome is final); false means the partition is fenced: the link must
  // not be sent, and checkpoints from `sequence` on are refused until
  // Unfence.
  bool Admit(int32_t partition, uint64_t sequence);
  // The counter Admit incremented; null for an untracked partition.
  std::atomic<int64_t>* in_flight(int32_t partition);

  bool fenced(int32_t partition) const;
  // False when `sequence` would seal a link the fence refused.
  bool AdmitCheckpoint(int32_t partition, uint64_t sequence);

  // From now on links of `partition` are refused.
  void Fence(int32_t partition);
  // Waits until no admitted link of `partition` awaits its outcome; false
  // at `deadline` (the count left is in_flight()).
  bool WaitIdle(int32_t partition, absl::Time deadline);
  void Unfence(int32_t partition);

 private:
  struct Slot {
    std::atomic<bool> fenced{false};
    std::atomic<int64_t> in_flight{0};
    absl::Mutex mu;
    // The first sequence refused while fenced.
    uint64_t refused_from ABSL_GUARDED_BY(mu) =
        std::numeric_limits<uint64_t>::max();
  };
  Slot* slot(int32_t partition);

  const int32_t partitions_;
  std::unique_ptr<Slot[]> slots_;
};

// Refuses (with FailedPrecondition, through `done`) the checkpoints the
// fence says seal refused links; passes the rest to `inner` (not owned).
class FencedCheckpointSink : public audit::CheckpointSink {
 public:
  FencedCheckpointSink(audit::CheckpointSink* inner, ChainFence* fence)
      : inner_(inner), fence_(fence) {}
  void WriteCheckpoint(const datarun::v1::SealedCheckpoint& cp,
                       audit::AckCallback done) override;

 private:
  audit::CheckpointSink* const inner_;
  ChainFence* const fence_;
};

// Hears of the ingest consumer's rebalances (RebalanceHookBroker).
class RebalanceListener {
 public:
  virtual ~RebalanceListener() = default;
  // Before the consumer's own OnRevoked: the partitions are still held.
  virtual void OnRevoking(
      const std::vector<broker::TopicPartition>& partitions) = 0;
  // After the consumer's own OnAssigned.
  virtual void OnAssigned(
      const std::vector<broker::TopicPartition>& partitions) = 0;
};

class RebalanceHookBroker : public broker::Broker {
 public:
  // `inner` is not owned and must outlive this broker.
  explicit RebalanceHookBroker(broker::Broker* inner) : inner_(inner) {}

  // Null: none. Not owned; must stay valid until replaced (a consumer
  // made by this broker may call it until then).
  void SetListener(RebalanceListener* listener);

  absl::StatusOr<std::unique_ptr<broker::Producer>> NewProducer(
      const broker::ProducerOptions& options) override {
    return inner_->NewProducer(options);
  }
  // The consumer's rebalance callbacks also reach the listener.
  absl::StatusOr<std::unique_ptr<broker::Consumer>> NewConsumer(
      const broker::ConsumerOptions& options) override;
  absl::StatusOr<std::unique_ptr<broker::Admin>> NewAdmin() override {
    return inner_->NewAdmin();
  }

 private:
  class Consumer;
  class Handler;
  void Revoking(const std::vector<broker::TopicPartition>& partitions);
  void Assigned(const std::vector<broker::TopicPartition>& partitions);

  broker::Broker* const inner_;
  absl::Mutex mu_;
  RebalanceListener* listener_ ABSL_GUARDED_BY(mu_) = nullptr;
};

// The hand-over of chains `partitions` of `log`, whose sink admits links
// through `fence`: fences them (no link of theirs leaves from now on),
// waits up to `timeout` until the links already sent are acknowledged or
// failed, then releases each chain (AuditLog::Release: seals the head when
// links were appended since the last checkpoint, waits for that ack,
// forgets the chain; the partitions in parallel, so a lost bus costs
// `timeout` plus one ack timeout of the log, whatever their number).
// DeadlineExceeded names a partition whose links were still in flight at
// the deadline: its next owner may fork the chain there (it is released
// anyway). Other errors are the seals'.
absl::Status HandOverChains(ChainFence& fence, audit::AuditLog& log,
                            const std::vector<int32_t>& partitions,
                            absl::Duration timeout);

// The state partitions among `partitions` (every dr.data.* topic of p
// counts once), sorted.
std::vector<int32_t> DataPartitions(
    const std::vector<broker::TopicPartition>& partitions);

}  // namespace datarun::query

#endif  // DATARUN_EXCHANGE_QUERY_HANDOVER_H_
