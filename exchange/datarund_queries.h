// The query side of datarund: loads the exchange's checkpoint seal, runs
// the QueryService (exchange/query/) over the Ingestor's assignment, and
// wires the audit trail to the bus — chains continued from the last link on
// dr.audit (KafkaChainHeads), sealed checkpoints on dr.audit.checkpoint
// every N links, when a partition moves away, and at shutdown.
//
// Hand-over (issue #5): datarund's ingest consumer reports its rebalances
// here (query::RebalanceHookBroker, ListenToIngest): before a revocation
// returns, the revoked partitions' chains are fenced, drained and sealed
// (QueryService::HandOver), so the next owner, assigned only after that,
// reads their final heads; an assignment takes them over again. SIGTERM
// drains the same way: the ingest consumer's Close revokes everything.
//
// Owned and driven by datarund's main thread: Create, Start, then
// OnAssignment from the status loop (a fallback when nothing listens to
// the ingest consumer), then Stop. The QueryService runs on a thread of
// its own; OnRevoking/OnAssigned run on the ingest consumer's thread.
#ifndef DATARUN_EXCHANGE_DATARUND_QUERIES_H_
#define DATARUN_EXCHANGE_DATARUND_QUERIES_H_

#include <atomic>
#include <functional>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "broker_adapters/broker.h"
#include "exchange/audit/kafka/audit_bus.h"
#include "exchange/catalog/catalog.h"
#include "exchange/certificate/signer_set.h"
#include "exchange/policy/policy.h"
#include "exchange/query/handover.h"
#include "exchange/query/query_metrics.h"
#include "exchange/query/query_service.h"
#include "exchange/seal/keyring.h"
#include "exchange/seal/seal.h"
#include "exchange/state/state_store.h"

namespace datarun::daemon {

// The department that seals audit checkpoints when --checkpoint_seal names
// none: the big data bureau runs the exchange.
inline constexpr char kExchangeDepartment[] = "big_data_bureau";

// The signer of `spec` ("DEPT" or "DEPT/KEY_ID") from the keys directory.
// Without a key id: the catalog key of DEPT valid at `now` with the latest
// valid_from whose private key is in `keys_dir`. Then seals a probe
// checkpoint and verifies it against `keyring` (the catalog's keys), so a
// key the auditor could not verify is refused at start. InvalidArgument /
// NotFound with what to do (keygen, catalog entry) otherwise.
absl::StatusOr<std::unique_ptr<seal::Signer>> LoadCheckpointSigner(
    const datarun::v1::Catalog& catalog, const seal::SealKeyring& keyring,
    const std::string& keys_dir, const std::string& spec, absl::Time now);

// The topics queries need: QueryTopics plus dr.audit.checkpoint.
std::vector<broker::TopicSpec> DaemonQueryTopics(
    const catalog::CatalogIndex& catalog, int32_t partitions);

struct DaemonQueryOptions {
  int32_t partitions = 8;
  std::string instance_id;
  int workers = 32;
  uint64_t checkpoint_every = 1000;
  // How long Stop waits for the shutdown checkpoints.
  absl::Duration checkpoint_timeout = absl::Seconds(10);
  // How long a revocation waits for the links of its partitions in flight
  // (the audit log's own ack timeout is 10 s).
  absl::Duration handover_timeout = absl::Seconds(10);
  // datarund's /metrics registry for the query metrics
  // (exchange/query/query_metrics.h); not owned. Null: none.
  prometheus::Registry* registry = nullptr;
};

class DaemonQueries : public query::RebalanceListener {
 public:
  // `keyring` holds the catalog's keys; `checkpoint_signer` may be null
  // (--unsealed_checkpoints); `document_signers` seal certificates (by the
  // template's issuer) and dossiers (big_data_bureau) — an empty set means
  // every certificate and dossier request is refused with document.no_seal.
  // Broker, catalog and store are not owned.
  static absl::StatusOr<std::unique_ptr<DaemonQueries>> Create(
      broker::Broker* broker, const catalog::CatalogIndex& catalog,
      std::unique_ptr<seal::SealKeyring> keyring,
      std::unique_ptr<seal::Signer> checkpoint_signer,
      certificate::SignerSet document_signers, state::StateStore* store,
      std::function<std::vector<broker::TopicPartition>()> ingest_assignment,
      DaemonQueryOptions options);
  ~DaemonQueries() override;

  void Start();
  // Marks that the ingest consumer's rebalances reach OnRevoking and
  // OnAssigned (through a RebalanceHookBroker the caller sets it on);
  // OnAssignment then does nothing. Returns this.
  query::RebalanceListener* ListenToIngest();
  // The ingest assignment now, when nothing listens: chains of partitions
  // no longer owned are handed over (late: the next owner may already
  // have read their heads) and those owned again taken over.
  void OnAssignment(const std::vector<broker::TopicPartition>& assignment);
  // RebalanceListener: the hand-over proper.
  void OnRevoking(
      const std::vector<broker::TopicPartition>& partitions) override;
  void OnAssigned(
      const std::vector<broker::TopicPartition>& partitions) override;
  // Stops serving, seals every chain appended since its last checkpoint
  // and flushes the audit producers. Returns the serving error, if any,
  // else the sealing error.
  absl::Status Stop();

 private:
  DaemonQueries() = default;

  std::unique_ptr<seal::SealKeyring> keyring_;
  std::unique_ptr<seal::Signer> signer_;
  certificate::SignerSet document_signers_;  // QueryService points into it
  std::unique_ptr<policy::Policy> policy_;
  std::unique_ptr<broker::Producer> checkpoint_producer_;
  std::unique_ptr<audit::KafkaCheckpointSink> checkpoint_sink_;
  // Counts checkpoint_sink_'s acks, when there are metrics.
  std::unique_ptr<query::CountingCheckpointSink> counted_sink_;
  // Refuses checkpoints of links refused while handing over.
  std::unique_ptr<query::FencedCheckpointSink> fenced_sink_;
  std::unique_ptr<audit::KafkaChainHeads> heads_;
  std::unique_ptr<query::QueryService> service_;
  DaemonQueryOptions options_;
  std::atomic<bool> stop_{false};
  absl::Status run_status_;
  std::thread thread_;
  std::thread warm_up_;  // the heads consumer's group join
  std::atomic<bool> listening_{false};
  std::set<int32_t> owned_;  // OnAssignment's view (main thread)
};

}  // namespace datarun::daemon

#endif  // DATARUN_EXCHANGE_DATARUND_QUERIES_H_
