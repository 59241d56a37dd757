#include "exchange/datarund_queries.h"

#include <unistd.h>

#include <algorithm>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/log.h"
#include "common/proto_time.h"
#include "common/status_macros.h"
#include "exchange/audit/chain.h"
#include "exchange/query/topics.h"
#include "exchange/seal/key_store.h"

namespace datarun::daemon {
namespace {

bool ValidAt(const datarun::v1::SealKey& key, absl::Time now) {
  if (key.has_valid_from() && FromProtoTime(key.valid_from()) > now) {
    return false;
  }
  if (key.has_valid_until() && FromProtoTime(key.valid_until()) <= now) {
    return false;
  }
  return true;
}

}  // namespace

absl::StatusOr<std::unique_ptr<seal::Signer>> LoadCheckpointSigner(
    const datarun::v1::Catalog& catalog, const seal::SealKeyring& keyring,
    const std::string& keys_dir, const std::string& spec, absl::Time now) {
  std::string department = spec, key_id;
  if (auto slash = spec.find('/'); slash != std::string::npos) {
    department = spec.substr(0, slash);
    key_id = spec.substr(slash + 1);
    RETURN_IF_ERROR(seal::CheckKeyName("--checkpoint_seal key id", key_id));
  }
  RETURN_IF_ERROR(
      seal::CheckKeyName("--checkpoint_seal department", department));
  const datarun::v1::Department* dept = nullptr;
  for (const auto& d : catalog.departments()) {
    if (d.id() == department) dept = &d;
  }
  if (dept == nullptr) {
    return absl::NotFoundError(absl::StrCat("--checkpoint_seal: department '",
                                            department,
                                            "' is not in the catalog"));
  }
  const seal::KeyStore store(keys_dir);
  const std::string keygen = absl::StrCat(
      "generate one with `datarun keygen --department=", department,
      " --out=", keys_dir, "` and add the printed seal_keys block to ",
      department, " in the catalog");
  if (key_id.empty()) {
    const datarun::v1::SealKey* best = nullptr;
    std::vector<std::string> seen;
    for (const auto& k : dept->seal_keys()) {
      seen.push_back(k.key_id());
      if (!ValidAt(k, now)) continue;
      if (access(store.PrivateKeyPath(department, k.key_id()).c_str(), R_OK) !=
          0) {
        continue;
      }
      if (best == nullptr ||
          FromProtoTime(k.valid_from()) > FromProtoTime(best->valid_from())) {
        best = &k;
      }
    }
    if (best == nullptr) {
      return absl::NotFoundError(absl::StrCat(
          "no seal key to seal audit checkpoints: the catalog lists ",
          seen.empty() ? "no key" : absl::StrJoin(seen, ", "), " for ",
          department, " and none is valid now with its private key in ",
          keys_dir, "/", department, "/; ", keygen));
    }
    key_id = best->key_id();
  }
  auto signer = store.LoadSigner(department, key_id);
  if (!signer.ok()) {
    return absl::Status(
        signer.status().code(),
        absl::StrCat("--checkpoint_seal ", department, "/", key_id, ": ",
                     signer.status().message(), "; ", keygen));
  }
  // What an auditor will do with every checkpoint, once, now.
  ASSIGN_OR_RETURN(
      datarun::v1::SealedCheckpoint probe,
      audit::SealCheckpoint(**signer, 0, 0, audit::GenesisHash(), now));
  if (absl::Status st = audit::VerifyCheckpointSeal(probe, keyring); !st.ok()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--checkpoint_seal ", department, "/", key_id,
        ": checkpoints sealed with the private key in ", keys_dir,
        " would not verify against the catalog (", st.message(),
        "); the catalog must list this key's public key, valid now"));
  }
  return signer;
}

std::vector<broker::TopicSpec> DaemonQueryTopics(
    const catalog::CatalogIndex& catalog, int32_t partitions) {
  std::vector<broker::TopicSpec> topics =
      query::QueryTopics(catalog, partitions);
  topics.push_back({audit::kCheckpointTopic, partitions});
  return topics;
}

