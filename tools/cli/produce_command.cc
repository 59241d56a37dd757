// `datarun produce --brokers=HOST:PORT --as=DEPT [--catalog=FILE]
//  --file=records.jsonl|- [--timeout=10s]`
//
// Publishes records by hand as department DEPT ("publish these 3 corrected
// records"): reads JSON lines (a Record each, or a `datarun replay` line of
// a dr.data topic, so replay | edit | produce round-trips), checks every
// one like the connector SDK does (tools/cli/produce_input.h), and only if
// the whole file is valid sends them with an idempotent, acks=all producer
// to their class topics, keyed and partitioned as the SDK and connectors
// key them (the SDK builds every envelope). Prints one JSON line per
// acknowledged record (input line, topic, partition, offset).
//
// All or nothing before sending: an invalid line (reported with its line
// number) means nothing is published, exit 2. Exit 0 only after every
// record was acknowledged; 1 when the bus is unreachable, a class topic is
// missing, or some record was not acknowledged within --timeout (the
// acknowledged ones stay published: re-running is harmless because the
// exchange ignores versions it already has). See docs/cli.md.
#include <algorithm>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "broker_adapters/kafka/kafka_broker.h"
#include "exchange/catalog/catalog.h"
#include "tools/cli/command.h"
#include "tools/cli/common_flags.h"
#include "tools/cli/produce_input.h"
#include "tools/cli/replay_decode.h"

ABSL_FLAG(std::string, file, "",
          "produce: JSON lines of records to publish ('-': standard input)");

namespace datarun::cli {
namespace {

constexpr int kOk = 0;
constexpr int kFailed = 1;
constexpr int kUsage = 2;

int UsageError(absl::string_view message) {
  std::fprintf(stderr, "error: %.*s\n", static_cast<int>(message.size()),
               message.data());
  std::fprintf(stderr,
               "usage: datarun produce --brokers=HOST:PORT --as=DEPT "
               "[--catalog=FILE] --file=records.jsonl|- [--timeout=10s]\n");
  return kUsage;
}

int Failure(absl::string_view message) {
  std::fprintf(stderr, "error: %.*s\n", static_cast<int>(message.size()),
               message.data());
  return kFailed;
}

// Delivery outcomes, from the producer's thread.
class Outcomes {
 public:
  void Record(const PreparedRecord& r,
              const absl::StatusOr<broker::DeliveryReport>& result) {
    absl::MutexLock lock(&mu_);
    if (result.ok()) {
      ++acked_;
      lines_.emplace_back(r.line,
                          absl::StrCat("{\"line\":", r.line,
                                       ",\"topic\":", JsonQuote(result->topic),
                                       ",\"partition\":", result->partition,
                                       ",\"offset\":", result->offset, "}"));
    } else {
      failures_.push_back(
          absl::StrCat("line ", r.line, ": ", result.status().ToString()));
    }
  }
  // Prints the acknowledged records in input order (deliveries to
  // several partitions complete in any order); returns how many.
  size_t Print() {
    absl::MutexLock lock(&mu_);
    std::sort(lines_.begin(), lines_.end());
    for (const auto& [line, json] : lines_) std::printf("%s\n", json.c_str());
    return acked_;
  }
  std::vector<std::string> failures() {
    absl::MutexLock lock(&mu_);
    return failures_;
  }

