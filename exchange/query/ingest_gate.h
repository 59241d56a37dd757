// IngestGate: decides whether this exchange instance may answer a request
// of partition p of dr.query.req: only while its ingest owns partition p of
// the data topics, and only once the ingest of p has caught up to the high
// watermarks the data topics had when the gate first saw p owned. So an
// answer reflects at least every record published before this instance took
// the partition over (and, in steady state, whatever ingest has applied
// when the request is handled: a record published just before the request
// may or may not be visible yet — read-your-writes is not promised).
//
// Used as QueryServerOptions::serves by datarund and the tests.
//
// Thread-safety: Serves() may be called from any thread.
#ifndef DATARUN_EXCHANGE_QUERY_INGEST_GATE_H_
#define DATARUN_EXCHANGE_QUERY_INGEST_GATE_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "broker_adapters/broker.h"
#include "exchange/query/handover.h"
#include "exchange/query/topics.h"
#include "exchange/state/state_store.h"

namespace datarun::query {

class IngestGate {
 public:
  // `assignment`: the ingest consumer's current assignment (e.g.
  // Ingestor::Assignment). `store`: where ingest stores its offsets. Not
  // owned; must outlive the gate.
  // `fence` (may be null, not owned): a partition it fences is not served
  // (handover.h), whatever the assignment says.
  static absl::StatusOr<std::unique_ptr<IngestGate>> Create(
      broker::Broker* broker,
      std::function<std::vector<broker::TopicPartition>()> assignment,
      state::StateStore* store, const ChainFence* fence = nullptr);

  Serving Serves(int32_t partition);

  // The partition was handed over: when it comes back, ingest must catch
  // up again (to the watermarks of then) before it is served.
  void Forget(int32_t partition);

 private:
  struct PartitionState {
    std::vector<broker::TopicPartition> owned;  // data topics of p, sorted
    absl::flat_hash_map<std::string, int64_t> target;  // topic -> high
    bool caught_up = false;
    bool not_owned = false;
    // assignment_version_ when `owned` was last derived from the cache.
    uint64_t version = 0;
  };

  IngestGate(std::unique_ptr<broker::Consumer> watermarks,
             std::function<std::vector<broker::TopicPartition>()> assignment,
             state::StateStore* store, const ChainFence* fence);

  std::unique_ptr<broker::Consumer> watermarks_;  // only QueryWatermarks
  const std::function<std::vector<broker::TopicPartition>()> assignment_;
  state::StateStore* const store_;
  const ChainFence* const fence_;

  absl::Mutex mu_;
  absl::Time assignment_read_ ABSL_GUARDED_BY(mu_) = absl::InfinitePast();
  std::vector<broker::TopicPartition> assignment_cache_ ABSL_GUARDED_BY(mu_);
  // Bumped when the cached assignment changes, so a caught-up partition is
  // answered without re-deriving its topics (40+ per partition) per request.
  uint64_t assignment_version_ ABSL_GUARDED_BY(mu_) = 1;
  absl::flat_hash_map<int32_t, PartitionState> partitions_ ABSL_GUARDED_BY(mu_);
};

}  // namespace datarun::query

#endif  // DATARUN_EXCHANGE_QUERY_INGEST_GATE_H_
