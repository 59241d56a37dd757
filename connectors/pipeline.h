// The publishing half of a connector: source rows -> Mapper -> the data
// topic (good rows) or dr.dlq.<dept> (bad rows, with reason, position and
// the raw row), through an idempotent producer; the source position is
// committed only up to the last row before which every record was
// acknowledged, so a crash re-sends and never skips.
//
// Run() works on two threads: the caller's reads, maps and encodes rows
// (and commits positions), a sender thread hands the encoded records to
// the producer in source order, through a bounded queue. ProcessRow() does
// both on the caller's thread.
//
// Callers: the datarun-connect runner (Run) and tests (ProcessRow,
// CommitAcknowledged, Drain).
//
// Records go through Producer::SendRecord when the pipeline is given a
// PipelineDeliveries that is also the producer's delivery_sink (no
// allocation, std::function or header vector per record); otherwise
// through Send with a callback (producers made without the sink, tests).
//
// Thread-safety: Run / ProcessRow / CommitAcknowledged / Drain are called
// from one thread. Delivery callbacks (the producer's thread; one at a time)
// only set the acknowledged flag of their row, count, and record a failure
// under a mutex; the sender thread only reads queued records. counters() is
// safe from any thread.
#ifndef DATARUN_CONNECTORS_PIPELINE_H_
#define DATARUN_CONNECTORS_PIPELINE_H_

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "broker_adapters/broker.h"
#include "connectors/mapping.h"
#include "connectors/source.h"
#include "prometheus/counter.h"
#include "prometheus/family.h"
#include "prometheus/gauge.h"
#include "prometheus/registry.h"

namespace datarun::connectors {

class Pipeline;

// The producer's DeliverySink for one Pipeline: the producer is made first
// (ProducerOptions::delivery_sink = &deliveries), the pipeline second
// (PipelineOptions::deliveries = &deliveries), and it forwards each
// outcome to that pipeline. Must outlive the producer. Thread-safety: as a
// DeliverySink (called on the producer's thread, one call at a time).
class PipelineDeliveries final : public broker::DeliverySink {
 public:
  void OnDelivery(void* opaque, absl::string_view topic, int32_t partition,
                  int64_t offset, const absl::Status& status) override;

 private:
  friend class Pipeline;
  std::atomic<Pipeline*> pipeline_{nullptr};
};

struct PipelineOptions {
  // How often Run() commits the acknowledged position.
  absl::Duration commit_interval = absl::Milliseconds(500);
  // Rows per second at most (0: unlimited).
  double max_rows_per_second = 0;
  // Wait between polls of an empty source.
  absl::Duration idle_wait = absl::Milliseconds(100);
  // How long Drain() waits for outstanding acknowledgements.
  absl::Duration drain_timeout = absl::Seconds(30);
  // Rows sent but not yet acknowledged, at most (rounded up to a power of
  // two); more waits for acknowledgements. The producer's own queue
  // (queue.buffering.max.messages, 100,000 by default) bounds it as well.
  int max_in_flight = 1 << 17;
  // When set, it must be the producer's ProducerOptions::delivery_sink:
  // records are sent with SendRecord and acknowledged through it. Null:
  // Send with a callback per record.
  PipelineDeliveries* deliveries = nullptr;
};

struct PipelineCounters {
  uint64_t rows = 0;       // read from the source
  uint64_t published = 0;  // acknowledged on the data topic
  uint64_t dlq = 0;        // acknowledged on the DLQ
  uint64_t failed = 0;     // deliveries that failed for good
  uint64_t commits = 0;    // positions handed to Source::Commit
  // Times the mapping thread waited 1 ms for acknowledgements because
  // max_in_flight rows were unacknowledged.
  uint64_t in_flight_waits = 0;
};

class Pipeline {
 public:
  // All pointers must outlive the pipeline. `producer` should be idempotent
  // (the Kafka adapter's default).
  Pipeline(Source* source, const Mapper* mapper, broker::Producer* producer,
           prometheus::Registry& registry, PipelineOptions options = {});
  ~Pipeline();
  Pipeline(const Pipeline&) = delete;
  Pipeline& operator=(const Pipeline&) = delete;

  // Reads, maps and publishes until `stop` becomes true or, when
  // `exit_when_idle`, the source is idle; then drains (waits for
  // acknowledgements and commits). A delivery that failed for good stops
  // the pipeline with that error, without committing past the failed row.
  absl::Status Run(const std::atomic<bool>& stop, bool exit_when_idle);

