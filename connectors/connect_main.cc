// datarun-connect: runs one department connector (source -> mapping ->
// validation -> idempotent producer) from a ConnectorConfig textproto.
//
//   datarun-connect --config=FILE [--exit_when_idle] [--metrics_bind=ADDR]
//
// Exit codes (as datarund and datarun): 0 after a clean stop; 2 for usage
// and configuration errors (bad flags, unreadable or invalid config,
// catalog or mapping, a metrics address it cannot listen on); 1 when
// running fails (a delivery failed for good, the source broke, a source
// that cannot be reached at start).
//
// SIGTERM / SIGINT stop it gracefully: reading stops, outstanding records
// are acknowledged and the position is committed. SIGKILL loses nothing
// either: the position only ever covers acknowledged rows, so a restart
// re-sends what was in flight (duplicates, never gaps).
#include <signal.h>

#include <atomic>
#include <cstdio>
#include <exception>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/reflection.h"
#include "absl/flags/usage.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "broker_adapters/broker.h"
#include "broker_adapters/kafka/kafka_broker.h"
#include "common/log.h"
#include "common/status_macros.h"
#include "connectors/connector.pb.h"
#include "connectors/file/file_source.h"
#include "connectors/mapping.h"
#include "connectors/pipeline.h"
#include "connectors/postgres/postgres_source.h"
#include "exchange/catalog/catalog.h"
#include "google/protobuf/text_format.h"
#include "prometheus/exposer.h"
#include "prometheus/registry.h"

ABSL_FLAG(std::string, config, "", "ConnectorConfig textproto (required)");
ABSL_FLAG(bool, exit_when_idle, false,
          "exit once the source has nothing more and everything is "
          "acknowledged and committed (file sources)");
ABSL_FLAG(std::string, metrics_bind, "0.0.0.0",
          "address /metrics binds to (with the config's metrics_port); "
          "127.0.0.1 keeps it local to the host");

namespace {

constexpr int kRuntimeError = 1;
constexpr int kUsageError = 2;

std::atomic<bool> g_stop{false};

void OnSignal(int) { g_stop.store(true); }

// The first argument naming a flag this program does not have, or "".
// Checked before absl::ParseCommandLine, which exits 1 for it: a usage
// error exits 2 here, as everywhere else.
std::string UnknownFlag(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    absl::string_view arg = argv[i];
    bool name_is_usage = false;
    if (arg == "--") break;
    if (arg.size() < 2 || arg[0] != '-') continue;
    arg.remove_prefix(arg[1] == '-' ? 2 : 1);
    const absl::string_view name = arg.substr(0, arg.find('='));
    if (absl::FindCommandLineFlag(name) != nullptr) continue;
    // Abseil's usage flags, which it handles without registering them.
    for (absl::string_view usage :
         {"help", "helpfull", "helpshort", "helppackage", "version",
          "only_check_args", "helpon", "helpmatch"}) {
      if (name == usage) name_is_usage = true;
    }
    if (name_is_usage) continue;
    if (absl::StartsWith(name, "no")) {
      const auto* flag = absl::FindCommandLineFlag(name.substr(2));
      if (flag != nullptr && flag->IsOfType<bool>()) continue;
    }
    return std::string(argv[i]);
  }
  return "";
}

std::string Resolve(const std::string& base_dir, const std::string& path) {
  if (path.empty() || path[0] == '/') return path;
  return absl::StrCat(base_dir, "/", path);
}

