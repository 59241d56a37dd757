// What datarund tells its supervisors: the --status_file progress line, the
// Prometheus mirror of the ingest and state counters, the DESIGN §7 figures
// read from the state (per-department ingest outcomes, RocksDB size and
// cache, last sealed audit checkpoints) and from the broker (ingest lag per
// department), and the atomic file writes behind --status_file,
// --ready_file and --bootstrap_file.
//
// Nothing here is on the ingest hot path: per-department outcomes are the
// deltas of the counters the state store keeps per partition in the same
// write as the records (StoredOffset), read about once a second.
//
// Threads: MetricsMirror, StateMetrics and WriteStatus are called from
// datarund's main thread only; the counters they read are atomics or come
// from the StateStore (thread-safe). LagMonitor refreshes on a thread of its
// own (Start/Stop) or from the caller (Refresh); its gauges are its own.
#ifndef DATARUN_EXCHANGE_DATARUND_STATUS_H_
#define DATARUN_EXCHANGE_DATARUND_STATUS_H_

#include <array>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "broker_adapters/broker.h"
#include "exchange/ingest/ingestor.h"
#include "exchange/state/rocksdb/rocksdb_state_store.h"
#include "exchange/state/state_store.h"
#include "prometheus/counter.h"
#include "prometheus/gauge.h"
#include "prometheus/registry.h"

namespace datarun::daemon {

// Writes `content` to a temp file beside `path` and renames it over `path`,
// so a reader polling for the file never sees a partial line.
absl::Status WriteAtomically(const std::string& path,
                             const std::string& content);

// key=value progress line: this process's ingest counters and the totals
// stored with the offsets.
void WriteStatus(const std::string& path, const ingest::Ingestor& ingestor,
                 state::StateStore& store);

// Mirrors the ingest and state counters into Prometheus (call Update about
// once a second).
class MetricsMirror {
 public:
  MetricsMirror(prometheus::Registry& registry,
                const ingest::IngestCounters& ingest,
                const state::StateCounters& state);
  void Update();

 private:
  static void Bump(prometheus::Counter* c, uint64_t total);
  const ingest::IngestCounters& ingest_;
  const state::StateCounters& state_;
  prometheus::Counter* handled_;
  prometheus::Counter* stale_;
  std::vector<prometheus::Counter*> rejected_;
  prometheus::Counter* resets_;
  prometheus::Counter* pauses_;
};

// The department label of a data topic ("dr.data.<dept>.<class>"): one of
// the catalog's departments, or "unknown" (a topic matching dr.data.* that
// the catalog does not name), so the label set is fixed at start.
// Immutable after construction.
class DepartmentLabels {
 public:
  explicit DepartmentLabels(const std::vector<std::string>& departments);
  // Index into names(); names().size() - 1 is "unknown".
  size_t Index(absl::string_view topic) const;
  const std::vector<std::string>& names() const { return names_; }

 private:
  std::vector<std::string> names_;
  absl::flat_hash_map<std::string, size_t> index_;
};

// datarun_ingest_records_total{department,outcome}, the datarun_state_*
// size and block cache figures, and datarun_audit_checkpoint_{sequence,
// timestamp_seconds}{partition}. Call Update about once a second, once
// before ingest starts (the baseline: counts stored by earlier processes are
// not this process's).
class StateMetrics {
 public:
  // `audit_partitions`: partitions of dr.audit whose sealed checkpoints to
  // export (0: none, queries off).
  StateMetrics(prometheus::Registry& registry,
               const std::vector<std::string>& departments,
               int32_t audit_partitions);

  // Reads the stored offsets and chain heads; `storage` may be null (a store
  // that is not RocksDB). Returns the first read error; what could be read
  // is still exported.
  absl::Status Update(state::StateStore& store,
                      const state::RocksDbStateStore* storage);

 private:
  enum Outcome { kApplied, kStale, kRejected, kOutcomes };
  DepartmentLabels departments_;
  // [department][outcome].
  std::vector<std::array<prometheus::Counter*, kOutcomes>> records_;
  // What each "topic/partition" had stored at the last Update.
  absl::flat_hash_map<std::string, state::StoredOffset> last_;
  bool baseline_taken_ = false;
  prometheus::Gauge* live_bytes_;
  prometheus::Gauge* sst_bytes_;
  prometheus::Gauge* memtable_bytes_;
  prometheus::Gauge* cache_usage_;
  prometheus::Gauge* cache_capacity_;
  prometheus::Counter* cache_hits_;
  prometheus::Counter* cache_misses_;
  std::vector<prometheus::Gauge*> checkpoint_sequence_;
  std::vector<prometheus::Gauge*> checkpoint_time_;
};

// datarun_ingest_lag_records{department}: over the partitions this instance
// is assigned, high watermark minus the next offset to apply (the stored
// next offset, or the low watermark when nothing is stored or the stored
// offset is past the high watermark, i.e. from another cluster). Watermarks
// are broker round trips, so this runs on its own thread, not the status
// loop.
//
// Against an unreachable bus a watermark query fails after `query_timeout`
// (the Kafka adapter bounds it) and ends the refresh: every department
// keeps its last value. Stop waits for at most the query in progress: the
// refresh checks for Stop after every partition.
class LagMonitor {
 public:
  // `watermarks` is only used for QueryWatermarks (a consumer that never
  // subscribes, so it joins no group). The registry, `store` and
  // `assignment` must stay valid until Stop returns.
  LagMonitor(prometheus::Registry& registry,
             const std::vector<std::string>& departments,
             std::unique_ptr<broker::Consumer> watermarks,
             state::StateStore* store,
             std::function<std::vector<broker::TopicPartition>()> assignment,
             absl::Duration query_timeout = absl::Seconds(2));
  ~LagMonitor();

  // One refresh on the caller's thread. A department with a partition whose
  // watermarks or offset could not be read keeps its previous value (all
  // do when no broker answered); the first error is returned. Not
  // concurrently with Start.
  absl::Status Refresh();
  // Refreshes every `every` on a thread until Stop (logs the first error of
  // a run of failures only). May be started again after Stop.
  void Start(absl::Duration every);
  // Returns within about `query_timeout` also when the bus is unreachable.
  void Stop();

 private:
  // With `until_stopped`, Cancelled once Stop was called (checked after
  // every partition).
  absl::Status RefreshOnce(bool until_stopped);

  const DepartmentLabels departments_;
  const std::unique_ptr<broker::Consumer> watermarks_;
  state::StateStore* const store_;
  const std::function<std::vector<broker::TopicPartition>()> assignment_;
  const absl::Duration query_timeout_;
  std::vector<prometheus::Gauge*> lag_;
  absl::Mutex mu_;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::thread thread_;
};

}  // namespace datarun::daemon

#endif  // DATARUN_EXCHANGE_DATARUND_STATUS_H_
