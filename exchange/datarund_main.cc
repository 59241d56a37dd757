// datarund: the exchange core daemon.
//
// Opens the RocksDB state (--state_dir), loads and checks the catalog
// (--catalog), connects to Kafka (--brokers, or an in-process cluster with
// --embedded_kafka whose address goes to --bootstrap_file), makes sure the
// dr.* topics exist, ingests every dr.data.* topic exactly once into the
// state (exchange/ingest) and, by default, answers queries over the bus for
// the partitions it ingests, with the audit trail on dr.audit (chains
// continued across restarts, heads sealed with --keys; datarund_queries.h).
// Several instances with the same --group_id split the partitions; each
// keeps the state of its own.
//
// SIGTERM or SIGINT: stop polling, apply what was polled, leave the group,
// stop queries and seal the audit chain heads, flush the state to table
// files, exit 0. Bad flags, keys or unreadable files exit 2 with a message
// that names the flag or file; a runtime failure exits 1.
//
// Threads: main (startup, then the status loop), a signal thread
// (sigwait), the ingest poller and applier, the query service's threads,
// and the metrics exposer when --metrics_port is set. Status and metrics
// output live in datarund_status.h.
#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
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
#include "exchange/certificate/signer_set.h"
#include "exchange/datarund_queries.h"
#include "exchange/query/handover.h"
#include "exchange/datarund_status.h"
#include "exchange/ingest/class_directory.h"
#include "exchange/ingest/ingestor.h"
#include "exchange/seal/catalog_keys.h"
#include "exchange/seal/key_store.h"
#include "exchange/seal/keyring.h"
#include "exchange/state/rocksdb/rocksdb_state_store.h"
#include "exchange/subject/subject_id.h"
#include "prometheus/exposer.h"
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
// Queries over the bus and the audit trail (exchange/datarund_queries.h;
// docs/operations.md, "In datarund").
ABSL_FLAG(bool, serve_queries, true,
          "answer dr.query.req for the partitions this instance ingests "
          "(needs the query and audit topics, and --keys for the checkpoint "
          "seal)");
ABSL_FLAG(int32_t, query_workers, 32, "query worker threads");
ABSL_FLAG(std::string, keys, "",
          "seal keys directory (<dept>/<key_id>.key.pem, `datarun keygen`) "
          "holding the key that seals audit checkpoints");
ABSL_FLAG(std::string, checkpoint_seal, datarun::daemon::kExchangeDepartment,
          "DEPT or DEPT/KEY_ID whose seal signs audit checkpoints; without "
          "KEY_ID the newest catalog key of DEPT valid now with its private "
          "key in --keys");
ABSL_FLAG(uint64_t, checkpoint_every, 1000,
          "seal a partition's audit chain head every this many links (also "
          "when a partition moves away and at shutdown)");
ABSL_FLAG(bool, unsealed_checkpoints, false,
          "TESTS ONLY: serve queries without sealing audit checkpoints (an "
          "auditor cannot then prove the chain's tail was not cut)");

