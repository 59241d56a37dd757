// datarund: the exchange core daemon.
//
// Opens the RocksDB state (--state_dir), loads and checks the catalog
// (--catalog), connects to Kafka (--brokers, or an in-process cluster with
// --embedded_kafka whose address goes to --bootstrap_file), makes sure the
// data and DLQ topics exist, and ingests every dr.data.* topic exactly once
// into the state (exchange/ingest). Several instances with the same
// --group_id split the partitions; each keeps the state of its own.
//
// SIGTERM or SIGINT: stop polling, apply what was polled, leave the group,
// flush the state to table files, exit 0. Bad flags or unreadable files exit
// 2 with a message that names the flag or file; a runtime failure exits 1.
//
// Threads: main (startup, then waits), a signal thread (sigwait), the ingest
// poller and applier, and the metrics exposer when --metrics_port is set.
#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <fstream>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "broker_adapters/broker.h"
#include "broker_adapters/embedded/embedded_cluster.h"
#include "broker_adapters/kafka/kafka_broker.h"
#include "common/log.h"
#include "exchange/catalog/catalog.h"
#include "exchange/ingest/class_directory.h"
#include "exchange/ingest/ingestor.h"
#include "exchange/policy/policy.h"
#include "exchange/query/query_service.h"
#include "exchange/seal/catalog_keys.h"
#include "exchange/seal/keyring.h"
#include "exchange/state/rocksdb/rocksdb_state_store.h"
#include "exchange/subject/subject_id.h"
#include "prometheus/counter.h"
#include "prometheus/exposer.h"
#include "prometheus/gauge.h"
#include "prometheus/registry.h"

ABSL_FLAG(bool, embedded_kafka, false,
          "run an in-process Kafka-protocol cluster (single-node mode; "
          "in memory only, see docs/operations.md)");
ABSL_FLAG(std::string, brokers, "",
          "bootstrap servers of a Kafka cluster, host:port[,host:port]");
ABSL_FLAG(std::string, kafka_properties, "",
          "optional librdkafka properties file (SSL, SASL, tuning)");
ABSL_FLAG(std::string, state_dir, "",
          "RocksDB state directory of this instance (created if missing)");
ABSL_FLAG(std::string, catalog, "", "catalog textproto");
ABSL_FLAG(int32_t, partitions, 8,
          "partition count of the dr.* topics this daemon creates "
          "(co-partitioning: every data topic has the same count)");
ABSL_FLAG(std::string, bootstrap_file, "",
          "write the Kafka bootstrap address here once serving");
ABSL_FLAG(std::string, ready_file, "",
          "write 'ready <ms since start>' here once the state is open and "
          "ingest has joined the group");
ABSL_FLAG(std::string, status_file, "",
          "rewrite a one-line progress summary here every 200 ms (assigned "
          "partitions, messages handled, messages stored in the state)");
ABSL_FLAG(int32_t, metrics_port, 0,
          "serve Prometheus /metrics on this port (0: off)");
ABSL_FLAG(std::string, metrics_bind, "0.0.0.0", "address /metrics binds to");
ABSL_FLAG(std::string, group_id, "datarun-exchange",
          "consumer group of the exchange instances");
ABSL_FLAG(bool, sync_writes, true,
          "fsync the WAL on every applied batch (survives machine crashes; "
          "without it only process crashes are survived)");
ABSL_FLAG(int64_t, block_cache_mb, 512, "RocksDB block cache (MiB)");
ABSL_FLAG(int64_t, write_buffer_mb, 192,
          "RocksDB memtables, charged to the block cache (MiB)");
ABSL_FLAG(int32_t, batch_messages, 8192, "messages per applied batch");
// Queries over the bus (owner: exchange/query/; docs/operations.md).
// Off by default for now: it needs dr.query.req, dr.audit and the response
// topics, which deployments (and the integration harness) must create first.
ABSL_FLAG(bool, serve_queries, false,
          "answer dr.query.req for the partitions this instance ingests");
ABSL_FLAG(int32_t, query_workers, 32, "query worker threads");