absl::StatusOr<std::unique_ptr<DaemonQueries>> DaemonQueries::Create(
    broker::Broker* broker, const catalog::CatalogIndex& catalog,
    std::unique_ptr<seal::SealKeyring> keyring,
    std::unique_ptr<seal::Signer> checkpoint_signer,
    certificate::SignerSet document_signers, state::StateStore* store,
    std::function<std::vector<broker::TopicPartition>()> ingest_assignment,
    DaemonQueryOptions options) {
  std::unique_ptr<DaemonQueries> q(new DaemonQueries());
  q->options_ = options;
  q->keyring_ = std::move(keyring);
  q->signer_ = std::move(checkpoint_signer);
  q->document_signers_ = std::move(document_signers);
  ASSIGN_OR_RETURN(q->policy_, policy::Policy::Create(catalog, *q->keyring_));
  broker::ProducerOptions po;
  po.client_id = absl::StrCat("datarund-checkpoints-", options.instance_id);
  ASSIGN_OR_RETURN(q->checkpoint_producer_, broker->NewProducer(po));
  q->checkpoint_sink_ = std::make_unique<audit::KafkaCheckpointSink>(
      q->checkpoint_producer_.get());
  ASSIGN_OR_RETURN(q->heads_,
                   audit::KafkaChainHeads::Create(broker, query::kAuditTopic));
  query::QueryServiceOptions qo;
  qo.partitions = options.partitions;
  qo.instance_id = options.instance_id;
  qo.workers = options.workers;
  qo.checkpoint_every = options.checkpoint_every;
  qo.seals.signers = &q->document_signers_;
  qo.registry = options.registry;
  ASSIGN_OR_RETURN(q->service_,
                   query::QueryService::Create(broker, *q->policy_, store,
                                               std::move(ingest_assignment),
                                               q->signer_.get(), qo));
  audit::CheckpointSink* checkpoints = q->checkpoint_sink_.get();
  if (q->service_->metrics() != nullptr) {
    q->counted_sink_ = std::make_unique<query::CountingCheckpointSink>(
        checkpoints, q->service_->metrics());
    checkpoints = q->counted_sink_.get();
  }
  q->fenced_sink_ = std::make_unique<query::FencedCheckpointSink>(
      checkpoints, &q->service_->fence());
  checkpoints = q->fenced_sink_.get();
  q->service_->audit_log().ConnectBus(q->heads_.get(), checkpoints);
  return q;
}

DaemonQueries::~DaemonQueries() {
  if (thread_.joinable() || warm_up_.joinable()) Stop().IgnoreError();
}

void DaemonQueries::Start() {
  thread_ = std::thread([this] { run_status_ = service_->Run(&stop_); });
  // The heads consumer's group join (~3 s on the embedded cluster) overlaps
  // ingest catching up instead of delaying the first answer.
  warm_up_ = std::thread([heads = heads_.get()] {
    if (absl::Status st = heads->WaitReady(); !st.ok()) {
      DR_LOG(WARNING) << "datarund: audit chain heads: " << st;
    }
  });
}

query::RebalanceListener* DaemonQueries::ListenToIngest() {
  listening_.store(true);
  return this;
}

void DaemonQueries::OnAssignment(
    const std::vector<broker::TopicPartition>& assignment) {
  if (listening_.load()) return;
  std::vector<int32_t> owned = query::DataPartitions(assignment);
  std::vector<int32_t> gone;
  for (int32_t p : owned_) {
    if (!std::binary_search(owned.begin(), owned.end(), p)) gone.push_back(p);
  }
  if (!gone.empty()) {
    if (absl::Status st = service_->HandOver(gone, options_.handover_timeout);
        !st.ok()) {
      DR_LOG(WARNING) << "datarund: handing over audit chains: " << st;
    }
  }
  service_->TakeOver(owned);
  owned_ = std::set<int32_t>(owned.begin(), owned.end());
}

void DaemonQueries::OnRevoking(
    const std::vector<broker::TopicPartition>& partitions) {
  const std::vector<int32_t> revoked = query::DataPartitions(partitions);
  if (revoked.empty()) return;
  const absl::Time start = absl::Now();
  absl::Status st = service_->HandOver(revoked, options_.handover_timeout);
  if (!st.ok()) {
    DR_LOG(ERROR) << "datarund: handing over audit chains: " << st;
  } else {
    DR_LOG(INFO) << "datarund: handed over the audit chains of partitions "
                 << absl::StrJoin(revoked, ",") << " in "
                 << absl::FormatDuration(absl::Now() - start);
  }
}

void DaemonQueries::OnAssigned(
    const std::vector<broker::TopicPartition>& partitions) {
  service_->TakeOver(query::DataPartitions(partitions));
}

absl::Status DaemonQueries::Stop() {
  stop_.store(true);
  if (thread_.joinable()) thread_.join();
  if (warm_up_.joinable()) warm_up_.join();
  absl::Status status = run_status_;
  auto sealed =
      service_->audit_log().CheckpointAll(options_.checkpoint_timeout);
  if (!sealed.ok()) {
    if (status.ok()) status = sealed.status();
  } else if (*sealed > 0) {
    DR_LOG(INFO) << "datarund: sealed the audit chain heads of " << *sealed
                 << " partitions";
  }
  if (absl::Status st =
          checkpoint_producer_->Flush(options_.checkpoint_timeout);
      !st.ok() && status.ok()) {
    status = st;
  }
  return status;
}

}  // namespace datarun::daemon
