// QueryService: the query side of one exchange instance, assembled — an
// IngestGate over the Ingestor's assignment, the Kafka audit sink and the
// AuditLog, the Resolver and the QueryServer — so the daemon (and the
// in-process test exchange) wires queries in a few lines:
//
//   topics += QueryTopics(catalog, partitions);          // before clients
//   auto q = QueryService::Create(broker, policy, store,
//       [&] { return ingestor.Assignment(); }, exchange_signer, options);
//   std::thread t([&] { status = (*q)->Run(&stop); });
//
// Thread-safety: Run() once, from one thread; the rest from any thread.
#ifndef DATARUN_EXCHANGE_QUERY_QUERY_SERVICE_H_
#define DATARUN_EXCHANGE_QUERY_QUERY_SERVICE_H_

#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "broker_adapters/broker.h"
#include "exchange/audit/audit_log.h"
#include "exchange/catalog/catalog.h"
#include "exchange/policy/policy.h"
#include "exchange/query/handover.h"
#include "exchange/query/ingest_gate.h"
#include "exchange/query/kafka_audit_sink.h"
#include "exchange/query/query_metrics.h"
#include "exchange/query/query_server.h"
#include "exchange/query/query_trace.h"
#include "exchange/resolver/resolver.h"
#include "exchange/seal/seal.h"
#include "exchange/state/state_store.h"

namespace datarun::query {

struct QueryServiceOptions {
  // The partition count of the data topics (and so of dr.query.req and
  // dr.audit): the resolver's subject -> state partition function.
  int32_t partitions = 8;
  // Unique per instance: the request consumer's group is
  // "datarun-query-<instance_id>" (see query_server.h, co-partitioning).
  std::string instance_id;
  uint64_t checkpoint_every = 1000;
  int workers = 32;
  // Seals for certificate and dossier answers (passed to the resolver;
  // resolver/document_answer.h). Default: none, such requests are refused
  // with document.no_seal.
  resolver::DocumentSeals seals;
  // Extra properties of the request consumer, and of the response and
  // audit producers.
  std::map<std::string, std::string> consumer_properties;
  std::map<std::string, std::string> producer_properties;
  // Applied after producer_properties, to the audit producer only (its
  // delivery report holds the worker: it is on every response's path).
  std::map<std::string, std::string> audit_producer_properties;
  // Where the query metrics (query_metrics.h) are registered; not owned,
  // must outlive the service. Null: no metrics.
  prometheus::Registry* registry = nullptr;
  // Debug: per-stage timestamps of each request (query_trace.h), marked by
  // the server and the audit sink. Not owned; null in datarund.
  QueryTrace* trace = nullptr;
};

// dr.query.req and dr.audit with `partitions`, dr.query.resp.<dept> for
// every department of the catalog (same count; any would do).
// `response_partitions` > 0 overrides the count of the response topics.
std::vector<broker::TopicSpec> QueryTopics(const catalog::CatalogIndex& catalog,
                                           int32_t partitions,
                                           int32_t response_partitions = 0);

class QueryService {
 public:
  // Nothing is owned; all must outlive the service. `exchange_signer` seals
  // audit checkpoints (null: none sealed).
  static absl::StatusOr<std::unique_ptr<QueryService>> Create(
      broker::Broker* broker, const policy::Policy& policy,
      state::StateStore* store,
      std::function<std::vector<broker::TopicPartition>()> ingest_assignment,
      const seal::Signer* exchange_signer, QueryServiceOptions options);

  // Serves until `*stop` (see QueryServer::Run).
  absl::Status Run(const std::atomic<bool>* stop) { return server_->Run(stop); }
  bool ready() const { return server_->ready(); }
  const QueryServerCounters& counters() const { return server_->counters(); }
  audit::AuditLog& audit_log() { return *audit_log_; }
  // The hand-over fence of this instance's chains (handover.h).
  ChainFence& fence() { return *fence_; }

  // Partitions moving to another instance (before the revocation returns):
  // no more requests of theirs are answered (a request already past the
  // gate fails closed: its link is refused, no response) and their chains
  // are handed over (HandOverChains, handover.h).
  absl::Status HandOver(const std::vector<int32_t>& partitions,
                        absl::Duration timeout);
  // Partitions assigned (again): fenced ones are released (a link refused
  // while fenced stopped the chain) and unfenced; their chains continue
  // from dr.audit at the next request, once ingest caught up.
  void TakeOver(const std::vector<int32_t>& partitions);
  // Null without QueryServiceOptions::registry.
  QueryMetrics* metrics() { return metrics_.get(); }

 private:
  QueryService() = default;

  std::unique_ptr<QueryMetrics> metrics_;
  std::unique_ptr<ChainFence> fence_;
  std::unique_ptr<IngestGate> gate_;
  std::unique_ptr<broker::Producer> audit_producer_;
  std::unique_ptr<KafkaAuditSink> sink_;
  std::unique_ptr<audit::AuditLog> audit_log_;
  std::unique_ptr<resolver::Resolver> resolver_;
  std::unique_ptr<QueryServer> server_;
};

}  // namespace datarun::query

#endif  // DATARUN_EXCHANGE_QUERY_QUERY_SERVICE_H_
