// QueryMetrics: the Prometheus view of the query path (DESIGN §7) — latency
// histograms per kind and matter, requests per kind and decision, policy
// denials per rule, the audit chain position per partition and sealed
// checkpoints. QueryServer calls Observe/Failed once per handled request;
// CountingCheckpointSink (wired by datarund) counts acknowledged
// checkpoints.
//
// Cardinality is bounded by construction: label values come only from the
// catalog's matters, the query kinds, the policy's rule ids and the
// partition count, fixed in the constructor; a value outside those sets is
// counted under "unknown" / "other", so a client cannot grow the registry.
// Counters and gauges are created up front; a latency histogram (14 series)
// only on the first request of its (kind, matter), since all 6 x 37 of the
// shipped catalog would add ~3,100 lines (~350 KB) to every scrape.
//
// Thread-safety: after construction every method may be called from any
// thread; the lookup tables are immutable, a histogram slot is an atomic
// pointer (prometheus-cpp's Family::Add returns the same metric to racing
// first users) and the metrics are atomic, so the hot path takes no lock
// and builds no string except on a (kind, matter)'s first request.
#ifndef DATARUN_EXCHANGE_QUERY_QUERY_METRICS_H_
#define DATARUN_EXCHANGE_QUERY_QUERY_METRICS_H_

#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "exchange/audit/audit_sink.h"
#include "prometheus/counter.h"
#include "prometheus/family.h"
#include "prometheus/gauge.h"
#include "prometheus/histogram.h"
#include "prometheus/registry.h"
#include "proto/datarun/v1/query.pb.h"

namespace datarun::query {

// Label values of datarun_query_*{kind}: index = QueryKind, with
// QUERY_KIND_UNSPECIFIED and anything out of range as "unknown".
inline constexpr std::array<absl::string_view, 6> kKindLabels = {
    "unknown", "profile", "verify", "certificate", "dossier", "usage"};

class QueryMetrics {
 public:
  // `matters`: the catalog's matter ids; `partitions`: the request topic's
  // partition count (chain gauges are created for 0..partitions-1).
  QueryMetrics(prometheus::Registry& registry,
               const std::vector<std::string>& matters, int32_t partitions);

  // A request answered with `response`; `took` runs from the poller
  // consuming the request to the response handed to the producer.
  void Observe(datarun::v1::QueryKind kind, absl::string_view matter,
               const datarun::v1::QueryResponse& response, absl::Duration took);
  // The resolver failed (audit not acknowledged): no response left.
  void Failed(datarun::v1::QueryKind kind);
  // A sealed checkpoint was acknowledged by its sink.
  void CheckpointWritten() { checkpoints_->Increment(); }

 private:
  static size_t KindIndex(datarun::v1::QueryKind kind);
  void ObserveChain(absl::string_view audit_event_ids);

  prometheus::Histogram& NewHistogram(size_t kind, size_t column);

  // matter id -> column in the histogram table; column 0 is "unknown".
  absl::flat_hash_map<std::string, size_t> matter_index_;
  std::vector<std::string> columns_;
  prometheus::Family<prometheus::Histogram>* duration_family_;
  // [kind * columns + column], null until first used.
  std::unique_ptr<std::atomic<prometheus::Histogram*>[]> duration_;
  // [kind][0 allow, 1 deny, 2 error].
  std::vector<std::array<prometheus::Counter*, 3>> requests_;
  absl::flat_hash_map<std::string, prometheus::Counter*> denials_;
  prometheus::Counter* other_denials_;
  // Per partition: the highest sequence seen (workers finish out of order,
  // the gauge must not go back).
  std::vector<prometheus::Gauge*> chain_;
  std::unique_ptr<std::atomic<int64_t>[]> chain_max_;
  prometheus::Counter* checkpoints_;
};

// Forwards to `inner` and counts the checkpoints it acknowledges. Neither is
// owned. Thread-safety: as `inner`.
class CountingCheckpointSink : public audit::CheckpointSink {
 public:
  CountingCheckpointSink(audit::CheckpointSink* inner, QueryMetrics* metrics)
      : inner_(inner), metrics_(metrics) {}
  void WriteCheckpoint(const datarun::v1::SealedCheckpoint& cp,
                       audit::AckCallback done) override;

 private:
  audit::CheckpointSink* const inner_;
  QueryMetrics* const metrics_;
};

}  // namespace datarun::query

#endif  // DATARUN_EXCHANGE_QUERY_QUERY_METRICS_H_
