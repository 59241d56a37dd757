// BusExchange: a whole single-node exchange in one process on the embedded
// Kafka cluster — topics, Ingestor into RocksDB, IngestGate, Kafka audit
// sink + AuditLog, Resolver, QueryServer (QueryService) — for end-to-end
// tests and the bus benchmark. The same pieces datarund wires, minus flags
// and files.
//
// Test/bench-only. Start() from one thread; accessors from any thread.
#ifndef DATARUN_EXCHANGE_QUERY_TESTING_BUS_EXCHANGE_H_
#define DATARUN_EXCHANGE_QUERY_TESTING_BUS_EXCHANGE_H_

#include <atomic>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"
#include "broker_adapters/broker.h"
#include "broker_adapters/embedded/embedded_cluster.h"
#include "exchange/audit/audit_log.h"
#include "exchange/catalog/catalog.h"
#include "exchange/ingest/class_directory.h"
#include "exchange/ingest/ingestor.h"
#include "exchange/policy/policy.h"
#include "exchange/query/query_service.h"
#include "exchange/seal/seal.h"
#include "exchange/state/state_store.h"
#include "proto/datarun/v1/record.pb.h"

namespace datarun::query::testing {

struct BusExchangeOptions {
  std::string state_dir;  // required: RocksDB directory
  int32_t partitions = 4;
  // Partitions of the response topics (0: `partitions`).
  int32_t response_partitions = 0;
  uint64_t checkpoint_every = 1000;
  int workers = 32;
  // Seals for certificate and dossier answers (QueryServiceOptions::seals).
  resolver::DocumentSeals seals;
  // Extra properties of the query server's consumer / response producer
  // and the audit producer (latency tuning in the benchmark).
  std::map<std::string, std::string> consumer_properties;
  std::map<std::string, std::string> producer_properties;
  // QueryServiceOptions::audit_producer_properties.
  std::map<std::string, std::string> audit_producer_properties;
  // QueryServiceOptions::trace.
  QueryTrace* trace = nullptr;
};

class BusExchange {
 public:
  // Nothing is owned; all must outlive the exchange. `exchange_signer`
  // seals audit checkpoints.
  static absl::StatusOr<std::unique_ptr<BusExchange>> Start(
      const catalog::CatalogIndex& catalog, const policy::Policy& policy,
      const seal::Signer* exchange_signer, BusExchangeOptions options);
  ~BusExchange();

  broker::EmbeddedCluster& cluster() { return *cluster_; }
  broker::Broker* broker() { return broker_.get(); }
  audit::AuditLog& audit_log() { return service_->audit_log(); }
  state::StateStore& store() { return *store_; }
  const QueryServerCounters& server_counters() const {
    return service_->counters();
  }
  int32_t partitions() const { return options_.partitions; }
  int32_t PartitionOf(absl::string_view subject_id) const;

  // Publishes `records` to their data topics (keyed by subject) and waits
  // until ingest has applied them all.
  absl::Status Publish(const std::vector<datarun::v1::Record>& records);

 private:
  BusExchange() = default;

  const catalog::CatalogIndex* catalog_ = nullptr;
  BusExchangeOptions options_;
  std::unique_ptr<broker::EmbeddedCluster> cluster_;
  std::unique_ptr<broker::Broker> broker_;
  std::unique_ptr<state::StateStore> store_;
  std::unique_ptr<ingest::CatalogClassDirectory> classes_;
  std::unique_ptr<ingest::Ingestor> ingestor_;
  std::unique_ptr<broker::Producer> data_producer_;
  std::unique_ptr<QueryService> service_;
  std::atomic<bool> stop_{false};
  std::thread ingest_thread_;
  std::thread server_thread_;
  absl::Status ingest_status_;
  absl::Status server_status_;
};

}  // namespace datarun::query::testing

#endif  // DATARUN_EXCHANGE_QUERY_TESTING_BUS_EXCHANGE_H_