  // Maps and sends one row (blocks on producer back-pressure).
  absl::Status ProcessRow(Row row);
  // Commits the position of the last row before which every row was
  // acknowledged, if it moved.
  absl::Status CommitAcknowledged();
  // Flushes the producer and commits; error if a delivery failed.
  absl::Status Drain();

  PipelineCounters counters() const;

 private:
  // One row in flight, in source order: acknowledged flag and position.
  struct Pending {
    std::atomic<bool> done{false};
    std::string position;  // the mapping thread's only
  };
  // One encoded record, handed from the mapping thread to the sender.
  struct Outgoing {
    uint64_t seq = 0;
    bool dlq = false;
    std::string key;
    std::string value;
    broker::Headers dlq_headers;
    std::vector<broker::RecordHeader> dlq_record_headers;  // views of those
  };

  friend class PipelineDeliveries;
  // An outcome; `tag` is (seq << 1) | dlq. Producer's thread, one at a time.
  void OnDelivered(uint64_t tag, const absl::Status& status);
  // Maps `row` into *out and enters it into the window (waits for room).
  absl::Status Prepare(const Row& row, Outgoing* out);
  absl::Status Dispatch(const Outgoing& out);
  absl::Status Failure();
  // Moves base_seq_ past acknowledged rows; true if it moved.
  bool Advance();
  // Adds the acknowledgements counted since the last call to the
  // Prometheus counters (mapping thread).
  void SyncMetrics();
  void Pace();
  // Sender thread (Run): the queue between the two threads.
  void SendLoop();
  Outgoing* NextSlot(absl::Status* status);  // null when the sender failed
  void Publish();
  absl::Status WaitForSender();  // until everything published was sent
  void StopSender();

  Source* const source_;
  const Mapper* const mapper_;
  broker::Producer* const producer_;
  const PipelineOptions options_;
  const broker::Headers data_headers_;
  // The same two headers as views, for SendRecord.
  const std::vector<broker::RecordHeader> data_record_headers_;

  // Rows not yet acknowledged: Slot(seq) for seq in
  // [base_seq_, next_seq_). When it is full the mapping thread waits for
  // acknowledgements (back-pressure, like the producer's own queue).
  const uint64_t window_size_;  // a power of two
  std::unique_ptr<Pending[]> window_;
  Pending& Slot(uint64_t seq) { return window_[seq & (window_size_ - 1)]; }
  // Mapping thread only: the first row not acknowledged, the next row, the
  // row after the last committed one, and the last acknowledged position.
  uint64_t base_seq_ = 0;
  uint64_t next_seq_ = 0;
  uint64_t committed_seq_ = 0;
  std::string acked_position_;

  absl::Mutex failure_mu_;
  absl::Status failure_ ABSL_GUARDED_BY(failure_mu_);
  std::atomic<bool> failed_flag_{false};

  // The queue to the sender thread (Run only): a ring of reused slots.
  static constexpr uint64_t kQueue = 4096;
  static constexpr uint64_t kPublishEvery = 64;
  std::unique_ptr<Outgoing[]> queue_;
  absl::Mutex queue_mu_;
  uint64_t produced_ ABSL_GUARDED_BY(queue_mu_) = 0;
  uint64_t consumed_ ABSL_GUARDED_BY(queue_mu_) = 0;
  bool closing_ ABSL_GUARDED_BY(queue_mu_) = false;
  absl::Status send_status_ ABSL_GUARDED_BY(queue_mu_);
  uint64_t written_ = 0;   // mapping thread: slots filled
  uint64_t room_end_ = 0;  // mapping thread: may fill below this
  bool threaded_ = false;  // mapping thread: inside Run

  // Per-row scratch of ProcessRow and the binding of the current layout
  // (mapping thread only).
  Outgoing direct_;
  Mapper::Binding binding_;
  bool have_binding_ = false;
  absl::Time next_slot_ = absl::InfinitePast();  // rate limiter

  std::atomic<uint64_t> rows_{0}, published_{0}, dlq_{0}, failed_{0},
      commits_{0}, in_flight_waits_{0};
  uint64_t published_reported_ = 0, dlq_reported_ = 0;  // mapping thread

  prometheus::Family<prometheus::Counter>& rows_family_;
  prometheus::Counter& published_metric_;
  prometheus::Counter& dlq_metric_;
  prometheus::Family<prometheus::Counter>& dlq_reason_family_;
  prometheus::Counter& failed_metric_;
};

}  // namespace datarun::connectors

#endif  // DATARUN_CONNECTORS_PIPELINE_H_
