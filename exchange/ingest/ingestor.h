// The ingest loop of the exchange core: consumes every dr.data.* topic in
// one consumer group and applies the records to the local StateStore,
// exactly once.
//
// Exactly-once: offsets are never committed to Kafka. Each applied batch
// stores the next offsets of its partitions in the same atomic write as the
// records (StateStore::ApplyBatch); on assignment the consumer seeks to the
// stored offsets (or the beginning, when none are stored or they belong to
// another cluster id). A crash at any instant therefore either has a batch
// with its offsets or neither, and the version rule makes any replay
// harmless on top.
//
// Rejected messages (undecodable, unknown class, not the authoritative
// source, bad subject id, malformed) go to dr.dlq.<dept> with the reason in
// headers and the original key, value and headers; they are counted and
// ingestion continues. The DLQ producer is flushed before the batch that
// skips past a rejected message is written, so a rejected message is never
// lost (a crash in between can publish it to the DLQ twice: at-least-once
// there, documented in docs/operations.md).
//
// Threads: Run() polls and checks messages on the caller's thread and hands
// batches to one applier thread through a queue of at most
// max_queued_batches; while it is full the poller waits, and when it stays
// full longer than pause_after the assigned partitions are paused (resumed
// when there is room) so the poller can keep serving the group without
// taking more. Memory stays bounded whatever the lag.
// On revocation the poller hands over what it holds and waits until every
// queued batch is applied before the partitions are released.
//
// Thread-safety: Run() is called once, from one thread. counters() and
// Assignment() may be read from any thread.
#ifndef DATARUN_EXCHANGE_INGEST_INGESTOR_H_
#define DATARUN_EXCHANGE_INGEST_INGESTOR_H_

#include <atomic>
#include <deque>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "broker_adapters/broker.h"
#include "exchange/ingest/class_directory.h"
#include "exchange/ingest/record_check.h"
#include "exchange/state/state_store.h"

namespace datarun::ingest {

struct IngestOptions {
  std::string group_id = "datarun-exchange";
  std::string client_id = "datarund";
  // Subscription; '^' entries are regular expressions.
  std::vector<std::string> topics = {"^dr\\.data\\..*"};
  // Messages per applied batch (one RocksDB WriteBatch).
  size_t max_batch_messages = 8192;
  // Batches polled but not yet applied; beyond it partitions are paused.
  size_t max_queued_batches = 2;
  absl::Duration poll_timeout = absl::Milliseconds(100);
  // How long the queue may stay full before the partitions are paused.
  // Short waits are cheaper without pausing: librdkafka's prefetch queue is
  // bounded on its own (queued.max.messages.kbytes), and a pause drops it,
  // so every resume would start with an empty pipeline.
  absl::Duration pause_after = absl::Seconds(1);
  // How long to wait for DLQ deliveries before a batch is written.
  absl::Duration dlq_flush_timeout = absl::Seconds(30);
  // Extra consumer/producer properties for the broker implementation.
  std::map<std::string, std::string> consumer_properties;
  std::map<std::string, std::string> producer_properties;
};

// Process-lifetime counters, exportable as metrics by a later layer.
struct IngestCounters {
  std::atomic<uint64_t> messages{0};  // consumed and handled
  std::atomic<uint64_t> applied{0};   // changed the state
  std::atomic<uint64_t> stale{0};     // version not newer: no-op
  std::atomic<uint64_t> rejected[static_cast<int>(RejectReason::kCount)] = {};
  std::atomic<uint64_t> dlq_sent{0};
  std::atomic<uint64_t> batches{0};
  std::atomic<uint64_t> pauses{0};
  std::atomic<uint64_t> rebalances{0};
  // Where the time goes (wall time, microseconds): waiting in Poll, checking
  // messages, writing batches to the state.
  std::atomic<uint64_t> poll_micros{0};
  std::atomic<uint64_t> check_micros{0};
  std::atomic<uint64_t> apply_micros{0};
  // CPU time of the same (thread CPU clock): wall minus CPU is time the
  // thread waited for a core, for fsync or for a lock.
  std::atomic<uint64_t> check_cpu_micros{0};
  std::atomic<uint64_t> apply_cpu_micros{0};
  uint64_t rejected_total() const {
    uint64_t n = 0;
    for (const auto& r : rejected) n += r.load();
    return n;
  }
};

class Ingestor : private broker::RebalanceHandler {
 public:
  // Nothing is owned; all must outlive the Ingestor.
  Ingestor(broker::Broker* broker, state::StateStore* store,
           const ClassDirectory* classes, SubjectValidator validate_subject,
           IngestOptions options);
  ~Ingestor() override;

