// Benchmark: queries over the embedded bus — request/reply through
// QueryClient -> dr.query.req -> QueryServer (IngestGate, resolver with
// policy, masking, provenance, audit link acknowledged by dr.audit) ->
// dr.query.resp.<dept> — against a raw produce -> consume -> produce ->
// consume echo over the same cluster, with the same client settings and
// concurrency, measured in the same run.
//
//   bazel build //tests/bench:query_bus
//   bazel-bin/tests/bench/query_bus --subjects=2000 --threads=64 --seconds=5
//   (from the repository root: the catalog paths are relative)
//
// Each mode (--modes: batch-signed, single-signed, unsigned requests) runs
// on a fresh exchange and cluster: the bus phase, then the raw echo on the
// same cluster. Both phases run `--threads` closed-loop callers (each sends
// one request and waits for its answer); latency is per request, send to
// answer. Last line: bus_per_s=... bus_p99_ms=... raw_roundtrip_per_s=...
// raw_p99_ms=... bus_vs_raw=... of the first mode, then <mode>_per_s,
// <mode>_p99_ms and <mode>_raw_per_s of every mode.
#include <stdlib.h>
#include <sys/resource.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "broker_adapters/broker.h"
#include "exchange/policy/policy.h"
#include "exchange/policy/testing/fixture.h"
#include "exchange/query/client/query_client.h"
#include "exchange/query/query_trace.h"
#include "exchange/query/testing/bus_exchange.h"
#include "proto/datarun/v1/departments/public_security.pb.h"
#include "tests/bench/bench_properties.h"
#include "tests/bench/closed_loop.h"

ABSL_FLAG(int, subjects, 2000, "citizens published and queried");
ABSL_FLAG(int, threads, 64, "closed-loop callers per phase");
ABSL_FLAG(double, seconds, 5, "measuring time per phase");
ABSL_FLAG(int, partitions, 4, "partitions of every topic");
ABSL_FLAG(int, response_partitions, 0,
          "partitions of the response topics, also of the echo's response "
          "topic (0: --partitions)");
ABSL_FLAG(int, workers, 32, "query server worker threads");
ABSL_FLAG(int, fetch_wait_ms, 1,
          "fetch.wait.max.ms of every consumer (both phases)");
ABSL_FLAG(int, linger_ms, 1, "linger.ms of every producer (both phases)");
ABSL_FLAG(std::string, modes, "batch,unsigned",
          "comma-separated runs, each on a fresh exchange and cluster: "
          "batch (Ed25519, the client signs each batch of concurrent requests "
          "once, the exchange verifies each batch root once), single (one "
          "Ed25519 signature per request, verified per request), unsigned "
          "(PolicyOptions::verify_signatures=false: a transport that "
          "authenticates departments)");
ABSL_FLAG(double, paced_rate, 0,
          "if > 0: after the closed-loop phase, a paced phase at this many "
          "requests/s in total (the callers send on a fixed schedule; "
          "latency counts from the scheduled send, so falling behind shows "
          "as latency): p50/p99 at a load below saturation");
ABSL_FLAG(bool, paced_after_closed, false,
          "run each paced phase (bus and echo alike) after its closed loop "
          "instead of before: the embedded cluster's fetch scans a "
          "partition's retained message sets from the oldest (librdkafka "
          "2.0.2 mock, no offset index), so a phase after the closed loop "
          "reads topics holding its ~20k message sets");
ABSL_FLAG(double, sign_linger_ms, 1,
          "batch mode: how long the client's signer waits for requests to "
          "join a batch (QueryClientOptions::sign_linger)");
ABSL_FLAG(std::string, audit_producer_props, "",
          "debug: extra properties of the exchange's audit producer only, "
          "k=v;k=v (after --linger_ms)");
ABSL_FLAG(std::string, server_props, "",
          "debug: extra properties of the exchange's request consumer and "
          "response producer, k=v;k=v");
