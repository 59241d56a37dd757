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
// file). Consumers return key, value and headers (kcat prints them to
// /dev/null). Rounds alternate which side goes first; the best round of
// each side is reported.
//
// What is timed: produce, from creating the client to the last
// acknowledgement (kcat: process start to exit, which includes its final
// flush). Consume, adapter: from partition assignment to the last record
// (the embedded cluster's 3 s initial group-join delay is excluded); kcat:
// process start to exit with -e, as a plain (group-less) consumer; kcat -G:
// the same in a consumer group, minus the adapter's join time of the round.
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

std::map<std::string, std::string> ConsumerProperties() {
  std::map<std::string, std::string> out;
  for (absl::string_view kv : absl::StrSplit(
           absl::GetFlag(FLAGS_consumer_properties), ',', absl::SkipEmpty())) {
    std::pair<std::string, std::string> p = absl::StrSplit(kv, '=');
    out[p.first] = p.second;
  }
  return out;
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

absl::Duration AdapterProduce(Broker& broker, const std::string& topic,
                              const Records& r) {
  const absl::Time start = absl::Now();
  auto producer = broker.NewProducer({}).value();
  std::atomic<int64_t> failed{0};
  const Headers headers = {{"dr-type", "datarun.v1.Household"}};
  for (size_t i = 0; i < r.keys.size(); ++i) {
    absl::Status s =
        producer->Send({topic, r.keys[i], r.values[i], &headers},
                       [&failed](const absl::StatusOr<DeliveryReport>& d) {
                         if (!d.ok())
                           failed.fetch_add(1, std::memory_order_relaxed);
                       });
    if (!s.ok()) {
      std::fprintf(stderr, "send: %s\n", s.ToString().c_str());
      std::exit(1);
    }
  }
  absl::Status s = producer->Flush(absl::Minutes(5));
  const absl::Duration took = absl::Now() - start;
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
  // value and headers are all read, as kcat prints them (%k%s%h).
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
      for (const auto& [name, value] : batch->headers(i)) {
        bytes += name.size() + value.size();
      }
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
  for (int round = 0; round < absl::GetFlag(FLAGS_rounds); ++round) {
    // Fresh topics each round: the embedded cluster never deletes.
    const std::string ta = absl::StrCat("bench.adapter.", round);
    const std::string tk = absl::StrCat("bench.kcat.", round);
    if (!cluster->CreateTopics({ta, tk}, partitions).ok()) return 1;
    // Produce, each into its own topic; the order alternates per round.
    absl::Duration kp, ap;
    if (round % 2 == 0) {
      kp = RunShell(absl::StrCat(kcat, " -q -b ", b, " -P -t ", tk, " -K '\t'",
                                 " -H dr-type=datarun.v1.Household",
                                 kKcatProducerFlags, " < ", input));
      ap = AdapterProduce(*broker, ta, records);
    } else {
      ap = AdapterProduce(*broker, ta, records);
      kp = RunShell(absl::StrCat(kcat, " -q -b ", b, " -P -t ", tk, " -K '\t'",
                                 " -H dr-type=datarun.v1.Household",
                                 kKcatProducerFlags, " < ", input));
    }
    // Consume the same topic (the adapter's records) both ways.
    const std::string kcat_consume_cmd =
        absl::StrCat(kcat, " -q -b ", b, " -C -t ", ta,
                     " -o beginning -e -f '%k%s%h\\n' > /dev/null");
    absl::Duration kc, ac, join;
    if (round % 2 == 0) {
      kc = RunShell(kcat_consume_cmd);
      ac = AdapterConsume(*broker, ta, n, &join);
    } else {
      ac = AdapterConsume(*broker, ta, n, &join);
      kc = RunShell(kcat_consume_cmd);
    }
    std::printf(
        "round %d: produce adapter %.2fs kcat %.2fs, consume adapter %.2fs "
        "kcat %.2fs\n",
        round, Seconds(ap), Seconds(kp), Seconds(ac), Seconds(kc));
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
  std::remove(input.c_str());
  rmdir(dir.c_str());
  std::printf(
      "adapter_produce_per_s=%.0f kcat_produce_per_s=%.0f "
      "adapter_consume_per_s=%.0f kcat_consume_per_s=%.0f "
      "kcat_group_consume_per_s=%.0f\n",
      ap, kp, ac, kc, kg);
  return 0;
}
