#include "exchange/query/query_service.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "common/log.h"
#include "common/status_macros.h"
#include "exchange/query/partitioner.h"
#include "exchange/query/topics.h"

namespace datarun::query {

std::vector<broker::TopicSpec> QueryTopics(const catalog::CatalogIndex& catalog,
                                           int32_t partitions,
                                           int32_t response_partitions) {
  std::vector<broker::TopicSpec> topics = {{kRequestTopic, partitions},
                                           {kAuditTopic, partitions}};
  const int32_t rp = response_partitions > 0 ? response_partitions : partitions;
  for (const auto& d : catalog.catalog().departments())
    topics.push_back({ResponseTopic(d.id()), rp});
  return topics;
}

absl::StatusOr<std::unique_ptr<QueryService>> QueryService::Create(
    broker::Broker* broker, const policy::Policy& policy,
    state::StateStore* store,
    std::function<std::vector<broker::TopicPartition>()> ingest_assignment,
    const seal::Signer* exchange_signer, QueryServiceOptions options) {
  if (options.partitions < 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("partitions is ", options.partitions, ", expected >= 1"));
  }
  if (options.instance_id.empty()) {
    return absl::InvalidArgumentError(
        "instance_id is required (it names the request consumer's group)");
  }
  std::unique_ptr<QueryService> s(new QueryService());
  if (options.registry != nullptr) {
    std::vector<std::string> matters;
    for (const auto& m : policy.catalog().catalog().matters())
      matters.push_back(m.id());
    s->metrics_ = std::make_unique<QueryMetrics>(*options.registry, matters,
                                                 options.partitions);
  }
  s->fence_ = std::make_unique<ChainFence>(options.partitions);
  ASSIGN_OR_RETURN(
      s->gate_, IngestGate::Create(broker, std::move(ingest_assignment), store,
                                   s->fence_.get()));
  broker::ProducerOptions po;
  po.client_id = absl::StrCat("datarund-audit-", options.instance_id);
  po.properties = {{"linger.ms", "1"}};
  for (const auto& [k, v] : options.producer_properties) po.properties[k] = v;
  for (const auto& [k, v] : options.audit_producer_properties)
    po.properties[k] = v;
  ASSIGN_OR_RETURN(s->audit_producer_, broker->NewProducer(po));
  s->sink_ = std::make_unique<KafkaAuditSink>(
      s->audit_producer_.get(), kAuditTopic, options.trace, s->fence_.get());
  audit::AuditLogOptions ao;
  ao.checkpoint_every = options.checkpoint_every;
  s->audit_log_ = std::make_unique<audit::AuditLog>(s->sink_.get(),
                                                    exchange_signer, store, ao);
  const int32_t partitions = options.partitions;
  resolver::ResolverOptions ro;
  ro.seals = options.seals;
  s->resolver_ = std::make_unique<resolver::Resolver>(
      policy, *store, *s->audit_log_,
      [partitions](absl::string_view id) {
        return SubjectPartition(id, partitions);
      },
      std::move(ro));
  QueryServerOptions qo;
  qo.group_id = absl::StrCat("datarun-query-", options.instance_id);
  qo.client_id = absl::StrCat("datarund-query-", options.instance_id);
  qo.workers = options.workers;
  qo.metrics = s->metrics_.get();
  qo.trace = options.trace;
  IngestGate* gate = s->gate_.get();
  qo.serves = [gate](int32_t p) { return gate->Serves(p); };
  qo.consumer_properties = std::move(options.consumer_properties);
  qo.producer_properties = std::move(options.producer_properties);
  s->server_ =
      std::make_unique<QueryServer>(broker, s->resolver_.get(), std::move(qo));
  return s;
}

absl::Status QueryService::HandOver(const std::vector<int32_t>& partitions,
                                    absl::Duration timeout) {
  // Not served from now on, and caught up again if they come back.
  for (int32_t p : partitions) {
    fence_->Fence(p);
    gate_->Forget(p);
  }
  return HandOverChains(*fence_, *audit_log_, partitions, timeout);
}

void QueryService::TakeOver(const std::vector<int32_t>& partitions) {
  for (int32_t p : partitions) {
    if (!fence_->fenced(p)) continue;
    // Still fenced: a link refused since the hand-over stopped the chain
    // (or loaded a head that is old by now); Release forgets both. A
    // checkpoint of a refused link is refused by FencedCheckpointSink.
    absl::Status st = audit_log_->Release(p);
    if (!st.ok()) {
      DR_LOG(INFO) << "audit chain of partition " << p
                   << " taken over again: " << st;
    }
    fence_->Unfence(p);
  }
}

}  // namespace datarun::query