namespace datarun {
namespace {

constexpr int kUsageError = 2;
constexpr int kRuntimeError = 1;

int Fail(int code, absl::string_view message) {
  DR_LOG(ERROR) << "datarund: " << message;
  std::fprintf(stderr, "datarund: %.*s\n", static_cast<int>(message.size()),
               message.data());
  return code;
}

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

// Checks a subject id against the kind the class expects, in normal form.
absl::Status ValidateSubject(datarun::v1::SubjectKind kind,
                             absl::string_view id) {
  absl::StatusOr<subject::SubjectId> parsed =
      kind == datarun::v1::SUBJECT_KIND_LEGAL_PERSON
          ? subject::ParseCreditCode(id)
          : subject::ParseCitizenId(id);
  if (!parsed.ok()) return parsed.status();
  if (parsed->id() != id) {
    return absl::InvalidArgumentError(
        absl::StrCat("'", id, "' is not in normal form '", parsed->id(), "'"));
  }
  return absl::OkStatus();
}

// key=value progress line for supervisors and tests.
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

// Mirrors the ingest and state counters into Prometheus once a second.
class MetricsMirror {
 public:
  MetricsMirror(prometheus::Registry& registry,
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

  void Update() {
    Bump(handled_, ingest_.applied.load());
    Bump(stale_, ingest_.stale.load());
    for (size_t r = 0; r < rejected_.size(); ++r) {
      Bump(rejected_[r], ingest_.rejected[r].load());
    }
    Bump(resets_, state_.cluster_id_resets.load());
    Bump(pauses_, ingest_.pauses.load());
  }

 private:
  static void Bump(prometheus::Counter* c, uint64_t total) {
    double delta = static_cast<double>(total) - c->Value();
    if (delta > 0) c->Increment(delta);
  }
  const ingest::IngestCounters& ingest_;
  const state::StateCounters& state_;
  prometheus::Counter* handled_;
  prometheus::Counter* stale_;
  std::vector<prometheus::Counter*> rejected_;
  prometheus::Counter* resets_;
  prometheus::Counter* pauses_;
};

int Main(int argc, char** argv, absl::Time started) {
  absl::SetProgramUsageMessage(
      "datarund --state_dir=DIR --catalog=FILE (--embedded_kafka | "
      "--brokers=HOST:PORT) [--partitions=N] [--bootstrap_file=FILE]");
  std::vector<char*> rest = absl::ParseCommandLine(argc, argv);
  if (rest.size() > 1) {
    return Fail(kUsageError, absl::StrCat("unexpected argument '", rest[1],
                                          "' (flags are --name=value)"));
  }
  const bool embedded = absl::GetFlag(FLAGS_embedded_kafka);
  const std::string brokers = absl::GetFlag(FLAGS_brokers);
  if (embedded == !brokers.empty()) {
    return Fail(kUsageError,
                "give exactly one of --embedded_kafka or --brokers=HOST:PORT");
  }
  const std::string state_dir = absl::GetFlag(FLAGS_state_dir);
  if (state_dir.empty()) {
    return Fail(kUsageError,
                "--state_dir is required (the RocksDB state directory)");
  }
  const std::string catalog_path = absl::GetFlag(FLAGS_catalog);
  if (catalog_path.empty()) {
    return Fail(kUsageError, "--catalog is required (a catalog textproto)");
  }
  const int32_t partitions = absl::GetFlag(FLAGS_partitions);
  if (partitions < 1 || partitions > 10000) {
    return Fail(kUsageError, absl::StrCat("--partitions=", partitions,
                                          " is out of range 1..10000"));
  }
  const int32_t metrics_port = absl::GetFlag(FLAGS_metrics_port);
  if (metrics_port < 0 || metrics_port > 65535) {
    return Fail(kUsageError, absl::StrCat("--metrics_port=", metrics_port,
                                          " is not a TCP port"));
  }
  if (absl::GetFlag(FLAGS_block_cache_mb) < 8 ||
      absl::GetFlag(FLAGS_write_buffer_mb) < 4 ||
      absl::GetFlag(FLAGS_write_buffer_mb) >=
          absl::GetFlag(FLAGS_block_cache_mb)) {
    return Fail(kUsageError,
                "need --block_cache_mb >= 8 and 4 <= --write_buffer_mb < "
                "--block_cache_mb (memtables are charged to the cache)");
  }
  if (absl::GetFlag(FLAGS_batch_messages) < 1) {
    return Fail(kUsageError, "--batch_messages must be >= 1");
  }

  // Signals go to the signal thread only; block them before any thread
  // starts so every thread inherits the mask.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  std::atomic<bool> stop{false};
  std::thread signal_thread([&] {
    int sig = 0;
    sigwait(&signals, &sig);
    if (!stop.load()) {
      DR_LOG(INFO) << "datarund: signal " << sig << ", draining";
    }
    stop.store(true);
  });
  auto stop_signal_thread = [&] {
    stop.store(true);
    pthread_kill(signal_thread.native_handle(), SIGTERM);
    signal_thread.join();
  };

  auto catalog = catalog::LoadCatalog(catalog_path);
  if (!catalog.ok()) {
    stop_signal_thread();
    return Fail(kUsageError, catalog.status().ToString());
  }
  auto index = catalog::CatalogIndex::Create(*catalog);
  if (!index.ok()) {
    stop_signal_thread();
    return Fail(kUsageError, index.status().ToString());
  }
  // The ingest seam takes the checked catalog as it is.
  ingest::CatalogClassDirectory classes((*index)->catalog());

  state::RocksDbStateOptions state_options;
  state_options.dir = state_dir;
  state_options.sync = absl::GetFlag(FLAGS_sync_writes);
  state_options.block_cache_bytes =
      static_cast<size_t>(absl::GetFlag(FLAGS_block_cache_mb)) << 20;
  state_options.write_buffer_bytes =
      static_cast<size_t>(absl::GetFlag(FLAGS_write_buffer_mb)) << 20;
  auto store = state::RocksDbStateStore::Open(state_options);
  if (!store.ok()) {
    stop_signal_thread();
    return Fail(kUsageError, store.status().ToString());
  }
  DR_LOG(INFO) << "datarund: state " << state_dir << " open after "
               << absl::ToInt64Milliseconds(absl::Now() - started) << " ms";

  // Topics: every data topic of the catalog and every department's DLQ.
  std::vector<broker::TopicSpec> topics;
  for (const auto& c : (*index)->catalog().data_classes()) {
    topics.push_back({catalog::DataTopicFor(c), partitions});
  }
  for (const auto& d : (*index)->catalog().departments()) {
    topics.push_back({absl::StrCat("dr.dlq.", d.id()), partitions});
  }
  topics.push_back({"dr.dlq.unknown", partitions});
  if (absl::GetFlag(FLAGS_serve_queries)) {  // queries (exchange/query/)
    for (auto& t : query::QueryTopics(**index, partitions)) topics.push_back(t);
  }

  std::unique_ptr<broker::EmbeddedCluster> cluster;
  broker::KafkaConfig kafka;
  kafka.bootstrap = brokers;
  if (!absl::GetFlag(FLAGS_kafka_properties).empty()) {
    auto props = broker::LoadProperties(absl::GetFlag(FLAGS_kafka_properties));
    if (!props.ok()) {
      stop_signal_thread();
      return Fail(kUsageError, props.status().ToString());
    }
    kafka.properties = *std::move(props);
  }
  if (embedded) {
    auto started_cluster = broker::EmbeddedCluster::Start(1);
    if (!started_cluster.ok()) {
      stop_signal_thread();
      return Fail(kRuntimeError, started_cluster.status().ToString());
    }
    cluster = *std::move(started_cluster);
    DR_LOG(INFO) << "datarund: embedded cluster up after "
                 << absl::ToInt64Milliseconds(absl::Now() - started) << " ms";
    std::vector<std::string> names;
    for (const auto& t : topics) names.push_back(t.name);
    if (absl::Status s = cluster->CreateTopics(names, partitions); !s.ok()) {
      stop_signal_thread();
      return Fail(kRuntimeError, s.ToString());
    }
    kafka.bootstrap = cluster->bootstrap();
    DR_LOG(INFO) << "datarund: embedded Kafka cluster '"
                 << cluster->cluster_id() << "' at " << kafka.bootstrap;
  }
  auto kafka_broker = broker::NewKafkaBroker(kafka);
  if (!kafka_broker.ok()) {
    stop_signal_thread();
    return Fail(kRuntimeError, kafka_broker.status().ToString());
  }
  if (!embedded) {
    auto admin = (*kafka_broker)->NewAdmin();
    absl::Status s = admin.ok()
                         ? (*admin)->EnsureTopics(topics, absl::Seconds(30))
                         : admin.status();
    if (!s.ok()) {
      stop_signal_thread();
      return Fail(kRuntimeError,
                  absl::StrCat("ensuring topics: ", s.ToString()));
    }
  }
  if (!absl::GetFlag(FLAGS_bootstrap_file).empty()) {
    absl::Status s = WriteAtomically(absl::GetFlag(FLAGS_bootstrap_file),
                                     kafka.bootstrap + "\n");
    if (!s.ok()) {
      stop_signal_thread();
      return Fail(kUsageError, absl::StrCat("--bootstrap_file: ", s.message()));
    }
  }
  std::printf("bootstrap=%s\n", kafka.bootstrap.c_str());
  std::fflush(stdout);

  if (stop.load()) {  // signalled during startup: nothing to drain
    stop_signal_thread();
    return 0;
  }
  ingest::IngestOptions options;
  options.group_id = absl::GetFlag(FLAGS_group_id);
  options.client_id = absl::StrCat("datarund-", getpid());
  options.max_batch_messages = absl::GetFlag(FLAGS_batch_messages);
  ingest::Ingestor ingestor(kafka_broker->get(), store->get(), &classes,
                            ValidateSubject, options);

  std::unique_ptr<prometheus::Exposer> exposer;
  auto registry = std::make_shared<prometheus::Registry>();
  MetricsMirror metrics(*registry, ingestor.counters(), (*store)->counters());
  if (metrics_port > 0) {
    const std::string address =
        absl::StrCat(absl::GetFlag(FLAGS_metrics_bind), ":", metrics_port);
    try {  // prometheus-cpp reports a busy port only by throwing
      exposer = std::make_unique<prometheus::Exposer>(address);
    } catch (const std::exception& e) {
      stop_signal_thread();
      return Fail(kUsageError, absl::StrCat("--metrics_port: cannot listen on ",
                                            address, ": ", e.what()));
    }
    exposer->RegisterCollectable(registry);
  }

  // Queries over the bus (exchange/query/): answered for the partitions
  // the ingestor owns once it caught up; audit links on dr.audit. Stopped
  // after ingest (below). Checkpoints are not sealed yet (no exchange key).
  seal::SealKeyring keyring;
  std::unique_ptr<policy::Policy> policy;
  std::unique_ptr<query::QueryService> queries;
  std::atomic<bool> queries_stop{false};
  absl::Status queries_status;
  std::thread queries_thread;
  if (absl::GetFlag(FLAGS_serve_queries)) {
    absl::Status s = seal::AddCatalogKeys((*index)->catalog(), &keyring);
    auto p = s.ok() ? policy::Policy::Create(**index, keyring)
                    : absl::StatusOr<std::unique_ptr<policy::Policy>>(s);
    if (!p.ok()) {
      stop_signal_thread();
      return Fail(kUsageError,
                  absl::StrCat("queries: ", p.status().ToString()));
    }
    policy = *std::move(p);
    query::QueryServiceOptions qo;
    qo.partitions = partitions;
    qo.instance_id = options.client_id;
    qo.workers = absl::GetFlag(FLAGS_query_workers);
    auto q = query::QueryService::Create(
        kafka_broker->get(), *policy, store->get(),
        [&ingestor] { return ingestor.Assignment(); }, nullptr, qo);
    if (!q.ok()) {
      stop_signal_thread();
      return Fail(kRuntimeError,
                  absl::StrCat("queries: ", q.status().ToString()));
    }
    queries = *std::move(q);
    queries_thread =
        std::thread([&] { queries_status = queries->Run(&queries_stop); });
  }

  absl::Status ingest_status;
  std::atomic<bool> ingest_done{false};
  std::thread ingest_thread([&] {
    ingest_status = ingestor.Run(&stop);
    ingest_done.store(true);
  });
  bool reported_ready = false;
  absl::Time last_status = absl::InfinitePast();
  while (!ingest_done.load()) {
    if (!reported_ready && ingestor.ready()) {
      reported_ready = true;
      const int64_t ms = absl::ToInt64Milliseconds(absl::Now() - started);
      DR_LOG(INFO) << "datarund: ready after " << ms << " ms";
      std::printf("ready_ms=%lld\n", static_cast<long long>(ms));
      std::fflush(stdout);
      if (!absl::GetFlag(FLAGS_ready_file).empty()) {
        absl::Status s = WriteAtomically(absl::GetFlag(FLAGS_ready_file),
                                         absl::StrCat("ready ", ms, "\n"));
        if (!s.ok()) DR_LOG(WARNING) << "datarund: --ready_file: " << s;
      }
    }
    metrics.Update();
    if (!absl::GetFlag(FLAGS_status_file).empty() && reported_ready &&
        absl::Now() - last_status >= absl::Milliseconds(200)) {
      last_status = absl::Now();
      WriteStatus(absl::GetFlag(FLAGS_status_file), ingestor, **store);
    }
    absl::SleepFor(absl::Milliseconds(reported_ready ? 50 : 5));
  }
  ingest_thread.join();
  queries_stop.store(true);
  if (queries_thread.joinable()) queries_thread.join();
  if (!queries_status.ok())
    DR_LOG(ERROR) << "datarund: queries: " << queries_status;
  metrics.Update();
  const bool signalled = stop.load();
  stop_signal_thread();
  if (absl::Status s = (*store)->Flush(); !s.ok()) {
    DR_LOG(WARNING) << "datarund: flushing state: " << s;
  }
  store->reset();
  exposer.reset();
  if (!ingest_status.ok()) {
    return Fail(kRuntimeError, ingest_status.ToString());
  }
  DR_LOG(INFO) << "datarund: stopped" << (signalled ? " on signal" : "")
               << ", state flushed";
  return 0;
}

}  // namespace
}  // namespace datarun

int main(int argc, char** argv) {
  const absl::Time started = absl::Now();
  // Debian's Abseil is built without NDEBUG, so absl::Mutex would run its
  // global deadlock detector on every lock of the query and audit paths.
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
  return datarun::Main(argc, argv, started);
}