  // Joins the group and ingests until `*stop` is true or a fatal error
  // (state store write failed, DLQ unreachable, consumer failed). Then
  // applies what it polled, leaves the group and returns the error or OK.
  absl::Status Run(const std::atomic<bool>* stop);

  // True once the consumer has joined and has (or had) an assignment, or
  // after the first poll; for readiness reporting.
  bool ready() const { return ready_.load(); }

  const IngestCounters& counters() const { return counters_; }
  std::vector<broker::TopicPartition> Assignment() const;

 private:
  struct Batch {
    state::IngestBatch batch;
    // The consumed messages the records view into (no copies); released
    // with the batch, after it is applied.
    std::vector<std::unique_ptr<broker::PolledBatch>> polled;
    // Topic partition -> index in batch.offsets; the topic views point
    // into `polled`.
    absl::flat_hash_map<std::pair<absl::string_view, int32_t>, int> index;
    // The last lookup: messages come in runs of one partition.
    const char* last_topic = nullptr;
    int32_t last_partition = -1;
    int last_index = -1;
    uint64_t rejected = 0;
    size_t messages = 0;
  };

  absl::flat_hash_map<broker::TopicPartition, int64_t> OnAssigned(
      const std::vector<broker::TopicPartition>& partitions) override;
  void OnRevoked(
      const std::vector<broker::TopicPartition>& partitions) override;

  void AddMessage(const broker::PolledBatch& polled, size_t i, Batch* batch);
  void SendToDlq(const broker::PolledBatch& polled, size_t i,
                 const Rejection& rejection);
  // Moves carry_ into the queue (ignoring the bound; used on revocation).
  void HandOver();
  // Frees the batches the applier is done with (poller thread).
  void FreeSpent();
  void WaitDrained();
  void ApplierLoop();
  void SetFatal(absl::Status status);
  absl::Status fatal() const;

  broker::Broker* broker_;
  state::StateStore* store_;
  const ClassDirectory* classes_;
  SubjectValidator validate_subject_;
  IngestOptions options_;
  std::string cluster_id_;
  absl::flat_hash_map<std::string, bool> known_departments_;

  std::unique_ptr<broker::Consumer> consumer_;
  std::unique_ptr<broker::Producer> dlq_producer_;
  Batch carry_;                                     // poller thread only
  bool paused_ = false;                             // poller thread only
  absl::Time full_since_ = absl::InfiniteFuture();  // poller thread only

  mutable absl::Mutex mu_;
  std::deque<Batch> queue_ ABSL_GUARDED_BY(mu_);
  // Applied batches, freed by the poller: destroying 8k parsed Records is
  // ~15% of the applier's CPU, and the applier is the bottleneck.
  std::vector<Batch> spent_ ABSL_GUARDED_BY(mu_);
  bool applying_ ABSL_GUARDED_BY(mu_) = false;
  bool closing_ ABSL_GUARDED_BY(mu_) = false;
  absl::Status fatal_ ABSL_GUARDED_BY(mu_);
  std::vector<broker::TopicPartition> assignment_ ABSL_GUARDED_BY(mu_);
  std::atomic<uint64_t> dlq_failures_{0};
  std::atomic<bool> ready_{false};
  IngestCounters counters_;
};

}  // namespace datarun::ingest

#endif  // DATARUN_EXCHANGE_INGEST_INGESTOR_H_
