#include "exchange/query/query_metrics.h"

#include <utility>

#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"
#include "exchange/policy/rules.h"

namespace datarun::query {
namespace {

// The rule ids a denial can name (exchange/policy/rules.h). A rule added
// there and not here is counted as "other", still bounded.
constexpr absl::string_view kRules[] = {
    policy::kRuleUnsigned,
    policy::kRuleBadSignature,
    policy::kRuleStaleRequest,
    policy::kRuleUnknownRequester,
    policy::kRuleUnknownMatter,
    policy::kRuleBadSubject,
    policy::kRuleUnsupportedKind,
    policy::kRuleNoAgreement,
    policy::kRuleAgreementNotLive,
    policy::kRuleNothingCovered,
    policy::kRuleAssuranceTooLow,
    policy::kRuleProxyNotAllowed,
    policy::kRuleDelegationMissing,
    policy::kRuleConsentMissing,
    policy::kRuleUnknownPredicate,
    policy::kRulePredicateNotCovered,
    policy::kRuleBadParameter,
    policy::kRuleBatchDenied,
    policy::kRuleUnknownTemplate,
    policy::kRuleTemplateNotCovered,
    policy::kRuleDossierNotAllowed,
    policy::kRuleNoRecord,
    policy::kRuleNoSeal,
};

constexpr absl::string_view kDecisionLabels[] = {"allow", "deny", "error"};

}  // namespace

QueryMetrics::QueryMetrics(prometheus::Registry& registry,
                           const std::vector<std::string>& matters,
                           int32_t partitions) {
  duration_family_ =
      &prometheus::BuildHistogram()
           .Name("datarun_query_duration_seconds")
           .Help(
               "Time from the request consumed off dr.query.req to its "
               "response handed to the producer (queue wait, policy, state, "
               "audit ack), by query kind and matter (unknown: not in the "
               "catalog)")
           .Register(registry);
  auto& requests = prometheus::BuildCounter()
                       .Name("datarun_query_requests_total")
                       .Help(
                           "Requests handled, by query kind and decision "
                           "(error: resolver failed, no response sent)")
                       .Register(registry);
  auto& denials = prometheus::BuildCounter()
                      .Name("datarun_policy_denials_total")
                      .Help(
                          "Denied requests by the rule that denied "
                          "(exchange/policy/rules.h; other: a rule id not "
                          "known to this build)")
                      .Register(registry);
  auto& chain = prometheus::BuildGauge()
                    .Name("datarun_audit_chain_sequence")
                    .Help(
                        "Highest audit chain sequence this instance "
                        "appended per partition (-1: none yet)")
                    .Register(registry);
  checkpoints_ = &prometheus::BuildCounter()
                      .Name("datarun_audit_checkpoints_total")
                      .Help(
                          "Sealed audit checkpoints acknowledged by "
                          "dr.audit.checkpoint")
                      .Register(registry)
                      .Add({});

  columns_ = {"unknown"};
  for (const std::string& m : matters) {
    if (matter_index_.emplace(m, columns_.size()).second) columns_.push_back(m);
  }
  const size_t slots = kKindLabels.size() * columns_.size();
  duration_ = std::make_unique<std::atomic<prometheus::Histogram*>[]>(slots);
  for (size_t i = 0; i < slots; ++i) duration_[i].store(nullptr);
  for (absl::string_view kind : kKindLabels) {
    std::array<prometheus::Counter*, 3> r;
    for (size_t d = 0; d < r.size(); ++d) {
      r[d] = &requests.Add({{"kind", std::string(kind)},
                            {"decision", std::string(kDecisionLabels[d])}});
    }
    requests_.push_back(r);
  }
  for (absl::string_view rule : kRules) {
    denials_[rule] = &denials.Add({{"rule", std::string(rule)}});
  }
  other_denials_ = &denials.Add({{"rule", "other"}});
  chain_max_ = std::make_unique<std::atomic<int64_t>[]>(
      static_cast<size_t>(std::max(partitions, 0)));
  for (int32_t p = 0; p < partitions; ++p) {
    chain_.push_back(&chain.Add({{"partition", std::to_string(p)}}));
    chain_.back()->Set(-1);
    chain_max_[p].store(-1);
  }
}

prometheus::Histogram& QueryMetrics::NewHistogram(size_t kind, size_t column) {
  static const auto* const kBuckets =
      new prometheus::Histogram::BucketBoundaries{
          0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
          0.1,    0.25,  0.5,    1,     2.5,  5};
  return duration_family_->Add(
      {{"kind", std::string(kKindLabels[kind])}, {"matter", columns_[column]}},
      *kBuckets);
}

size_t QueryMetrics::KindIndex(datarun::v1::QueryKind kind) {
  const size_t k = static_cast<size_t>(kind);
  return k < kKindLabels.size() ? k : 0;
}

void QueryMetrics::Observe(datarun::v1::QueryKind kind,
                           absl::string_view matter,
                           const datarun::v1::QueryResponse& response,
                           absl::Duration took) {
  const size_t k = KindIndex(kind);
  auto m = matter_index_.find(matter);
  const size_t column = m == matter_index_.end() ? 0 : m->second;
  std::atomic<prometheus::Histogram*>& slot =
      duration_[k * columns_.size() + column];
  prometheus::Histogram* h = slot.load(std::memory_order_acquire);
  if (h == nullptr) {
    h = &NewHistogram(k, column);
    slot.store(h, std::memory_order_release);
  }
  h->Observe(absl::ToDoubleSeconds(took));
  const bool allowed = response.decision() == datarun::v1::DECISION_ALLOW;
  requests_[k][allowed ? 0 : 1]->Increment();
  if (!allowed) {
    auto r = denials_.find(response.denial_rule());
    (r == denials_.end() ? other_denials_ : r->second)->Increment();
  }
  ObserveChain(response.audit_event_id());
}

void QueryMetrics::Failed(datarun::v1::QueryKind kind) {
  requests_[KindIndex(kind)][2]->Increment();
}

void QueryMetrics::ObserveChain(absl::string_view audit_event_ids) {
  // "<partition>-<sequence>[,...]" (resolver.cc): one link per subject.
  for (absl::string_view id : absl::StrSplit(audit_event_ids, ',')) {
    std::pair<absl::string_view, absl::string_view> ps =
        absl::StrSplit(id, absl::MaxSplits('-', 1));
    int32_t p;
    int64_t seq;
    if (!absl::SimpleAtoi(ps.first, &p) || !absl::SimpleAtoi(ps.second, &seq) ||
        p < 0 || static_cast<size_t>(p) >= chain_.size()) {
      continue;
    }
    int64_t seen = chain_max_[p].load(std::memory_order_relaxed);
    while (seq > seen && !chain_max_[p].compare_exchange_weak(seen, seq)) {
    }
    // Set under no lock: a racing older Set can only be followed by the
    // newer one's, as each sets the maximum it saw after its own CAS.
    if (seq > seen) chain_[p]->Set(static_cast<double>(chain_max_[p].load()));
  }
}

void CountingCheckpointSink::WriteCheckpoint(
    const datarun::v1::SealedCheckpoint& cp, audit::AckCallback done) {
  inner_->WriteCheckpoint(
      cp, [metrics = metrics_, done = std::move(done)](absl::Status st) {
        if (st.ok()) metrics->CheckpointWritten();
        done(std::move(st));
      });
}

}  // namespace datarun::query
