// The audit trail on Kafka, beyond the link sink (exchange/query/
// kafka_audit_sink.h):
//
//   dr.audit             ChainLink per request; partition p = chain p
//   dr.audit.checkpoint  SealedCheckpoint of chain p on partition p
//
// Checkpoints have a topic of their own so dr.audit holds nothing but
// links (every reader of dr.audit parses every value as a ChainLink, and a
// SealedCheckpoint would parse as one) and an auditor can read the few
// checkpoints before streaming the chain.
//
// KafkaCheckpointSink: the CheckpointSink of datarund (acks=all, acked on
// the delivery report). KafkaChainHeads: the ChainHeadSource of datarund;
// it keeps one consumer on dr.audit, all partitions paused, and reads the
// last record of a partition on demand (seek to high watermark - 1), so a
// head costs a fetch, not a group join (~3 s on the embedded cluster).
// AuditTopicsReader: streams stored records of the audit topics with their
// offsets, for the auditor CLI.
//
// Thread-safety: KafkaCheckpointSink as AuditSink; KafkaChainHeads::LastLink
// may be called from any thread (serialised inside); an AuditTopicsReader
// is used by one thread at a time.
#ifndef DATARUN_EXCHANGE_AUDIT_KAFKA_AUDIT_BUS_H_
#define DATARUN_EXCHANGE_AUDIT_KAFKA_AUDIT_BUS_H_

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "broker_adapters/broker.h"
#include "exchange/audit/audit_sink.h"
#include "proto/datarun/v1/audit.pb.h"

namespace datarun::audit {

inline constexpr char kCheckpointTopic[] = "dr.audit.checkpoint";

// Produces `value` (keyed by the partition number) to `partition` of
// `topic` and calls `done` exactly once: with the delivery report's status,
// or, when the producer refuses the record, with that error prefixed by
// `what` (e.g. "audit link 3-17"). Both audit sinks write this way.
// `in_flight` (may be null) is decremented once `done` has run: the
// record's outcome is final (the hand-over fence, exchange/query/
// handover.h, waits for it).
void SendAcknowledged(broker::Producer& producer, const std::string& topic,
                      int32_t partition, const std::string& value,
                      absl::string_view what, AckCallback done,
                      std::atomic<int64_t>* in_flight = nullptr);

class KafkaCheckpointSink : public CheckpointSink {
 public:
  // `producer` is not owned and must outlive the sink.
  explicit KafkaCheckpointSink(broker::Producer* producer,
                               std::string topic = kCheckpointTopic);
  void WriteCheckpoint(const datarun::v1::SealedCheckpoint& cp,
                       AckCallback done) override;

 private:
  broker::Producer* const producer_;
  const std::string topic_;
};

class KafkaChainHeads : public ChainHeadSource,
                        private broker::RebalanceHandler {
 public:
  // Subscribes a consumer (group of its own) to `topic`; the join finishes
  // in the background of the first LastLink calls (WaitReady to wait).
  static absl::StatusOr<std::unique_ptr<KafkaChainHeads>> Create(
      broker::Broker* broker, std::string topic,
      absl::Duration timeout = absl::Seconds(30));
  ~KafkaChainHeads() override;

  // Polls until the consumer holds its assignment (or `timeout_`).
  absl::Status WaitReady();

  // The last link of `partition`: nullopt when the partition is empty;
  // DataLoss when records were written but none is retained any more (the
  // head is gone: continuing would fork the chain) or the last record is
  // not a link of this partition.
  absl::StatusOr<std::optional<ChainHead>> LastLink(int32_t partition) override;

 private:
  KafkaChainHeads(std::unique_ptr<broker::Consumer> consumer, std::string topic,
                  absl::Duration timeout)
      : consumer_(std::move(consumer)),
        topic_(std::move(topic)),
        timeout_(timeout) {}
  absl::flat_hash_map<broker::TopicPartition, int64_t> OnAssigned(
      const std::vector<broker::TopicPartition>& partitions) override;
  void OnRevoked(const std::vector<broker::TopicPartition>&) override {}
  absl::Status WaitReadyLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  absl::Mutex mu_;  // the consumer is single-threaded
  std::unique_ptr<broker::Consumer> consumer_ ABSL_GUARDED_BY(mu_);
  const std::string topic_;
  const absl::Duration timeout_;
  bool paused_ ABSL_GUARDED_BY(mu_) = false;
};

// One stored record of an audit topic.
struct AuditRecord {
  int32_t partition = 0;
  int64_t offset = 0;
  const std::string* value = nullptr;  // valid during the callback only
};

struct ReadAuditOptions {
  // Only this partition (-1: all).
  int32_t partition = -1;
  // Start of every partition read (0: its beginning; below the log start
  // offset reads from the log start).
  int64_t from_offset = 0;
  absl::Duration timeout = absl::Seconds(60);
};

// Reads stored records of the audit topics for an auditor: one consumer
// (group of its own, so one group join, ~3 s on the embedded cluster) for
// every topic given, all partitions paused until a Read seeks them.
class AuditTopicsReader : private broker::RebalanceHandler {
 public:
  // Topics that do not exist are left out (Read then says NotFound).
  static absl::StatusOr<std::unique_ptr<AuditTopicsReader>> Create(
      broker::Broker* broker, const std::vector<std::string>& topics,
      absl::Duration timeout = absl::Seconds(60));
  ~AuditTopicsReader() override;

  // Calls `on_record` for every record of `topic` from `from_offset` up to
  // the high watermark seen when the call starts, in offset order per
  // partition (partitions interleaved). `partitions_out` (optional) gets
  // the partition count. Stops at the first error `on_record` returns.
  // NotFound for a topic that does not exist; InvalidArgument for a
  // partition it does not have.
  absl::Status Read(
      const std::string& topic, const ReadAuditOptions& options,
      const std::function<absl::Status(const AuditRecord&)>& on_record,
      int32_t* partitions_out = nullptr);

 private:
  AuditTopicsReader(std::unique_ptr<broker::Consumer> consumer,
                    std::map<std::string, int32_t> partitions,
                    absl::Duration timeout)
      : consumer_(std::move(consumer)),
        partitions_(std::move(partitions)),
        timeout_(timeout) {}
  absl::flat_hash_map<broker::TopicPartition, int64_t> OnAssigned(
      const std::vector<broker::TopicPartition>& partitions) override;
  void OnRevoked(const std::vector<broker::TopicPartition>&) override {}
  absl::Status WaitAssigned();

  std::unique_ptr<broker::Consumer> consumer_;
  const std::map<std::string, int32_t> partitions_;  // topic -> count
  const absl::Duration timeout_;
  bool paused_ = false;
};

// One AuditTopicsReader::Read on a reader of its own.
absl::Status ReadAuditRecords(
    broker::Broker* broker, const std::string& topic,
    const ReadAuditOptions& options,
    const std::function<absl::Status(const AuditRecord&)>& on_record,
    int32_t* partitions_out = nullptr);

}  // namespace datarun::audit

#endif  // DATARUN_EXCHANGE_AUDIT_KAFKA_AUDIT_BUS_H_
