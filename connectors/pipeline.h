// The publishing half of a connector: source rows -> Mapper -> the data
// topic (good rows) or dr.dlq.<dept> (bad rows, with reason, position and
// the raw row), through an idempotent producer; the source position is
// committed only up to the last row before which every record was
// acknowledged, so a crash re-sends and never skips.
//
// Callers: the datarun-connect runner (Run) and tests (ProcessRow,
// CommitAcknowledged, Drain).
//
// Thread-safety: Run / ProcessRow / CommitAcknowledged / Drain are called
// from one thread; delivery callbacks run on the producer's thread and only
// touch the mutex-guarded acknowledgement window and atomic counters.
// counters() is safe from any thread.
#ifndef DATARUN_CONNECTORS_PIPELINE_H_
#define DATARUN_CONNECTORS_PIPELINE_H_

#include <atomic>
#include <cstdint>
#include <deque>
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

struct PipelineOptions {
  // How often Run() commits the acknowledged position.
  absl::Duration commit_interval = absl::Milliseconds(500);
  // Rows per second at most (0: unlimited).
  double max_rows_per_second = 0;
  // Wait between polls of an empty source.
  absl::Duration idle_wait = absl::Milliseconds(100);
  // How long Drain() waits for outstanding acknowledgements.
  absl::Duration drain_timeout = absl::Seconds(30);
};

struct PipelineCounters {
  uint64_t rows = 0;       // read from the source
  uint64_t published = 0;  // acknowledged on the data topic
  uint64_t dlq = 0;        // acknowledged on the DLQ
  uint64_t failed = 0;     // deliveries that failed for good
  uint64_t commits = 0;    // positions handed to Source::Commit
};

class Pipeline {
 public:
  // All pointers must outlive the pipeline. `producer` should be idempotent
  // (the Kafka adapter's default).
  Pipeline(Source* source, const Mapper* mapper, broker::Producer* producer,
           prometheus::Registry& registry, PipelineOptions options = {});
  ~Pipeline() = default;
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
  struct Pending {
    std::string position;
    bool done = false;
  };
  void OnDelivered(uint64_t seq, bool dlq,
                   const absl::StatusOr<broker::DeliveryReport>& result);
  absl::Status Send(const broker::OutgoingMessage& message, uint64_t seq,
                    bool dlq);
  void Pace();

  Source* const source_;
  const Mapper* const mapper_;
  broker::Producer* const producer_;
  const PipelineOptions options_;
  const broker::Headers data_headers_;

  absl::Mutex mu_;
  // Rows not yet committed, in source order; window_[0] has seq base_seq_.
  std::deque<Pending> window_ ABSL_GUARDED_BY(mu_);
  uint64_t base_seq_ ABSL_GUARDED_BY(mu_) = 0;
  absl::Status failure_ ABSL_GUARDED_BY(mu_);

  uint64_t next_seq_ = 0;  // pipeline thread only
  // Per-row scratch reused across rows (pipeline thread only): the first
  // block of each row's arena, so mapping a row allocates nothing from the
  // heap for the Record and payload, and the serialization buffer.
  alignas(8) char arena_block_[16 << 10];
  std::string value_;
  absl::Time next_slot_ = absl::InfinitePast();  // rate limiter

  std::atomic<uint64_t> rows_{0}, published_{0}, dlq_{0}, failed_{0},
      commits_{0};

  prometheus::Family<prometheus::Counter>& rows_family_;
  prometheus::Counter& published_metric_;
  prometheus::Counter& dlq_metric_;
  prometheus::Family<prometheus::Counter>& dlq_reason_family_;
  prometheus::Counter& failed_metric_;
};

}  // namespace datarun::connectors

#endif  // DATARUN_CONNECTORS_PIPELINE_H_
