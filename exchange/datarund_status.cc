#include "exchange/datarund_status.h"

#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <optional>

#include "absl/strings/str_cat.h"
#include "common/log.h"
#include "common/proto_time.h"
#include "exchange/ingest/record_check.h"
#include "proto/datarun/v1/audit.pb.h"

namespace datarun::daemon {
namespace {

// Raises a counter to `total` (the figures read here are totals).
void BumpTo(prometheus::Counter* c, uint64_t total) {
  const double delta = static_cast<double>(total) - c->Value();
  if (delta > 0) c->Increment(delta);
}

}  // namespace

absl::Status WriteAtomically(const std::string& path,
                             const std::string& content) {
  const std::string tmp = absl::StrCat(path, ".tmp.", getpid());
  {
    std::ofstream out(tmp, std::ios::trunc);
    out << content;
    out.close();
    if (!out) {
      return absl::UnavailableError(absl::StrCat("cannot write ", tmp));
    }
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    return absl::UnavailableError(
        absl::StrCat("cannot rename ", tmp, " to ", path));
  }
  return absl::OkStatus();
}

void WriteStatus(const std::string& path, const ingest::Ingestor& ingestor,
                 state::StateStore& store) {
  uint64_t stored = 0, applied = 0, stale = 0;
  auto offsets = store.AllOffsets();
  if (offsets.ok()) {
    for (const auto& [tp, o] : *offsets) {
      stored += o.messages;
      applied += o.applied;
      stale += o.stale;
    }
  }
  const auto& c = ingestor.counters();
  absl::Status s = WriteAtomically(
      path, absl::StrCat(
                "assigned=", ingestor.Assignment().size(),
                " messages=", c.messages.load(), " applied=", c.applied.load(),
                " stale=", c.stale.load(), " rejected=", c.rejected_total(),
                " pauses=", c.pauses.load(), " stored_messages=", stored,
                " stored_applied=", applied, " stored_stale=", stale, "\n"));
  if (!s.ok()) DR_LOG(WARNING) << "datarund: --status_file: " << s;
}

MetricsMirror::MetricsMirror(prometheus::Registry& registry,
                             const ingest::IngestCounters& ingest,
                             const state::StateCounters& state)
    : ingest_(ingest), state_(state) {
  auto& messages = prometheus::BuildCounter()
                       .Name("datarun_ingest_messages_total")
                       .Help("Data messages consumed and handled")
                       .Register(registry);
  handled_ = &messages.Add({{"result", "applied"}});
  stale_ = &messages.Add({{"result", "stale"}});
  auto& rejected = prometheus::BuildCounter()
                       .Name("datarun_ingest_rejected_total")
                       .Help("Data messages sent to the DLQ, by reason")
                       .Register(registry);
  for (int r = 0; r < static_cast<int>(ingest::RejectReason::kCount); ++r) {
    rejected_.push_back(&rejected.Add(
        {{"reason",
          ingest::RejectReasonName(static_cast<ingest::RejectReason>(r))}}));
  }
  resets_ = &prometheus::BuildCounter()
                 .Name("datarun_state_cluster_id_resets_total")
                 .Help("Partitions re-read because the cluster id changed")
                 .Register(registry)
                 .Add({});
  pauses_ = &prometheus::BuildCounter()
                 .Name("datarun_ingest_pauses_total")
                 .Help("Times ingest paused fetching because applying lagged")
                 .Register(registry)
                 .Add({});
}

void MetricsMirror::Update() {
  Bump(handled_, ingest_.applied.load());
  Bump(stale_, ingest_.stale.load());
  for (size_t r = 0; r < rejected_.size(); ++r) {
    Bump(rejected_[r], ingest_.rejected[r].load());
  }
  Bump(resets_, state_.cluster_id_resets.load());
  Bump(pauses_, ingest_.pauses.load());
}

void MetricsMirror::Bump(prometheus::Counter* c, uint64_t total) {
  double delta = static_cast<double>(total) - c->Value();
  if (delta > 0) c->Increment(delta);
}

DepartmentLabels::DepartmentLabels(
    const std::vector<std::string>& departments) {
  for (const std::string& d : departments) {
    if (d != "unknown" && index_.emplace(d, names_.size()).second) {
      names_.push_back(d);
    }
  }
  names_.push_back("unknown");
}

size_t DepartmentLabels::Index(absl::string_view topic) const {
  absl::string_view dept, cls;
  if (ingest::ParseDataTopic(topic, &dept, &cls)) {
    auto it = index_.find(dept);
    if (it != index_.end()) return it->second;
  }
  return names_.size() - 1;
}

StateMetrics::StateMetrics(prometheus::Registry& registry,
                           const std::vector<std::string>& departments,
                           int32_t audit_partitions)
    : departments_(departments) {
  auto& records =
      prometheus::BuildCounter()
          .Name("datarun_ingest_records_total")
          .Help(
              "Data messages this process applied to the state, by "
              "department and outcome (applied: changed the state; stale: "
              "version not newer; rejected: sent to the DLQ)")
          .Register(registry);
  for (const std::string& d : departments_.names()) {
    records_.push_back(
        {&records.Add({{"department", d}, {"outcome", "applied"}}),
         &records.Add({{"department", d}, {"outcome", "stale"}}),
         &records.Add({{"department", d}, {"outcome", "rejected"}})});
  }
  live_bytes_ = &prometheus::BuildGauge()
                     .Name("datarun_state_live_bytes")
                     .Help(
                         "RocksDB estimate of the live data size, all column "
                         "families (rocksdb.estimate-live-data-size)")
                     .Register(registry)
                     .Add({});
  sst_bytes_ = &prometheus::BuildGauge()
                    .Name("datarun_state_sst_files_bytes")
                    .Help(
                        "Size of the state's table files on disk, all column "
                        "families (rocksdb.total-sst-files-size)")
                    .Register(registry)
                    .Add({});
  memtable_bytes_ = &prometheus::BuildGauge()
                         .Name("datarun_state_memtable_bytes")
                         .Help(
                             "Memtables of all column families "
                             "(rocksdb.cur-size-all-mem-tables)")
                         .Register(registry)
                         .Add({});
  cache_usage_ = &prometheus::BuildGauge()
                      .Name("datarun_state_block_cache_usage_bytes")
                      .Help(
                          "Block cache in use, including the memtables charged "
                          "to it")
                      .Register(registry)
                      .Add({});
  cache_capacity_ = &prometheus::BuildGauge()
                         .Name("datarun_state_block_cache_capacity_bytes")
                         .Help("Block cache capacity (--block_cache_mb)")
                         .Register(registry)
                         .Add({});
  cache_hits_ = &prometheus::BuildCounter()
                     .Name("datarun_state_block_cache_hits_total")
                     .Help("Block cache lookups that found the block")
                     .Register(registry)
                     .Add({});
  cache_misses_ = &prometheus::BuildCounter()
                       .Name("datarun_state_block_cache_misses_total")
                       .Help(
                           "Block cache lookups that read the block from "
                           "a table file")
                       .Register(registry)
                       .Add({});
  if (audit_partitions > 0) {
    auto& seq = prometheus::BuildGauge()
                    .Name("datarun_audit_checkpoint_sequence")
                    .Help(
                        "Chain sequence of the last sealed audit checkpoint "
                        "stored in this instance's state, per partition "
                        "(-1: none)")
                    .Register(registry);
    auto& time = prometheus::BuildGauge()
                     .Name("datarun_audit_checkpoint_timestamp_seconds")
                     .Help(
                         "Unix time the last stored audit checkpoint was "
                         "sealed, per partition (0: none)")
                     .Register(registry);
    for (int32_t p = 0; p < audit_partitions; ++p) {
      checkpoint_sequence_.push_back(
          &seq.Add({{"partition", std::to_string(p)}}));
      checkpoint_sequence_.back()->Set(-1);
      checkpoint_time_.push_back(&time.Add({{"partition", std::to_string(p)}}));
    }
  }
}

absl::Status StateMetrics::Update(state::StateStore& store,
                                  const state::RocksDbStateStore* storage) {
  absl::Status first;
  auto offsets = store.AllOffsets();
  if (offsets.ok()) {
    for (auto& [key, o] : *offsets) {
      state::StoredOffset& last = last_[key];
      if (baseline_taken_) {
        // Counters restart at 0 when the offsets restart for another
        // cluster id.
        const bool reset = o.cluster_id != last.cluster_id ||
                           o.applied < last.applied || o.stale < last.stale ||
                           o.rejected < last.rejected;
        if (reset) last = state::StoredOffset();
        const size_t slash = key.rfind('/');
        const auto& c = records_[departments_.Index(
            absl::string_view(key).substr(0, slash))];
        if (o.applied > last.applied) {
          c[kApplied]->Increment(static_cast<double>(o.applied - last.applied));
        }
        if (o.stale > last.stale) {
          c[kStale]->Increment(static_cast<double>(o.stale - last.stale));
        }
        if (o.rejected > last.rejected) {
          c[kRejected]->Increment(
              static_cast<double>(o.rejected - last.rejected));
        }
      }
      last = std::move(o);
    }
    baseline_taken_ = true;
  } else {
    first = offsets.status();
  }

  if (storage != nullptr) {
    const state::StorageStats st = storage->Storage();
    live_bytes_->Set(static_cast<double>(st.live_data_bytes));
    sst_bytes_->Set(static_cast<double>(st.sst_files_bytes));
    memtable_bytes_->Set(static_cast<double>(st.memtable_bytes));
    cache_usage_->Set(static_cast<double>(st.block_cache_usage_bytes));
    cache_capacity_->Set(static_cast<double>(st.block_cache_capacity_bytes));
    BumpTo(cache_hits_, st.block_cache_hits);
    BumpTo(cache_misses_, st.block_cache_misses);
  }

  // The audit log stores each sealed checkpoint as the partition's chain
  // head (exchange/audit/audit_log.h), so the state has the last one even
  // across restarts.
  for (size_t p = 0; p < checkpoint_sequence_.size(); ++p) {
    auto head = store.GetChainHead(static_cast<int32_t>(p));
    if (!head.ok()) {
      if (first.ok()) first = head.status();
      continue;
    }
    if (!head->has_value()) continue;
    datarun::v1::SealedCheckpoint cp;
    if (!cp.ParseFromString(**head)) {
      if (first.ok()) {
        first = absl::DataLossError(absl::StrCat("chain head of partition ", p,
                                                 " is not a SealedCheckpoint"));
      }
      continue;
    }
    checkpoint_sequence_[p]->Set(static_cast<double>(cp.sequence()));
    checkpoint_time_[p]->Set(
        absl::ToDoubleSeconds(FromProtoTime(cp.time()) - absl::UnixEpoch()));
  }
  return first;
}

LagMonitor::LagMonitor(
    prometheus::Registry& registry, const std::vector<std::string>& departments,
    std::unique_ptr<broker::Consumer> watermarks, state::StateStore* store,
    std::function<std::vector<broker::TopicPartition>()> assignment,
    absl::Duration query_timeout)
    : departments_(departments),
      watermarks_(std::move(watermarks)),
      store_(store),
      assignment_(std::move(assignment)),
      query_timeout_(query_timeout) {
  auto& lag = prometheus::BuildGauge()
                  .Name("datarun_ingest_lag_records")
                  .Help(
                      "Messages of the department's data topics not yet "
                      "applied by this instance: over its assigned "
                      "partitions, high watermark minus next offset to apply")
                  .Register(registry);
  for (const std::string& d : departments_.names()) {
    lag_.push_back(&lag.Add({{"department", d}}));
  }
}

LagMonitor::~LagMonitor() { Stop(); }

absl::Status LagMonitor::Refresh() { return RefreshOnce(false); }

absl::Status LagMonitor::RefreshOnce(bool until_stopped) {
  auto stopped = [this, until_stopped] {
    if (!until_stopped) return false;
    absl::MutexLock lock(&mu_);
    return stopping_;
  };
  const absl::Status cancelled = absl::CancelledError("lag monitor stopped");
  if (stopped()) return cancelled;
  const std::vector<broker::TopicPartition> assigned = assignment_();
  const size_t n = departments_.names().size();
  std::vector<int64_t> sum(n, 0);
  std::vector<bool> failed(n, false);
  absl::Status first;
  for (const broker::TopicPartition& tp : assigned) {
    const size_t d = departments_.Index(tp.topic);
    // Bounded by query_timeout_ also when no broker answers.
    absl::StatusOr<broker::Watermarks> wm =
        watermarks_->QueryWatermarks(tp, query_timeout_);
    if (stopped()) return cancelled;
    if (!wm.ok() && broker::IsRetriable(wm.status())) {
      // No broker answered: every other partition would wait as long. No
      // department is updated this round (their sums are incomplete).
      return wm.status();
    }
    auto stored =
        wm.ok()
            ? store_->GetOffset(tp.topic, tp.partition)
            : absl::StatusOr<std::optional<state::StoredOffset>>(wm.status());
    if (!stored.ok()) {
      failed[d] = true;
      if (first.ok()) first = stored.status();
      continue;
    }
    int64_t next = wm->low;
    if (stored->has_value() && (*stored)->next_offset <= wm->high) {
      next = std::max(next, (*stored)->next_offset);
    }
    sum[d] += std::max<int64_t>(0, wm->high - next);
  }
  for (size_t d = 0; d < n; ++d) {
    if (!failed[d]) lag_[d]->Set(static_cast<double>(sum[d]));
  }
  return first;
}

void LagMonitor::Start(absl::Duration every) {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = false;
  }
  thread_ = std::thread([this, every] {
    bool failing = false;
    while (true) {
      absl::Status s = RefreshOnce(true);
      absl::MutexLock lock(&mu_);
      if (!s.ok() && !failing && !stopping_) {
        DR_LOG(WARNING) << "datarund: ingest lag metric: " << s;
      }
      failing = !s.ok();
      mu_.AwaitWithTimeout(absl::Condition(&stopping_), every);
      if (stopping_) break;
    }
  });
}

void LagMonitor::Stop() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
  }
  if (thread_.joinable()) thread_.join();
}

}  // namespace datarun::daemon
