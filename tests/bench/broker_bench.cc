// Broker throughput: produces and consumes N records of ~200 bytes over the
// embedded cluster through the Kafka adapter (broker_adapters/kafka) and
// through kcat with the same librdkafka settings, in the same run, and
// prints
//   adapter_produce_per_s=... kcat_produce_per_s=... adapter_consume_per_s=...
//   kcat_consume_per_s=...
// as the last line, followed by kcat_group_consume_per_s (kcat in a consumer
// group, see below). Target: the adapter at >= 90% of kcat both ways.
//
// Build, then run from bazel-bin so the Bazel lock stays free:
//   bazel build //tests/bench:broker && bazel-bin/tests/bench/broker
//
// Both clients produce with the adapter's settings (idempotent, acks=all,
// lz4, linger 5 ms, murmur2) from the same records (kcat reads them from a
// file). The adapter produces as a connector would: Producer::SendRecord
// with one header and a per-producer DeliverySink that counts outcomes
// (--legacy_send: Send with a DeliveryCallback per record). Consumers
// return key, value and headers (kcat prints them to /dev/null). Rounds
// alternate which side goes first; the best round of each side is reported.
// Each round also prints CPU per record of each client (the mock brokers'
// threads taken out of the adapter's, kcat's from its rusage) and context
// switches, which the machine's other work does not distort the way it
// distorts wall time.
//
// What is timed: produce, from creating the client to the last
// acknowledgement (kcat: process start to exit, which includes its final
// flush). Consume, adapter: from partition assignment to the last record
// (the embedded cluster's 3 s initial group-join delay is excluded); kcat:
// process start to exit with -e, as a plain (group-less) consumer; kcat -G:
// the same in a consumer group, minus the adapter's join time of the round.
#include <dirent.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "broker_adapters/embedded/embedded_cluster.h"
#include "broker_adapters/kafka/kafka_broker.h"
#include "tests/bench/bench_properties.h"

ABSL_FLAG(int, records, 1000000, "records per run");
ABSL_FLAG(int, partitions, 64,
          "partitions per topic (the embedded cluster keeps ~5 MiB per "
          "partition, so records*bytes must fit in partitions*5 MiB)");
ABSL_FLAG(int, value_bytes, 182, "value size (the key adds 18)");
ABSL_FLAG(int, rounds, 3,
          "rounds, interleaved; the best round of each side is reported "
          "(the machine is shared, the best round is the least disturbed)");
ABSL_FLAG(std::string, kcat, "/usr/bin/kcat", "kcat binary");
ABSL_FLAG(std::string, consumer_properties, "",
          "extra librdkafka properties of the adapter's consumer, k=v,k=v");
ABSL_FLAG(bool, legacy_send, false,
          "adapter produces with Send(OutgoingMessage, DeliveryCallback) "
          "instead of SendRecord + DeliverySink (for comparing the two)");

