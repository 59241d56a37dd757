#include "exchange/datarund_status.h"

#include <unistd.h>

#include <cstdio>
#include <fstream>

#include "absl/strings/str_cat.h"
#include "common/log.h"

namespace datarun::daemon {

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

}  // namespace datarun::daemon