ABSL_FLAG(std::string, client_props, "",
          "debug: extra properties of the QueryClient's producer and "
          "consumer, k=v;k=v");
ABSL_FLAG(bool, trace, false,
          "debug: timestamp every request at each stage (client send, "
          "request produce, server poll, worker, audit produce, audit ack, "
          "resolved, response produce, response ack, client poll, caller "
          "woken) and print the per-stage breakdown of each phase, also for "
          "the slowest 1% (exchange/query/query_trace.h); costs a mutex per "
          "stage, so rates with --trace are not the benchmark's figures");
ABSL_FLAG(bool, verify_signatures, true,
          "deprecated: false is --modes=unsigned");

namespace {

using datarun::v1::QueryRequest;
namespace dep = datarun::v1::departments;
namespace broker = datarun::broker;

constexpr char kMatter[] = "urban_rural_pension_registration";
constexpr char kHrss[] = "human_resources_social_security";

void Die(const absl::Status& st, const char* what) {
  if (st.ok()) return;
  fprintf(stderr, "%s: %s\n", what, st.ToString().c_str());
  exit(1);
}

using Result = datarun::bench::LoopResult;

std::map<std::string, std::string> ParseProps(const std::string& flag) {
  return datarun::bench::ParseProperties(flag, ';');
}

// `extra` layered over `base`.
std::map<std::string, std::string> Layer(
    std::map<std::string, std::string> base,
    const std::map<std::string, std::string>& extra) {
  for (const auto& [k, v] : extra) base[k] = v;
  return base;
}

// The reference: the same shape as a query without the exchange. Callers
// produce to bench.echo.req keyed by a unique id; an echo loop consumes it
// and produces the value to bench.echo.resp with the same key; a receiver
// consumes that and wakes the caller. Same producer/consumer settings as
// QueryClient and QueryServer (linger.ms=1, fetch.wait.max.ms=1).
class RawEcho : public broker::RebalanceHandler {
 public:
  // The echo loop answers every request with `reply` (a response's size).
  RawEcho(broker::Broker* b, std::map<std::string, std::string> consumer,
          std::map<std::string, std::string> producer, std::string reply)
      : broker_(b),
        consumer_props_(consumer),
        producer_props_(producer),
        reply_(std::move(reply)) {}
  ~RawEcho() override {
    stop_ = true;
    for (auto& t : threads_) t.join();
  }

  void Start() {
    std::map<std::string, std::string> group = {
        {"session.timeout.ms", "6000"}, {"heartbeat.interval.ms", "500"}};
    for (const auto& [k, v] : consumer_props_) group[k] = v;
    auto p = broker_->NewProducer({.properties = producer_props_});
    Die(p.status(), "echo producer");
    producer_ = *std::move(p);
    auto ec = broker_->NewConsumer(
        {.group_id = "bench-echo-server", .properties = group});
    Die(ec.status(), "echo consumer");
    echo_consumer_ = *std::move(ec);
    auto rc = broker_->NewConsumer(
        {.group_id = "bench-echo-client", .properties = group});
    Die(rc.status(), "echo receiver");
    receiver_ = *std::move(rc);
    Die(echo_consumer_->Subscribe({"bench.echo.req"}, this), "subscribe");
    Die(receiver_->Subscribe({"bench.echo.resp"}, this), "subscribe");
    threads_.emplace_back([this] { EchoLoop(); });
    threads_.emplace_back([this] { ReceiveLoop(); });
    while (assigned_.load() < 2) absl::SleepFor(absl::Milliseconds(20));
  }

  // One round trip; false on timeout. Each caller waits on its own
  // notification, as QueryClient's callers do.
  bool RoundTrip(const std::string& key, const std::string& value) {
    auto done = std::make_shared<absl::Notification>();
    {
      absl::MutexLock l(&mu_);
      waiting_[key] = done;
    }
    broker::OutgoingMessage m;
    m.topic = "bench.echo.req";
    m.key = key;
    m.value = value;
    bool ok = producer_->Send(m, nullptr).ok() &&
              done->WaitForNotificationWithTimeout(absl::Seconds(10));
    absl::MutexLock l(&mu_);
    waiting_.erase(key);
    return ok;
  }

