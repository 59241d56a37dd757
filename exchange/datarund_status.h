// What datarund tells its supervisors: the --status_file progress line, the
// Prometheus mirror of the ingest and state counters, and the atomic file
// writes behind --status_file, --ready_file and --bootstrap_file.
//
// Called from datarund's main thread only (MetricsMirror::Update,
// WriteStatus); the counters they read are atomics.
#ifndef DATARUN_EXCHANGE_DATARUND_STATUS_H_
#define DATARUN_EXCHANGE_DATARUND_STATUS_H_

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "exchange/ingest/ingestor.h"
#include "exchange/state/state_store.h"
#include "prometheus/counter.h"
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

}  // namespace datarun::daemon

#endif  // DATARUN_EXCHANGE_DATARUND_STATUS_H_
