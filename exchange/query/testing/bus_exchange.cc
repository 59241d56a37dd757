#include "exchange/query/testing/bus_exchange.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "broker_adapters/kafka/kafka_broker.h"
#include "common/status_macros.h"
#include "exchange/query/partitioner.h"
#include "exchange/query/topics.h"
#include "exchange/state/rocksdb/rocksdb_state_store.h"
#include "exchange/subject/subject_id.h"

namespace datarun::query::testing {

namespace {

// The embedded cluster's rebalances wait session.timeout.ms - 1 s; 6 s is
// the smallest a real broker accepts (docs/operations.md).
const std::map<std::string, std::string> kGroupProps = {
    {"session.timeout.ms", "6000"}, {"heartbeat.interval.ms", "500"}};

absl::Status ValidateSubject(datarun::v1::SubjectKind kind,
                             absl::string_view id) {
  datarun::v1::Subject s;
  s.set_kind(kind);
  s.set_id(std::string(id));
  return subject::SubjectIdFromProto(s).status();
}

}  // namespace

int32_t BusExchange::PartitionOf(absl::string_view subject_id) const {
  return SubjectPartition(subject_id, options_.partitions);
}

absl::StatusOr<std::unique_ptr<BusExchange>> BusExchange::Start(
    const catalog::CatalogIndex& catalog, const policy::Policy& policy,
    const seal::Signer* exchange_signer, BusExchangeOptions options) {
  std::unique_ptr<BusExchange> x(new BusExchange());
  x->catalog_ = &catalog;
  x->options_ = std::move(options);
  const int32_t p = x->options_.partitions;
  ASSIGN_OR_RETURN(x->cluster_, broker::EmbeddedCluster::Start());
  std::vector<broker::TopicSpec> topics;
  for (const auto& c : catalog.catalog().data_classes())
    topics.push_back({catalog::DataTopicFor(c), p});
  for (const auto& d : catalog.catalog().departments())
    topics.push_back({absl::StrCat("dr.dlq.", d.id()), p});
  topics.push_back({"dr.dlq.unknown", p});
  for (auto& t : QueryTopics(catalog, p, x->options_.response_partitions))
    topics.push_back(std::move(t));
  RETURN_IF_ERROR(
      x->cluster_->NewAdmin()->EnsureTopics(topics, absl::Seconds(30)));

  broker::KafkaConfig kc;
  kc.bootstrap = x->cluster_->bootstrap();
  ASSIGN_OR_RETURN(x->broker_, broker::NewKafkaBroker(kc));

  state::RocksDbStateOptions so;
  so.dir = x->options_.state_dir;
  so.block_cache_bytes = 32 << 20;
  so.write_buffer_bytes = 8 << 20;
  ASSIGN_OR_RETURN(x->store_, state::RocksDbStateStore::Open(so));

  x->classes_ =
      std::make_unique<ingest::CatalogClassDirectory>(catalog.catalog());
  ingest::IngestOptions io;
  io.client_id = "bus-exchange-ingest";
  io.consumer_properties = kGroupProps;
  x->ingestor_ = std::make_unique<ingest::Ingestor>(
      x->broker_.get(), x->store_.get(), x->classes_.get(), ValidateSubject,
      io);
  ingest::Ingestor* ingestor = x->ingestor_.get();
  ASSIGN_OR_RETURN(x->data_producer_,
                   x->broker_->NewProducer({.client_id = "bus-exchange-data"}));
  QueryServiceOptions qo;
  qo.partitions = p;
  qo.instance_id = x->cluster_->cluster_id();
  qo.checkpoint_every = x->options_.checkpoint_every;
  qo.workers = x->options_.workers;
  qo.seals = x->options_.seals;
  qo.consumer_properties = kGroupProps;
  for (const auto& [k, v] : x->options_.consumer_properties)
    qo.consumer_properties[k] = v;
  qo.producer_properties = x->options_.producer_properties;
  qo.audit_producer_properties = x->options_.audit_producer_properties;
  qo.trace = x->options_.trace;
  ASSIGN_OR_RETURN(
      x->service_,
      QueryService::Create(
          x->broker_.get(), policy, x->store_.get(),
          [ingestor] { return ingestor->Assignment(); }, exchange_signer, qo));

  BusExchange* self = x.get();
  x->ingest_thread_ = std::thread(
      [self] { self->ingest_status_ = self->ingestor_->Run(&self->stop_); });
  x->server_thread_ = std::thread(
      [self] { self->server_status_ = self->service_->Run(&self->stop_); });
  const absl::Time deadline = absl::Now() + absl::Seconds(30);
  while (!x->service_->ready() || x->ingestor_->Assignment().empty()) {
    if (absl::Now() > deadline) {
      return absl::DeadlineExceededError(
          "the ingest and query consumers got no assignment within 30 s");
    }
    absl::SleepFor(absl::Milliseconds(20));
  }
  return x;
}

BusExchange::~BusExchange() {
  stop_.store(true);
  if (server_thread_.joinable()) server_thread_.join();
  if (ingest_thread_.joinable()) ingest_thread_.join();
}

absl::Status BusExchange::Publish(
    const std::vector<datarun::v1::Record>& records) {
  const uint64_t before = ingestor_->counters().messages.load();
  for (const auto& r : records) {
    const datarun::v1::DataClass* c = catalog_->FindDataClass(r.data_class());
    if (c == nullptr) {
      return absl::InvalidArgumentError(
          absl::StrCat("unknown data class ", r.data_class()));
    }
    const std::string topic = catalog::DataTopicFor(*c);
    const std::string value = r.SerializeAsString();
    broker::OutgoingMessage m;
    m.topic = topic;
    m.key = r.subject().id();
    m.value = value;
    RETURN_IF_ERROR(data_producer_->Send(m, nullptr));
  }
  RETURN_IF_ERROR(data_producer_->Flush(absl::Seconds(30)));
  const absl::Time deadline = absl::Now() + absl::Seconds(30);
  while (ingestor_->counters().messages.load() < before + records.size()) {
    if (absl::Now() > deadline) {
      return absl::DeadlineExceededError(absl::StrCat(
          "ingest handled ", ingestor_->counters().messages.load() - before,
          " of ", records.size(), " records within 30 s"));
    }
    absl::SleepFor(absl::Milliseconds(10));
  }
  return absl::OkStatus();  // messages counts applied batches only
}

}  // namespace datarun::query::testing