namespace datarun {
namespace {

using daemon::WriteAtomically;

constexpr int kUsageError = 2;
constexpr int kRuntimeError = 1;

int Fail(int code, absl::string_view message) {
  DR_LOG(ERROR) << "datarund: " << message;
  std::fprintf(stderr, "datarund: %.*s\n", static_cast<int>(message.size()),
               message.data());
  return code;
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

int Main(int argc, char** argv, absl::Time started) {
  absl::SetProgramUsageMessage(
      "datarund --state_dir=DIR --catalog=FILE (--embedded_kafka | "
      "--brokers=HOST:PORT) --keys=DIR [--partitions=N] "
      "[--bootstrap_file=FILE]");
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

  // Queries: the catalog's seal keys (request signatures, checkpoint
  // verification) and the exchange's checkpoint seal, checked before
  // anything starts so a key problem is a usage error.
  const bool serve_queries = absl::GetFlag(FLAGS_serve_queries);
  auto keyring = std::make_unique<seal::SealKeyring>();
  std::unique_ptr<seal::Signer> checkpoint_signer;
  certificate::SignerSet document_signers;
  if (serve_queries) {
    if (absl::Status s =
            seal::AddCatalogKeys((*index)->catalog(), keyring.get());
        !s.ok()) {
      stop_signal_thread();
      return Fail(kUsageError, absl::StrCat("queries: ", s.ToString()));
    }
    const std::string keys = absl::GetFlag(FLAGS_keys);
    if (absl::GetFlag(FLAGS_unsealed_checkpoints)) {
      DR_LOG(WARNING) << "datarund: --unsealed_checkpoints: audit chain heads "
                         "are not sealed (tests only)";
    } else if (keys.empty()) {
      stop_signal_thread();
      return Fail(
          kUsageError,
          absl::StrCat("--keys is required to seal audit checkpoints: the keys "
                       "directory holding the seal key of ",
                       absl::GetFlag(FLAGS_checkpoint_seal),
                       " (`datarun keygen`, see docs/operations.md); or "
                       "--serve_queries=false to only ingest"));
    } else {
      auto signer = daemon::LoadCheckpointSigner(
          (*index)->catalog(), *keyring, keys,
          absl::GetFlag(FLAGS_checkpoint_seal), absl::Now());
      if (!signer.ok()) {
        stop_signal_thread();
        return Fail(kUsageError, signer.status().ToString());
      }
      checkpoint_signer = *std::move(signer);
      DR_LOG(INFO) << "datarund: audit checkpoints sealed by "
                   << checkpoint_signer->department() << "/"
                   << checkpoint_signer->key_id();
    }
    // Certificates and dossiers: the seals of the departments whose private
    // keys this exchange holds and the catalog lists as valid now. Loaded
    // once; a key rotation takes a restart.
    if (!keys.empty()) {
      auto signers = certificate::LoadCurrentSigners(
          (*index)->catalog(), seal::KeyStore(keys), absl::Now());
      if (!signers.ok()) {
        stop_signal_thread();
        return Fail(kUsageError, absl::StrCat("--keys: certificate seals: ",
                                              signers.status().ToString()));
      }
      document_signers = *std::move(signers);
    }
    DR_LOG(INFO) << "datarund: certificate and dossier seals of "
                 << document_signers.size() << " departments";
  }

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
  if (serve_queries) {
    for (auto& t : daemon::DaemonQueryTopics(**index, partitions)) {
      topics.push_back(t);
    }
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
  // The ingest consumer's rebalances also reach the query side, which hands
  // the audit chains of revoked partitions over before the revocation
  // returns (datarund_queries.h).
  query::RebalanceHookBroker ingest_broker(kafka_broker->get());
  ingest::Ingestor ingestor(&ingest_broker, store->get(), &classes,
                            ValidateSubject, options);

  std::unique_ptr<prometheus::Exposer> exposer;
  auto registry = std::make_shared<prometheus::Registry>();
  daemon::MetricsMirror metrics(*registry, ingestor.counters(),
                                (*store)->counters());
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
  // DESIGN §7 figures read from the state and the broker (datarund_status.h),
  // only when something can scrape them. The first Update is the baseline
  // of the per-department counters, taken before ingest starts.
  std::vector<std::string> departments;
  for (const auto& d : (*index)->catalog().departments()) {
    departments.push_back(d.id());
  }
  std::unique_ptr<daemon::StateMetrics> state_metrics;
  std::unique_ptr<daemon::LagMonitor> lag_monitor;
  if (exposer != nullptr) {
    state_metrics = std::make_unique<daemon::StateMetrics>(
        *registry, departments, serve_queries ? partitions : 0);
    if (absl::Status s = state_metrics->Update(**store, store->get());
        !s.ok()) {
      DR_LOG(WARNING) << "datarund: state metrics: " << s;
    }
    broker::ConsumerOptions co;
    co.client_id = absl::StrCat("datarund-", getpid(), "-lag");
    // Never subscribes, so it joins no group; only reads watermarks.
    co.group_id = absl::StrCat(absl::GetFlag(FLAGS_group_id), "-lag");
    auto watermarks = (*kafka_broker)->NewConsumer(co);
    if (!watermarks.ok()) {
      stop_signal_thread();
      return Fail(kRuntimeError, absl::StrCat("ingest lag consumer: ",
                                              watermarks.status().ToString()));
    }
    lag_monitor = std::make_unique<daemon::LagMonitor>(
        *registry, departments, *std::move(watermarks), store->get(),
        [&ingestor] { return ingestor.Assignment(); });
  }

  // Queries over the bus: answered for the partitions the ingestor owns
  // once it caught up; audit chains continued from dr.audit, heads sealed
  // on dr.audit.checkpoint. Stopped after ingest (below).
  std::unique_ptr<daemon::DaemonQueries> queries;
  if (serve_queries) {
    daemon::DaemonQueryOptions qo;
    qo.partitions = partitions;
    // Host name and pid: unique per instance even where every instance is
    // PID 1 (containers), since it names the request consumer's group.
    char host[256] = {};
    gethostname(host, sizeof(host) - 1);
    qo.instance_id = absl::StrCat(host, "-", getpid());
    qo.workers = absl::GetFlag(FLAGS_query_workers);
    qo.checkpoint_every = absl::GetFlag(FLAGS_checkpoint_every);
    qo.registry = registry.get();
    auto q = daemon::DaemonQueries::Create(
        kafka_broker->get(), **index, std::move(keyring),
        std::move(checkpoint_signer), std::move(document_signers), store->get(),
        [&ingestor] { return ingestor.Assignment(); }, qo);
    if (!q.ok()) {
      stop_signal_thread();
      return Fail(kRuntimeError,
                  absl::StrCat("queries: ", q.status().ToString()));
    }
    queries = *std::move(q);
    ingest_broker.SetListener(queries->ListenToIngest());
    queries->Start();
  }

  absl::Status ingest_status;
  std::atomic<bool> ingest_done{false};
  std::thread ingest_thread([&] {
    ingest_status = ingestor.Run(&stop);
    ingest_done.store(true);
  });
  if (lag_monitor != nullptr) lag_monitor->Start(absl::Seconds(5));
  bool reported_ready = false;
  absl::Time last_status = absl::InfinitePast();
  absl::Time last_state_metrics = absl::Now();
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
    if (state_metrics != nullptr &&
        absl::Now() - last_state_metrics >= absl::Seconds(1)) {
      last_state_metrics = absl::Now();
      if (absl::Status s = state_metrics->Update(**store, store->get());
          !s.ok()) {
        DR_LOG(WARNING) << "datarund: state metrics: " << s;
      }
    }
    if (queries != nullptr && reported_ready) {
      queries->OnAssignment(ingestor.Assignment());
    }
    if (!absl::GetFlag(FLAGS_status_file).empty() && reported_ready &&
        absl::Now() - last_status >= absl::Milliseconds(200)) {
      last_status = absl::Now();
      daemon::WriteStatus(absl::GetFlag(FLAGS_status_file), ingestor, **store);
    }
    absl::SleepFor(absl::Milliseconds(reported_ready ? 50 : 5));
  }
  ingest_thread.join();
  ingest_broker.SetListener(nullptr);  // the ingest consumer has left
  if (lag_monitor != nullptr) lag_monitor->Stop();
  if (queries != nullptr) {
    // Seals every chain head appended to since its last checkpoint.
    if (absl::Status s = queries->Stop(); !s.ok()) {
      DR_LOG(ERROR) << "datarund: queries: " << s;
    }
    queries.reset();
  }
  metrics.Update();
  if (state_metrics != nullptr) {
    // The shutdown checkpoints and the last batches.
    (void)state_metrics->Update(**store, store->get());
  }
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