 private:
  absl::flat_hash_map<broker::TopicPartition, int64_t> OnAssigned(
      const std::vector<broker::TopicPartition>& partitions) override {
    absl::flat_hash_map<broker::TopicPartition, int64_t> out;
    for (const auto& tp : partitions) out[tp] = broker::kOffsetEnd;
    if (!partitions.empty()) ++assigned_;
    return out;
  }
  void OnRevoked(const std::vector<broker::TopicPartition>&) override {}

  void EchoLoop() {
    std::vector<broker::Message> batch;
    while (!stop_) {
      if (!echo_consumer_->Poll(1024, absl::Milliseconds(50), &batch).ok())
        return;
      for (const auto& m : batch) {
        broker::OutgoingMessage out;
        out.topic = "bench.echo.resp";
        out.key = m.key;
        out.value = reply_;
        producer_->Send(out, nullptr).IgnoreError();
      }
    }
  }
  void ReceiveLoop() {
    std::vector<broker::Message> batch;
    while (!stop_) {
      if (!receiver_->Poll(1024, absl::Milliseconds(50), &batch).ok()) return;
      absl::MutexLock l(&mu_);
      for (const auto& m : batch) {
        auto it = waiting_.find(m.key);
        if (it != waiting_.end() && !it->second->HasBeenNotified())
          it->second->Notify();
      }
    }
  }