namespace datarun::broker {
namespace {

// The producer settings of the adapter (kafka_broker.h), given to kcat too
// so that both measure the same protocol work.
constexpr char kKcatProducerFlags[] =
    " -X enable.idempotence=true -X acks=all -X compression.type=lz4"
    " -X linger.ms=5 -X batch.size=1048576 -X batch.num.messages=10000"
    " -X topic.partitioner=murmur2_random";

struct Records {
  std::vector<std::string> keys, values;
  size_t bytes = 0;
};

Records Generate(int n, int value_bytes) {
  Records r;
  r.keys.reserve(n);
  r.values.reserve(n);
  uint64_t x = 0x9e3779b97f4a7c15ULL;
  auto next = [&x] {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return x;
  };
  static const char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789 ,:\"{}";
  for (int i = 0; i < n; ++i) {
    r.keys.push_back(absl::StrFormat("330106%012d", next() % 1000000000000));
    std::string v(value_bytes, ' ');
    // Half random, half repeated field names: compresses like a protobuf
    // record (~1.5x), not like zeros.
    for (int j = 0; j < value_bytes; ++j) {
      v[j] = j % 2 == 0 ? kAlphabet[next() % (sizeof(kAlphabet) - 1)]
                        : "household_address"[j % 17];
    }
    r.bytes += r.keys.back().size() + v.size();
    r.values.push_back(std::move(v));
  }
  return r;
}

double Seconds(absl::Duration d) { return absl::ToDoubleSeconds(d); }

// CPU time, to compare clients by work per record rather than by wall time
// on a shared machine. The embedded cluster's mock brokers run on threads
// of this process ("rdk:mock"); their CPU is the broker's, not the
// client's, so it is taken out of the adapter's figure (kcat, a child
// process, never had it).
int64_t RusageNanos(int who) {
  struct rusage ru;
  getrusage(who, &ru);
  return (ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000000000LL +
         (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) * 1000LL;
}

// Context switches of this process and its exited children.
int64_t ContextSwitches() {
  struct rusage self, children;
  getrusage(RUSAGE_SELF, &self);
  getrusage(RUSAGE_CHILDREN, &children);
  return self.ru_nvcsw + self.ru_nivcsw + children.ru_nvcsw +
         children.ru_nivcsw;
}

int64_t MockThreadsNanos() {
  int64_t total = 0;
  DIR* dir = opendir("/proc/self/task");
  if (dir == nullptr) return 0;
  while (dirent* e = readdir(dir)) {
    if (e->d_name[0] == '.') continue;
    const std::string task = absl::StrCat("/proc/self/task/", e->d_name);
    std::ifstream comm(task + "/comm");
    std::string name;
    std::getline(comm, name);
    if (name.rfind("rdk:mock", 0) != 0) continue;
    std::ifstream schedstat(task + "/schedstat");
    int64_t ns = 0;
    schedstat >> ns;  // first field: time on a CPU, in ns
    total += ns;
  }
  closedir(dir);
  return total;
}

// CPU of this process's clients (not the mock brokers), and of the children
// (kcat) that have exited, since construction.
class CpuMeter {
 public:
  CpuMeter()
      : self_(RusageNanos(RUSAGE_SELF)),
        mock_(MockThreadsNanos()),
        children_(RusageNanos(RUSAGE_CHILDREN)),
        switches_(ContextSwitches()) {}
  // Client and mock brokers together, either side.
  int64_t Switches() const { return ContextSwitches() - switches_; }
  double ClientMicros() const {
    return ((RusageNanos(RUSAGE_SELF) - self_) - (MockThreadsNanos() - mock_)) /
           1e3;
  }
  double ChildrenMicros() const {
    return (RusageNanos(RUSAGE_CHILDREN) - children_) / 1e3;
  }

 private:
  int64_t self_, mock_, children_, switches_;
};

std::map<std::string, std::string> ConsumerProperties() {
  return datarun::bench::ParseProperties(
      absl::GetFlag(FLAGS_consumer_properties), ',');
}

absl::Duration RunShell(const std::string& command) {
  const absl::Time start = absl::Now();
  const int rc = std::system(command.c_str());
  const absl::Duration took = absl::Now() - start;
  if (rc != 0) {
    std::fprintf(stderr, "command failed (%d): %s\n", rc, command.c_str());
    std::exit(1);
  }
  return took;
}

// Counts outcomes, as a sender that only needs to know that everything
// arrived would; a connector would look the opaque up in its own table.
class CountingSink : public DeliverySink {
 public:
  void OnDelivery(void*, absl::string_view, int32_t, int64_t,
                  const absl::Status& status) override {
    if (!status.ok()) failed.fetch_add(1, std::memory_order_relaxed);
    delivered.fetch_add(1, std::memory_order_relaxed);
  }
  std::atomic<int64_t> failed{0}, delivered{0};
};

absl::Duration AdapterProduce(Broker& broker, const std::string& topic,
                              const Records& r) {
  const absl::Time start = absl::Now();
  CountingSink sink;
  auto producer = broker.NewProducer({.delivery_sink = &sink}).value();
  std::atomic<int64_t> failed{0};
  const bool legacy = absl::GetFlag(FLAGS_legacy_send);
  const Headers headers = {{"dr-type", "datarun.v1.Household"}};
  const RecordHeader record_headers[] = {{"dr-type", "datarun.v1.Household"}};
  for (size_t i = 0; i < r.keys.size(); ++i) {
    absl::Status s =
        legacy ? producer->Send(
                     {topic, r.keys[i], r.values[i], &headers},
                     [&failed](const absl::StatusOr<DeliveryReport>& d) {
                       if (!d.ok())
                         failed.fetch_add(1, std::memory_order_relaxed);
                     })
               : producer->SendRecord(
                     {topic, r.keys[i], r.values[i], record_headers},
                     reinterpret_cast<void*>(static_cast<uintptr_t>(i)));
    if (!s.ok()) {
      std::fprintf(stderr, "send: %s\n", s.ToString().c_str());
      std::exit(1);
    }
  }
  const absl::Time sent = absl::Now();
  absl::Status s = producer->Flush(absl::Minutes(5));
  const absl::Duration took = absl::Now() - start;
  std::printf("adapter produce: create+send %.2fs, flush %.2fs\n",
              Seconds(sent - start), Seconds(took - (sent - start)));
  failed += sink.failed.load();
  if (!legacy && sink.delivered.load() != static_cast<int64_t>(r.keys.size())) {
    std::fprintf(stderr, "%lld of %zu deliveries reported\n",
                 static_cast<long long>(sink.delivered.load()), r.keys.size());
    std::exit(1);
  }
  if (!s.ok() || failed.load() != 0) {
    std::fprintf(stderr, "flush: %s, %lld failed deliveries\n",
                 s.ToString().c_str(), static_cast<long long>(failed.load()));
    std::exit(1);
  }
  return took;
}

class StartClock : public RebalanceHandler {
 public:
  absl::flat_hash_map<TopicPartition, int64_t> OnAssigned(
      const std::vector<TopicPartition>&) override {
    assigned_at = absl::Now();
    return {};
  }
  void OnRevoked(const std::vector<TopicPartition>&) override {}
  absl::Time assigned_at = absl::InfiniteFuture();
};

// Also returns, in *join, how long the group join took (subscribe to
// assignment).
absl::Duration AdapterConsume(Broker& broker, const std::string& topic,
                              size_t expected, absl::Duration* join) {
  StartClock clock;
  const absl::Time subscribed = absl::Now();
  auto consumer = broker
                      .NewConsumer({.group_id = absl::StrCat("bench-", topic),
                                    .properties = ConsumerProperties()})
                      .value();
  if (!consumer->Subscribe({topic}, &clock).ok()) std::exit(1);
  // PollBatch (views, no copies), as the exchange's ingest consumes; key,
  // value and headers (VisitHeaders, views too) are all read, as kcat prints
  // them (%k%s%h).
  std::unique_ptr<PolledBatch> batch;
  size_t got = 0, bytes = 0;
  const absl::Time give_up = absl::Now() + absl::Minutes(5);
  while (got < expected && absl::Now() < give_up) {
    absl::Status s =
        consumer->PollBatch(10000, absl::Milliseconds(100), &batch);
    if (!s.ok()) {
      std::fprintf(stderr, "poll: %s\n", s.ToString().c_str());
      std::exit(1);
    }
    got += batch->size();
    for (size_t i = 0; i < batch->size(); ++i) {
      const MessageView& m = batch->messages()[i];
      bytes += m.key.size() + m.value.size();
      batch->VisitHeaders(
          i, [&bytes](absl::string_view name, absl::string_view value) {
            bytes += name.size() + value.size();
          });
    }
  }
  batch.reset();
  const absl::Duration took = absl::Now() - clock.assigned_at;
  *join = clock.assigned_at - subscribed;
  if (got != expected) {
    std::fprintf(stderr, "adapter consumed %zu of %zu records\n", got,
                 expected);
    std::exit(1);
  }
  return took;
}

}  // namespace
}  // namespace datarun::broker

int main(int argc, char** argv) {
  using namespace datarun::broker;  // NOLINT: a benchmark main
  absl::ParseCommandLine(argc, argv);
  const int n = absl::GetFlag(FLAGS_records);
  const int partitions = absl::GetFlag(FLAGS_partitions);
  const std::string kcat = absl::GetFlag(FLAGS_kcat);
  if (access(kcat.c_str(), X_OK) != 0) {
    std::fprintf(stderr, "%s missing: run tools/setup\n", kcat.c_str());
    return 1;
  }

  const Records records = Generate(n, absl::GetFlag(FLAGS_value_bytes));
  std::printf("records=%d avg_bytes=%.0f partitions=%d\n", n,
              static_cast<double>(records.bytes) / n, partitions);
  char dir_template[] = "/tmp/broker_bench.XXXXXX";
  const std::string dir = mkdtemp(dir_template);
  const std::string input = dir + "/records.tsv";
  {
    std::ofstream out(input, std::ios::binary);
    for (int i = 0; i < n; ++i) {
      out << records.keys[i] << '\t' << records.values[i] << '\n';
    }
  }

  auto cluster = EmbeddedCluster::Start(1).value();
  auto broker = NewKafkaBroker({.bootstrap = cluster->bootstrap()}).value();
  const std::string b = cluster->bootstrap();

  absl::Duration best[5] = {absl::InfiniteDuration(), absl::InfiniteDuration(),
                            absl::InfiniteDuration(), absl::InfiniteDuration(),
                            absl::InfiniteDuration()};
  double best_cpu[4] = {1e9, 1e9, 1e9, 1e9};
  for (int round = 0; round < absl::GetFlag(FLAGS_rounds); ++round) {
    // Fresh topics each round: the embedded cluster never deletes.
    const std::string ta = absl::StrCat("bench.adapter.", round);
    const std::string tk = absl::StrCat("bench.kcat.", round);
    if (!cluster->CreateTopics({ta, tk}, partitions).ok()) return 1;
    // Produce, each into its own topic; the order alternates per round.
    absl::Duration kp, ap;
    // Per record, adapter/kcat produce then adapter/kcat consume: CPU us and
    // context switches (per 1000 records; clients and mock brokers).
    double cpu[4], csw[4];
    const std::string kcat_produce_cmd = absl::StrCat(
        kcat, " -q -b ", b, " -P -t ", tk, " -K '\t'",
        " -H dr-type=datarun.v1.Household", kKcatProducerFlags, " < ", input);
    auto adapter_produce = [&] {
      CpuMeter m;
      ap = AdapterProduce(*broker, ta, records);
      cpu[0] = m.ClientMicros() / n;
      csw[0] = m.Switches() * 1000.0 / n;
    };
    auto kcat_produce = [&] {
      CpuMeter m;
      kp = RunShell(kcat_produce_cmd);
      cpu[1] = m.ChildrenMicros() / n;
      csw[1] = m.Switches() * 1000.0 / n;
    };
    if (round % 2 == 0) {
      kcat_produce();
      adapter_produce();
    } else {
      adapter_produce();
      kcat_produce();
    }
    // Consume the same topic (the adapter's records) both ways.
    const std::string kcat_consume_cmd =
        absl::StrCat(kcat, " -q -b ", b, " -C -t ", ta,
                     " -o beginning -e -f '%k%s%h\\n' > /dev/null");
    absl::Duration kc, ac, join;
    auto adapter_consume = [&] {
      CpuMeter m;
      ac = AdapterConsume(*broker, ta, n, &join);
      cpu[2] = m.ClientMicros() / n;
      csw[2] = m.Switches() * 1000.0 / n;
    };
    auto kcat_consume = [&] {
      CpuMeter m;
      kc = RunShell(kcat_consume_cmd);
      cpu[3] = m.ChildrenMicros() / n;
      csw[3] = m.Switches() * 1000.0 / n;
    };
    if (round % 2 == 0) {
      kcat_consume();
      adapter_consume();
    } else {
      adapter_consume();
      kcat_consume();
    }
    std::printf(
        "round %d: produce adapter %.2fs kcat %.2fs, consume adapter %.2fs "
        "kcat %.2fs\n",
        round, Seconds(ap), Seconds(kp), Seconds(ac), Seconds(kc));
    std::printf(
        "round %d: CPU us/record: produce adapter %.2f kcat %.2f, consume "
        "adapter %.2f kcat %.2f; context switches/1k records: produce "
        "adapter %.0f kcat %.0f, consume adapter %.0f kcat %.0f\n",
        round, cpu[0], cpu[1], cpu[2], cpu[3], csw[0], csw[1], csw[2], csw[3]);
    for (int i = 0; i < 4; ++i) best_cpu[i] = std::min(best_cpu[i], cpu[i]);
    std::fflush(stdout);
    best[0] = std::min(best[0], ap);
    best[1] = std::min(best[1], kp);
    best[2] = std::min(best[2], ac);
    best[3] = std::min(best[3], kc);
    // Second consume reference: kcat in a consumer group (-G), the same
    // librdkafka high-level consumer the adapter wraps. Its group join is
    // not visible from outside, so the adapter's join time of this round
    // (the same 3 s initial delay of the mock) is subtracted: an estimate.
    const absl::Duration kg =
        RunShell(absl::StrCat(kcat, " -q -b ", b, " -G bench-kcat-", round, " ",
                              ta,
                              " -X auto.offset.reset=earliest -e"
                              " -f '%k%s%h\\n' > /dev/null")) -
        join;
    std::printf("round %d: kcat -G consume %.2fs (join %.2fs subtracted)\n",
                round, Seconds(kg), Seconds(join));
    std::fflush(stdout);
    best[4] = std::min(best[4], kg);
  }
  const double ap = n / Seconds(best[0]);
  const double kp = n / Seconds(best[1]);
  const double ac = n / Seconds(best[2]);
  const double kc = n / Seconds(best[3]);
  const double kg = n / Seconds(best[4]);
  std::printf(
      "best: produce ratio %.2f, consume ratio %.2f (vs kcat -G %.2f)\n",
      ap / kp, ac / kc, ac / kg);
  // CPU per record of the clients (lowest round each): what each side costs
  // a core, independent of what else the machine is doing.
  std::printf(
      "best CPU us/record: produce adapter %.2f kcat %.2f (ratio %.2f), "
      "consume adapter %.2f kcat %.2f (ratio %.2f)\n",
      best_cpu[0], best_cpu[1], best_cpu[1] / best_cpu[0], best_cpu[2],
      best_cpu[3], best_cpu[3] / best_cpu[2]);
  std::remove(input.c_str());
  rmdir(dir.c_str());
  std::printf(
      "adapter_produce_per_s=%.0f kcat_produce_per_s=%.0f "
      "adapter_consume_per_s=%.0f kcat_consume_per_s=%.0f "
      "kcat_group_consume_per_s=%.0f\n",
      ap, kp, ac, kc, kg);
  return 0;
}