// Sets *exit_code to kUsageError for errors of the flags, the config and
// the files it names, kRuntimeError for everything after (and for a source
// that cannot be reached, which a restart may fix).
absl::Status Main(int* exit_code) {
  using datarun::connectors::v1::ConnectorConfig;
  *exit_code = kUsageError;
  const std::string path = absl::GetFlag(FLAGS_config);
  if (path.empty()) return absl::InvalidArgumentError("--config is required");
  std::ifstream in(path);
  if (!in) return absl::NotFoundError(absl::StrCat("cannot read ", path));
  std::stringstream text;
  text << in.rdbuf();
  ConnectorConfig config;
  if (!google::protobuf::TextFormat::ParseFromString(text.str(), &config)) {
    return absl::InvalidArgumentError(
        absl::StrCat(path,
                     ": not a ConnectorConfig textproto (see the "
                     "parser's message above)"));
  }
  const size_t slash = path.rfind('/');
  const std::string dir =
      slash == std::string::npos ? "." : path.substr(0, slash);
  if (config.department().empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat(path, ": department is required"));
  }
  if (config.brokers().empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat(path, ": brokers is required"));
  }

  ASSIGN_OR_RETURN(auto catalog_proto, datarun::catalog::LoadCatalog(
                                           Resolve(dir, config.catalog())));
  ASSIGN_OR_RETURN(auto catalog, datarun::catalog::CatalogIndex::Create(
                                     std::move(catalog_proto)));
  ASSIGN_OR_RETURN(auto mapping, datarun::connectors::LoadMapping(
                                     Resolve(dir, config.mapping())));
  ASSIGN_OR_RETURN(auto mapper, datarun::connectors::Mapper::Create(
                                    mapping, *catalog, config.department()));

  std::unique_ptr<datarun::connectors::Source> source;
  if (config.has_file()) {
    auto fc = config.file();
    fc.set_drop_dir(Resolve(dir, fc.drop_dir()));
    if (!fc.state_file().empty())
      fc.set_state_file(Resolve(dir, fc.state_file()));
    ASSIGN_OR_RETURN(
        source, datarun::connectors::FileSource::Create(fc, mapping.format()));
  } else if (config.has_postgres()) {
    if (mapping.format() != datarun::connectors::v1::FORMAT_POSTGRES) {
      return absl::InvalidArgumentError(
          "a postgres source needs a mapping with format: FORMAT_POSTGRES");
    }
    auto postgres =
        datarun::connectors::PostgresSource::Create(config.postgres());
    if (!postgres.ok()) {
      if (datarun::broker::IsRetriable(postgres.status())) {
        *exit_code = kRuntimeError;
      }
      return postgres.status();
    }
    source = *std::move(postgres);
  } else {
    return absl::InvalidArgumentError(
        absl::StrCat(path, ": a source (file or postgres) is required"));
  }

  auto registry = std::make_shared<prometheus::Registry>();
  std::unique_ptr<prometheus::Exposer> exposer;
  if (config.metrics_port() > 0) {
    const std::string address = absl::StrCat(absl::GetFlag(FLAGS_metrics_bind),
                                             ":", config.metrics_port());
    try {  // prometheus-cpp reports a bad or busy address only by throwing
      exposer = std::make_unique<prometheus::Exposer>(address);
    } catch (const std::exception& e) {
      return absl::InvalidArgumentError(
          absl::StrCat(path, ": metrics_port: cannot listen on ", address,
                       " (--metrics_bind): ", e.what()));
    }
    exposer->RegisterCollectable(registry);
  }

  // Last: an unreachable bus is not a configuration error (exit 1, a
  // supervisor retries), bad Kafka properties are.
  datarun::broker::KafkaConfig kc;
  kc.bootstrap = config.brokers();
  for (const auto& [k, v] : config.kafka_properties()) kc.properties[k] = v;
  auto broker = datarun::broker::NewKafkaBroker(kc);
  if (!broker.ok()) {
    if (datarun::broker::IsRetriable(broker.status())) {
      *exit_code = kRuntimeError;
    }
    return broker.status();
  }
  // Declared before the producer, which reports to it until destroyed.
  datarun::connectors::PipelineDeliveries deliveries;
  datarun::broker::ProducerOptions po;
  po.client_id = absl::StrCat("datarun-connect-", config.department());
  po.delivery_sink = &deliveries;
  ASSIGN_OR_RETURN(auto producer, (*broker)->NewProducer(po));
  datarun::connectors::PipelineOptions options;
  options.deliveries = &deliveries;
  options.max_rows_per_second = config.max_rows_per_second();
  if (config.commit_interval_ms() > 0) {
    options.commit_interval = absl::Milliseconds(config.commit_interval_ms());
  }
  datarun::connectors::Pipeline pipeline(source.get(), mapper.get(),
                                         producer.get(), *registry, options);
  DR_LOG(INFO) << "datarun-connect: department " << config.department()
               << " -> " << mapper->topic() << " via " << config.brokers();
  *exit_code = kRuntimeError;
  const absl::Time start = absl::Now();
  absl::Status status =
      pipeline.Run(g_stop, absl::GetFlag(FLAGS_exit_when_idle));
  const auto c = pipeline.counters();
  const double secs = absl::ToDoubleSeconds(absl::Now() - start);
  std::printf("rows=%llu published=%llu dlq=%llu failed=%llu seconds=%.3f\n",
              static_cast<unsigned long long>(c.rows),
              static_cast<unsigned long long>(c.published),
              static_cast<unsigned long long>(c.dlq),
              static_cast<unsigned long long>(c.failed), secs);
  std::fflush(stdout);
  return status;
}

}  // namespace

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage(
      "datarun-connect --config=FILE [--exit_when_idle] "
      "[--metrics_bind=ADDR]: publish a department's rows to the bus");
  if (const std::string bad = UnknownFlag(argc, argv); !bad.empty()) {
    std::fprintf(stderr, "datarun-connect: unknown flag '%s' (see --help)\n",
                 bad.c_str());
    return kUsageError;
  }
  const std::vector<char*> rest = absl::ParseCommandLine(argc, argv);
  if (rest.size() > 1) {
    std::fprintf(stderr,
                 "datarun-connect: unexpected argument '%s' (flags are "
                 "--name=value; see --help)\n",
                 rest[1]);
    return kUsageError;
  }
  // Debian's Abseil is built without NDEBUG, so absl::Mutex would run its
  // global deadlock detector on every lock (the producer takes one per
  // delivered record), as datarund also turns off.
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
  struct sigaction sa = {};
  sa.sa_handler = OnSignal;
  sigaction(SIGTERM, &sa, nullptr);
  sigaction(SIGINT, &sa, nullptr);
  int exit_code = kRuntimeError;
  absl::Status status = Main(&exit_code);
  if (!status.ok()) {
    std::fprintf(stderr, "datarun-connect: %s\n", status.ToString().c_str());
    return exit_code;
  }
  return 0;
}
