#include "exchange/query/ingest_gate.h"

#include <utility>

#include "absl/random/random.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/log.h"
#include "common/status_macros.h"

namespace datarun::query {

namespace {
// How stale the cached ingest assignment may be: a rebalance takes seconds,
// and re-reading it per request would copy every topic name each time.
constexpr absl::Duration kAssignmentRefresh = absl::Milliseconds(100);
}  // namespace

absl::StatusOr<std::unique_ptr<IngestGate>> IngestGate::Create(
    broker::Broker* broker,
    std::function<std::vector<broker::TopicPartition>()> assignment,
    state::StateStore* store, const ChainFence* fence) {
  broker::ConsumerOptions co;
  co.client_id = "datarund-ingest-gate";
  // Never subscribes; the group id is only required by the client.
  co.group_id = absl::StrCat("datarun-ingest-gate-",
                             absl::Uniform<uint64_t>(absl::BitGen()));
  ASSIGN_OR_RETURN(std::unique_ptr<broker::Consumer> consumer,
                   broker->NewConsumer(co));
  return std::unique_ptr<IngestGate>(
      new IngestGate(std::move(consumer), std::move(assignment), store, fence));
}

IngestGate::IngestGate(
    std::unique_ptr<broker::Consumer> watermarks,
    std::function<std::vector<broker::TopicPartition>()> assignment,
    state::StateStore* store, const ChainFence* fence)
    : watermarks_(std::move(watermarks)),
      assignment_(std::move(assignment)),
      store_(store),
      fence_(fence) {}

Serving IngestGate::Serves(int32_t partition) {
  // Before the lock: a fenced partition is being (or was) handed over, and
  // its chain must get no more links here until it is taken over again.
  if (fence_ != nullptr && fence_->fenced(partition)) return Serving::kNotOwned;
  absl::MutexLock l(&mu_);
  const absl::Time now = absl::Now();
  if (now - assignment_read_ > kAssignmentRefresh) {
    std::vector<broker::TopicPartition> a = assignment_();
    if (a != assignment_cache_) {
      assignment_cache_ = std::move(a);
      ++assignment_version_;
    }
    assignment_read_ = now;
  }
  PartitionState& ps = partitions_[partition];
  if (ps.version == assignment_version_) {
    if (ps.caught_up) return Serving::kServe;
    if (ps.not_owned) return Serving::kNotOwned;
  }
  std::vector<broker::TopicPartition> owned;
  for (const auto& tp : assignment_cache_) {
    if (tp.partition == partition && absl::StartsWith(tp.topic, "dr.data."))
      owned.push_back(tp);
  }
  if (owned.empty()) {
    ps = PartitionState();
    ps.not_owned = true;
    ps.version = assignment_version_;
    return Serving::kNotOwned;
  }
  if (owned != ps.owned) {  // newly owned, or topics added: new targets
    ps = PartitionState();
    ps.owned = owned;
    for (const auto& tp : owned) {
      auto wm = watermarks_->QueryWatermarks(tp, absl::Seconds(5));
      if (!wm.ok()) {
        DR_LOG(WARNING) << "ingest gate: watermarks of " << broker::ToString(tp)
                        << ": " << wm.status();
        ps.owned.clear();  // retry at the next request
        return Serving::kCatchingUp;
      }
      ps.target[tp.topic] = wm->high;
    }
  }
  ps.version = assignment_version_;
  if (ps.caught_up) return Serving::kServe;
  for (const auto& [topic, high] : ps.target) {
    auto stored = store_->GetOffset(topic, partition);
    if (!stored.ok()) return Serving::kCatchingUp;
    const int64_t next = stored->has_value() ? (*stored)->next_offset : 0;
    if (next < high) return Serving::kCatchingUp;
  }
  ps.caught_up = true;
  DR_LOG(INFO) << "serving queries of partition " << partition
               << ": ingest caught up with " << ps.target.size()
               << " data topics";
  return Serving::kServe;
}

void IngestGate::Forget(int32_t partition) {
  absl::MutexLock l(&mu_);
  partitions_.erase(partition);
}

}  // namespace datarun::query