  broker::Broker* broker_;
  const std::map<std::string, std::string> consumer_props_;
  const std::map<std::string, std::string> producer_props_;
  const std::string reply_;
  std::unique_ptr<broker::Producer> producer_;
  std::unique_ptr<broker::Consumer> echo_consumer_;
  std::unique_ptr<broker::Consumer> receiver_;
  std::vector<std::thread> threads_;
  std::atomic<bool> stop_{false};
  std::atomic<int> assigned_{0};
  absl::Mutex mu_;
  absl::flat_hash_map<std::string, std::shared_ptr<absl::Notification>> waiting_
      ABSL_GUARDED_BY(mu_);
};

// CPU seconds (user + system) of the whole process so far: the exchange,
// the client and the embedded cluster all run in it.
double ProcessCpuSeconds() {
  struct rusage u;
  getrusage(RUSAGE_SELF, &u);
  return u.ru_utime.tv_sec + u.ru_utime.tv_usec / 1e6 + u.ru_stime.tv_sec +
         u.ru_stime.tv_usec / 1e6;
}

// `threads` callers each send on a fixed schedule (together `rate`/s) for
// `seconds`; latency from each scheduled send to the answer.
template <typename Op>
Result RunPaced(int threads, double rate, double seconds, Op op) {
  std::vector<std::vector<float>> lat(threads);
  std::atomic<uint64_t> errors{0};
  const absl::Duration period = absl::Seconds(threads / rate);
  const absl::Time start = absl::Now() + absl::Milliseconds(10);
  const absl::Time end = start + absl::Seconds(seconds);
  std::vector<std::thread> ts;
  for (int t = 0; t < threads; ++t) {
    ts.emplace_back([&, t] {
      absl::Time next = start + period * t / threads;
      for (uint64_t i = 0; next < end; ++i, next += period) {
        absl::SleepFor(next - absl::Now());
        if (!op(t, i)) {
          ++errors;
          continue;
        }
        lat[t].push_back(absl::ToDoubleMicroseconds(absl::Now() - next));
      }
    });
  }
  for (auto& t : ts) t.join();
  std::vector<float> all;
  for (auto& l : lat) all.insert(all.end(), l.begin(), l.end());
  std::sort(all.begin(), all.end());
  Result r;
  r.n = all.size();
  r.errors = errors.load();
  r.per_s = all.size() / absl::ToDoubleSeconds(absl::Now() - start);
  if (!all.empty()) {
    r.p50_us = all[all.size() / 2];
    r.p99_us = all[std::min(all.size() - 1, all.size() * 99 / 100)];
  }
  return r;
}

struct ModeResult {
  std::string mode;
  Result bus;
  Result raw;
  // Process CPU per answered request / round trip: what bounds throughput
  // once the cores are busy, and a figure the other load on a shared
  // machine disturbs much less than the rates.
  double bus_cpu_us = 0;
  double raw_cpu_us = 0;
  Result paced;  // --paced_rate
  Result raw_paced;
  double paced_cpu_us = 0;
  double raw_paced_cpu_us = 0;
};

ModeResult RunMode(const std::string& mode,
                   const datarun::policy::testing::Fixture& f,
                   const datarun::policy::Policy& unsigned_policy,
                   const std::string& dir) {
  const int subjects = absl::GetFlag(FLAGS_subjects);
  const int threads = absl::GetFlag(FLAGS_threads);
  const double seconds = absl::GetFlag(FLAGS_seconds);
  const bool sign = mode != "unsigned";
  datarun::query::testing::BusExchangeOptions o;
  o.state_dir = absl::StrCat(dir, "/state-", mode);
  o.partitions = absl::GetFlag(FLAGS_partitions);
  o.workers = absl::GetFlag(FLAGS_workers);
  o.response_partitions = absl::GetFlag(FLAGS_response_partitions);
  o.checkpoint_every = 10000;
  std::unique_ptr<datarun::query::QueryTrace> trace;
  if (absl::GetFlag(FLAGS_trace)) {
    trace = std::make_unique<datarun::query::QueryTrace>();
    o.trace = trace.get();
  }
  const std::map<std::string, std::string> consumer_props = {
      {"fetch.wait.max.ms", absl::StrCat(absl::GetFlag(FLAGS_fetch_wait_ms))}};
  const std::map<std::string, std::string> producer_props = {
      {"linger.ms", absl::StrCat(absl::GetFlag(FLAGS_linger_ms))}};
  const auto server_props = ParseProps(absl::GetFlag(FLAGS_server_props));
  const auto client_props = ParseProps(absl::GetFlag(FLAGS_client_props));
  o.consumer_properties = Layer(consumer_props, server_props);
  o.producer_properties = Layer(producer_props, server_props);
  o.audit_producer_properties =
      ParseProps(absl::GetFlag(FLAGS_audit_producer_props));
  const absl::Time t0 = absl::Now();
  auto x = datarun::query::testing::BusExchange::Start(
      f.catalog(), sign ? f.policy() : unsigned_policy,
      &f.signer("big_data_bureau"), o);
  Die(x.status(), "exchange");
  std::vector<std::string> ids;
  std::vector<datarun::v1::Record> records;
  for (int i = 0; i < subjects; ++i) {
    ids.push_back(datarun::policy::testing::CitizenId(i));
    dep::HouseholdRegistration h;
    h.set_name(absl::StrCat("居民", i));
    h.set_household_number(absl::StrCat("330106-", i));
    h.mutable_birth_date()->set_year(1950 + i % 50);
    h.set_active(true);
    records.push_back(datarun::policy::testing::MakeRecord(
        f.catalog(), ids.back(), "household_registration", "", 1, h));
  }
  Die((*x)->Publish(records), "publish");
  printf(
      "[%s] setup: %d subjects published and ingested, exchange up in "
      "%.1f s\n",
      mode.c_str(), subjects, absl::ToDoubleSeconds(absl::Now() - t0));

  datarun::query::QueryClientOptions co;
  co.department = kHrss;
  co.signer = sign ? &f.signer(kHrss) : nullptr;
  co.batch_signatures = mode == "batch";
  co.sign_linger =
      absl::Microseconds(1000 * absl::GetFlag(FLAGS_sign_linger_ms));
  co.consumer_properties = Layer(consumer_props, client_props);
  co.producer_properties = Layer(producer_props, client_props);
  co.trace = trace.get();
  auto client = datarun::query::QueryClient::Create((*x)->broker(), co);
  Die(client.status(), "client");
  // Requests are built (and signed by the client) inside the measurement.
  QueryRequest base = f.Request(kHrss, kMatter, datarun::v1::QUERY_KIND_PROFILE,
                                {ids[0]}, absl::Now());
  base.clear_request_id();
  base.clear_signature();
  base.clear_key_id();
  base.clear_requested_at();  // set by the client
  auto query = [&](int t, uint64_t i) {
    QueryRequest q = base;
    q.mutable_subjects(0)->set_id(ids[(t * 7919 + i) % ids.size()]);
    auto r = (*client)->Query(std::move(q), absl::Seconds(10));
    return r.ok() && r->decision() == datarun::v1::DECISION_ALLOW;
  };
  // Warm-up: connections, the gate's catch-up check, caches.
  datarun::bench::RunClosedLoops(threads, 1, query);
  const auto& sc = (*x)->server_counters();
  const double rate = absl::GetFlag(FLAGS_paced_rate);
  const bool paced_last = absl::GetFlag(FLAGS_paced_after_closed);
  ModeResult out;
  out.mode = mode;
  auto run_paced = [&] {
    if (rate <= 0) return;
    if (trace != nullptr) trace->Clear();
    const double cpu_p = ProcessCpuSeconds();
    const uint64_t a0 = sc.answered.load(), q0 = sc.queued_us.load(),
                   h0 = sc.handle_us.load();
    out.paced = RunPaced(threads, rate, seconds, query);
    out.paced_cpu_us = (ProcessCpuSeconds() - cpu_p) * 1e6 /
                       std::max<uint64_t>(1, out.paced.n + out.paced.errors);
    const double n = std::max<double>(1, sc.answered.load() - a0);
    printf(
        "[%s] paced: server mean %.2f ms send to worker, %.2f ms in the "
        "resolver\n",
        mode.c_str(), (sc.queued_us.load() - q0) / n / 1000,
        (sc.handle_us.load() - h0) / n / 1000);
    printf(
        "[%s] paced at %.0f/s: %.0f/s answered, p50 %.2f ms p99 %.2f ms "
        "(%llu errors), %.0f us CPU per query\n",
        mode.c_str(), rate, out.paced.per_s, out.paced.p50_us / 1000,
        out.paced.p99_us / 1000,
        static_cast<unsigned long long>(out.paced.errors), out.paced_cpu_us);
    if (trace != nullptr) {
      printf("[%s] trace of the paced phase:\n%s", mode.c_str(),
             trace->Format().c_str());
    }
  };
  if (!paced_last) run_paced();
  const uint64_t answered0 = sc.answered.load();
  const uint64_t queued0 = sc.queued_us.load();
  const uint64_t handle0 = sc.handle_us.load();
  const auto& cs = (*client)->stats();
  const uint64_t signed0 = cs.signed_requests.load();
  const uint64_t sigs0 = cs.signatures.load();
  if (trace != nullptr) trace->Clear();
  double cpu0 = ProcessCpuSeconds();
  out.bus = datarun::bench::RunClosedLoops(threads, seconds, query);
  out.bus_cpu_us = (ProcessCpuSeconds() - cpu0) * 1e6 /
                   std::max<uint64_t>(1, out.bus.n + out.bus.errors);
  const double answered = std::max<double>(1, sc.answered.load() - answered0);
  printf(
      "[%s] bus (request, policy, masked profile, audit acked by dr.audit): "
      "%.0f/s p50 %.2f ms p99 %.2f ms (%llu answered, %llu errors)\n",
      mode.c_str(), out.bus.per_s, out.bus.p50_us / 1000, out.bus.p99_us / 1000,
      static_cast<unsigned long long>(out.bus.n),
      static_cast<unsigned long long>(out.bus.errors));
  printf(
      "[%s] server: mean %.2f ms from the client's send to a worker, %.2f ms "
      "in the resolver (policy, state, audit ack); received %llu failed %llu "
      "not_served %llu\n",
      mode.c_str(), (sc.queued_us.load() - queued0) / answered / 1000,
      (sc.handle_us.load() - handle0) / answered / 1000,
      static_cast<unsigned long long>(sc.received.load()),
      static_cast<unsigned long long>(sc.failed.load()),
      static_cast<unsigned long long>(sc.not_served.load()));
  if (trace != nullptr) {
    printf("[%s] trace of the closed loop:\n%s", mode.c_str(),
           trace->Format().c_str());
    trace->Clear();
  }
  if (paced_last) run_paced();
  if (sign) {
    const uint64_t sigs = cs.signatures.load() - sigs0;
    printf(
        "[%s] client: %llu signatures for %llu requests (%.1f per "
        "signature)\n",
        mode.c_str(), static_cast<unsigned long long>(sigs),
        static_cast<unsigned long long>(cs.signed_requests.load() - signed0),
        sigs > 0
            ? static_cast<double>(cs.signed_requests.load() - signed0) / sigs
            : 0.0);
  }

  // The echo's topics are shaped as dr.query.req and the response topic.
  Die((*x)->cluster().CreateTopics({"bench.echo.req"}, o.partitions),
      "echo topics");
  Die((*x)->cluster().CreateTopics(
          {"bench.echo.resp"},
          o.response_partitions > 0 ? o.response_partitions : o.partitions),
      "echo topics");
  // Values of a signed request's and of a real response's size.
  QueryRequest sample = f.Request(
      kHrss, kMatter, datarun::v1::QUERY_KIND_PROFILE, {ids[0]}, absl::Now());
  const std::string value = sample.SerializeAsString();
  QueryRequest probe = base;
  probe.mutable_subjects(0)->set_id(ids[1]);
  auto answer = (*client)->Query(std::move(probe), absl::Seconds(10));
  Die(answer.status(), "probe query");
  const std::string reply(answer->ByteSizeLong(), 'r');
  printf("[%s] sizes: request %zu B, response %zu B (the echo sends both)\n",
         mode.c_str(), value.size(), reply.size());
  RawEcho echo((*x)->broker(), consumer_props, producer_props, reply);
  echo.Start();
  auto raw = [&](int t, uint64_t i) {
    return echo.RoundTrip(absl::StrCat(t, "-", i), value);
  };
  datarun::bench::RunClosedLoops(threads, 1, raw);
  auto run_raw_paced = [&] {
    if (rate <= 0) return;
    const double cpu_p = ProcessCpuSeconds();
    out.raw_paced = RunPaced(threads, rate, seconds, raw);
    out.raw_paced_cpu_us =
        (ProcessCpuSeconds() - cpu_p) * 1e6 /
        std::max<uint64_t>(1, out.raw_paced.n + out.raw_paced.errors);
    printf(
        "[%s] raw echo paced at %.0f/s: %.0f/s, p50 %.2f ms p99 %.2f ms, "
        "%.0f us CPU per round trip\n",
        mode.c_str(), rate, out.raw_paced.per_s, out.raw_paced.p50_us / 1000,
        out.raw_paced.p99_us / 1000, out.raw_paced_cpu_us);
  };
  if (!paced_last) run_raw_paced();
  cpu0 = ProcessCpuSeconds();
  out.raw = datarun::bench::RunClosedLoops(threads, seconds, raw);
  out.raw_cpu_us = (ProcessCpuSeconds() - cpu0) * 1e6 /
                   std::max<uint64_t>(1, out.raw.n + out.raw.errors);
  printf(
      "[%s] raw produce->consume->produce->consume echo: %.0f/s p50 %.2f ms "
      "p99 %.2f ms (%llu errors)\n",
      mode.c_str(), out.raw.per_s, out.raw.p50_us / 1000, out.raw.p99_us / 1000,
      static_cast<unsigned long long>(out.raw.errors));
  if (paced_last) run_raw_paced();
  fflush(stdout);
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  // Debian's Abseil is a debug build: deadlock detection would cost every
  // lock on the query path (resolver.h), as in datarund.
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
  std::vector<std::string> modes =
      absl::StrSplit(absl::GetFlag(FLAGS_modes), ',', absl::SkipEmpty());
  if (!absl::GetFlag(FLAGS_verify_signatures)) modes = {"unsigned"};
  for (const auto& m : modes) {
    if (m != "batch" && m != "single" && m != "unsigned") {
      Die(absl::InvalidArgumentError(
              absl::StrCat("--modes: unknown mode \"", m,
                           "\" (expected batch, single or unsigned)")),
          "flags");
    }
  }
  if (modes.empty())
    Die(absl::InvalidArgumentError("--modes is empty"), "flags");
  const int threads = absl::GetFlag(FLAGS_threads);
  char tmpl[] = "/tmp/query_bus_bench.XXXXXX";
  const char* dir = mkdtemp(tmpl);
  if (dir == nullptr) Die(absl::InternalError("mkdtemp failed"), "tmp");
  // The fixture writes its test keys under TEST_TMPDIR.
  setenv("TEST_TMPDIR", dir, 0);

  auto fixture = datarun::policy::testing::Fixture::Create(
      datarun::policy::testing::kShippedMatters, {kHrss, "big_data_bureau"});
  Die(fixture.status(), "fixture");
  const auto& f = **fixture;
  datarun::policy::PolicyOptions po;
  po.verify_signatures = false;
  auto unsigned_policy =
      datarun::policy::Policy::Create(f.catalog(), f.keyring(), po);
  Die(unsigned_policy.status(), "policy");

  std::vector<ModeResult> results;
  for (const auto& m : modes)
    results.push_back(RunMode(m, f, **unsigned_policy, dir));

  // First mode: the headline figures; every mode also as <mode>_... fields.
  const ModeResult& first = results.front();
  std::string line = absl::StrFormat(
      "bus_per_s=%.0f bus_p99_ms=%.2f raw_roundtrip_per_s=%.0f "
      "raw_p99_ms=%.2f bus_vs_raw=%.2f mode=%s",
      first.bus.per_s, first.bus.p99_us / 1000, first.raw.per_s,
      first.raw.p99_us / 1000,
      first.raw.per_s > 0 ? first.bus.per_s / first.raw.per_s : 0.0,
      first.mode);
  for (const auto& r : results) {
    absl::StrAppendFormat(
        &line,
        " %s_per_s=%.0f %s_p99_ms=%.2f %s_raw_per_s=%.0f %s_cpu_us=%.0f "
        "%s_raw_cpu_us=%.0f",
        r.mode, r.bus.per_s, r.mode, r.bus.p99_us / 1000, r.mode, r.raw.per_s,
        r.mode, r.bus_cpu_us, r.mode, r.raw_cpu_us);
    if (r.paced.n > 0) {
      absl::StrAppendFormat(
          &line,
          " %s_paced_per_s=%.0f %s_paced_p99_ms=%.2f %s_raw_paced_p99_ms=%.2f"
          " %s_paced_cpu_us=%.0f %s_raw_paced_cpu_us=%.0f",
          r.mode, r.paced.per_s, r.mode, r.paced.p99_us / 1000, r.mode,
          r.raw_paced.p99_us / 1000, r.mode, r.paced_cpu_us, r.mode,
          r.raw_paced_cpu_us);
    }
  }
  absl::StrAppendFormat(&line, " threads=%d subjects=%d", threads,
                        absl::GetFlag(FLAGS_subjects));
  printf("%s\n", line.c_str());
  return 0;
}