 private:
  absl::Mutex mu_;
  size_t acked_ ABSL_GUARDED_BY(mu_) = 0;
  std::vector<std::pair<int, std::string>> lines_ ABSL_GUARDED_BY(mu_);
  std::vector<std::string> failures_ ABSL_GUARDED_BY(mu_);
};

int RunProduce(const std::vector<std::string>& args) {
  if (!args.empty()) {
    return UsageError(absl::StrCat("unexpected argument '", args[0], "'"));
  }
  const std::string brokers = absl::GetFlag(FLAGS_brokers);
  if (brokers.empty()) return UsageError("--brokers is required");
  const std::string as = absl::GetFlag(FLAGS_as);
  if (as.empty()) {
    return UsageError("--as (the publishing department) is required");
  }
  const std::string file = absl::GetFlag(FLAGS_file);
  if (file.empty()) {
    return UsageError("--file is required (a JSON-lines file, or - for stdin)");
  }
  const absl::Duration timeout = absl::GetFlag(FLAGS_timeout);
  if (timeout <= absl::ZeroDuration()) {
    return UsageError("--timeout must be positive");
  }
  auto loaded = catalog::LoadCatalog(absl::GetFlag(FLAGS_catalog));
  if (!loaded.ok()) {
    return UsageError(absl::StrCat("--catalog: ", loaded.status().message()));
  }
  auto index = catalog::CatalogIndex::Create(*std::move(loaded));
  if (!index.ok()) {
    return UsageError(absl::StrCat("--catalog: ", index.status().message()));
  }
  if ((*index)->FindDepartment(as) == nullptr) {
    return UsageError(
        absl::StrCat("--as=", as, ": no such department in the catalog"));
  }

  std::ifstream in_file;
  if (file != "-") {
    in_file.open(file);
    if (!in_file) {
      return UsageError(absl::StrCat("--file=", file, ": cannot be read"));
    }
  }
  std::istream& in = file == "-" ? std::cin : in_file;
  auto prepared = PrepareRecords(**index, as, in);
  if (!prepared.ok()) return UsageError(prepared.status().message());
  const std::string source = file == "-" ? "stdin" : file;
  if (!prepared->errors.empty()) {
    for (const auto& e : prepared->errors) {
      std::fprintf(stderr, "error: %s: %s\n", source.c_str(), e.c_str());
    }
    std::fprintf(stderr, "nothing published: fix the lines above\n");
    return kUsage;
  }
  if (prepared->records.empty()) {
    std::fprintf(stderr, "%s: no records, nothing published\n", source.c_str());
    return kOk;
  }

  broker::KafkaConfig config;
  config.bootstrap = brokers;
  config.connect_timeout = timeout;
  auto bus = broker::NewKafkaBroker(config);
  if (!bus.ok()) return Failure(bus.status().ToString());
  // Topics are never auto-created: a missing one is named now rather than
  // after the delivery timeout.
  auto admin = (*bus)->NewAdmin();
  if (!admin.ok()) return Failure(admin.status().ToString());
  auto topics = (*admin)->ListTopics(timeout);
  if (!topics.ok()) return Failure(topics.status().ToString());
  std::set<std::string> existing;
  for (const auto& t : *topics) existing.insert(t.name);
  for (const auto& r : prepared->records) {
    if (existing.count(r.topic) == 0) {
      return Failure(absl::StrCat("line ", r.line, ": the bus has no topic ",
                                  r.topic, "; nothing published"));
    }
  }

  broker::ProducerOptions po;
  po.client_id = absl::StrCat("datarun-produce-", as);
  // The adapter's defaults: idempotent, acks=all. Bounded delivery.
  po.properties = {
      {"message.timeout.ms", absl::StrCat(absl::ToInt64Milliseconds(timeout))}};
  Outcomes outcomes;  // outlives the producer and its callbacks
  auto producer = (*bus)->NewProducer(po);
  if (!producer.ok()) return Failure(producer.status().ToString());
  for (const PreparedRecord& r : prepared->records) {
    broker::OutgoingMessage m;
    m.topic = r.topic;
    m.key = r.key;
    m.value = r.value;
    m.headers = &r.headers;
    absl::Status st = (*producer)->Send(
        m, [&outcomes, &r](const absl::StatusOr<broker::DeliveryReport>& d) {
          outcomes.Record(r, d);
        });
    if (!st.ok()) {
      outcomes.Record(r, st);
    }
  }
  absl::Status flushed = (*producer)->Flush(timeout + absl::Seconds(5));
  const size_t acked = outcomes.Print();
  std::fflush(stdout);
  std::vector<std::string> failures = outcomes.failures();
  if (!flushed.ok()) {
    failures.push_back(absl::StrCat("flush: ", flushed.ToString()));
  }
  if (!failures.empty() || acked != prepared->records.size()) {
    for (const auto& f : failures)
      std::fprintf(stderr, "error: %s\n", f.c_str());
    return Failure(absl::StrCat(acked, " of ", prepared->records.size(),
                                " records acknowledged"));
  }
  std::fprintf(stderr, "published %zu record%s as %s\n", acked,
               acked == 1 ? "" : "s", as.c_str());
  return kOk;
}

}  // namespace

DATARUN_REGISTER_COMMAND(
    "produce",
    "publish JSON records as a department (checked like the connector SDK; "
    "all or nothing)",
    RunProduce);

}  // namespace datarun::cli
