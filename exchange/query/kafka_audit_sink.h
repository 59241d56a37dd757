// KafkaAuditSink: the production AuditSink (exchange/audit/audit_sink.h).
// Each chain link goes to partition `link.partition` of dr.audit (explicit
// partition, so the topic's partition p holds exactly the chain of state
// partition p and an auditor can verify it by reading one partition), and
// is acknowledged only when the broker's delivery report arrives (acks=all
// on the producer). Per-partition order is the producer's: idempotent with
// ordered in-flight batches, as the broker adapter configures it.
//
// ReadAuditLinks reads a partition of dr.audit back, for the chain verifier,
// the usage lookup and tests.
//
// Thread-safety: Write may be called from any thread; `done` runs on the
// producer's delivery thread.
#ifndef DATARUN_EXCHANGE_QUERY_KAFKA_AUDIT_SINK_H_
#define DATARUN_EXCHANGE_QUERY_KAFKA_AUDIT_SINK_H_

#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "broker_adapters/broker.h"
#include "exchange/audit/audit_sink.h"
#include "exchange/query/handover.h"
#include "exchange/query/query_trace.h"
#include "exchange/query/topics.h"
#include "proto/datarun/v1/audit.pb.h"

namespace datarun::query {

class KafkaAuditSink : public audit::AuditSink {
 public:
  // `producer` is not owned and must outlive the sink.
  // `trace` (debug, may be null, not owned) gets kAuditWrite and
  // kAuditAcked of the calling thread's current request.
  // `fence` (may be null, not owned) admits each link (handover.h): a link
  // of a fenced partition is not sent and `done` gets FailedPrecondition.
  explicit KafkaAuditSink(broker::Producer* producer,
                          std::string topic = kAuditTopic,
                          QueryTrace* trace = nullptr,
                          ChainFence* fence = nullptr);

  void Write(const datarun::v1::ChainLink& link,
             audit::AckCallback done) override;

 private:
  broker::Producer* const producer_;
  const std::string topic_;
  QueryTrace* const trace_;
  ChainFence* const fence_;
};

// Every link of every partition of `topics` (one consumer, one group join:
// the embedded cluster's join alone takes ~3 s), each partition from its
// beginning up to the high watermark seen when the call starts, in offset
// order; partitions without links are left out. DataLoss as below.
absl::StatusOr<absl::flat_hash_map<broker::TopicPartition,
                                   std::vector<datarun::v1::ChainLink>>>
ReadAuditTopics(broker::Broker* broker, const std::vector<std::string>& topics,
                absl::Duration timeout = absl::Seconds(30));

// Every link of `topic`[partition] from its beginning up to the high
// watermark seen when the call starts, in offset order. DataLoss names the
// offset of a value that is not a ChainLink or whose partition field differs.
absl::StatusOr<std::vector<datarun::v1::ChainLink>> ReadAuditLinks(
    broker::Broker* broker, int32_t partition,
    absl::Duration timeout = absl::Seconds(30),
    const std::string& topic = kAuditTopic);

}  // namespace datarun::query

#endif  // DATARUN_EXCHANGE_QUERY_KAFKA_AUDIT_SINK_H_
