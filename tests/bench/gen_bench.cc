// Synthetic data generator throughput: population build, record emission
// and JSONL formatting (reflection printer) per second, against the
// reference formatting with protobuf's MessageToJsonString on the same
// records in the same run. Single thread, in memory (no disk).
//
//   bazel build //tests/bench:gen && bazel-bin/tests/bench/gen
//   --citizens=200000
#include <cstdint>
#include <cstdio>
#include <ctime>
#include <string>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "connectors/gen/generator.h"
#include "connectors/gen/jsonl_writer.h"
#include "connectors/gen/proto_json.h"

ABSL_FLAG(int64_t, citizens, 200000, "citizens to generate");
ABSL_FLAG(int64_t, companies, 10000, "companies to generate");
ABSL_FLAG(uint64_t, seed, 1, "seed");
ABSL_FLAG(bool, reference, true,
          "also time MessageToJsonString (off for profiling)");

namespace {

// CPU time of this process: the machine is shared, so wall time mostly
// measures the neighbours.
double CpuSeconds() {
  timespec ts;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return ts.tv_sec + ts.tv_nsec * 1e-9;
}

using datarun::gen::GeneratedRecord;

class CountingSink : public datarun::gen::RecordSink {
 public:
  void Add(const GeneratedRecord& r) override {
    ++records;
    bytes += r.record_key.size();
  }
  int64_t records = 0;
  int64_t bytes = 0;
};

class FastSink : public datarun::gen::RecordSink {
 public:
  void Add(const GeneratedRecord& r) override {
    line.clear();
    if (datarun::gen::AppendJsonLine(r, &line).ok()) ++records;
    bytes += static_cast<int64_t>(line.size());
  }
  std::string line;
  int64_t records = 0;
  int64_t bytes = 0;
};

class ReferenceSink : public datarun::gen::RecordSink {
 public:
  void Add(const GeneratedRecord& r) override {
    line.clear();
    if (datarun::gen::AppendProtoJsonReference(*r.payload, &line).ok()) {
      ++records;
    }
    bytes += static_cast<int64_t>(line.size());
  }
  std::string line;
  int64_t records = 0;
  int64_t bytes = 0;
};

}  // namespace

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  datarun::gen::PopulationOptions options;
  options.citizens = absl::GetFlag(FLAGS_citizens);
  options.companies = absl::GetFlag(FLAGS_companies);
  options.seed = absl::GetFlag(FLAGS_seed);

  double t0 = CpuSeconds();
  auto generator = datarun::gen::Generator::Create(options);
  if (!generator.ok()) {
    std::fprintf(stderr, "%s\n", generator.status().ToString().c_str());
    return 1;
  }
  double build_s = (CpuSeconds() - t0);
  std::printf("population: %lld citizens, %lld companies built in %.2f CPU-s\n",
              static_cast<long long>(options.citizens),
              static_cast<long long>(options.companies), build_s);

  CountingSink count;
  t0 = CpuSeconds();
  (*generator)->EmitAll(count);
  double emit_s = (CpuSeconds() - t0);
  std::printf(
      "emit only:            %lld records in %.2f CPU-s = %.0f records/s\n",
      static_cast<long long>(count.records), emit_s, count.records / emit_s);

  FastSink fast;
  t0 = CpuSeconds();
  (*generator)->EmitAll(fast);
  double fast_s = (CpuSeconds() - t0);
  std::printf(
      "emit + JSONL line:    %lld records in %.2f CPU-s = %.0f records/s, "
      "%.1f MiB/s\n",
      static_cast<long long>(fast.records), fast_s, fast.records / fast_s,
      fast.bytes / fast_s / (1 << 20));

  // The reference formats only the payload (less work than a full line).
  ReferenceSink ref;
  t0 = CpuSeconds();
  if (absl::GetFlag(FLAGS_reference)) (*generator)->EmitAll(ref);
  double ref_s = (CpuSeconds() - t0);
  std::printf(
      "emit + MessageToJsonString payload (reference): %lld records in %.2f s "
      "= %.0f records/s\n",
      static_cast<long long>(ref.records), ref_s, ref.records / ref_s);

  double per_million = (build_s + fast_s) * 1e6 / options.citizens;
  std::printf(
      "SUMMARY gen: %.0f records per CPU-s formatted (%.1fx "
      "MessageToJsonString), "
      "%.1f CPU-s per 1M citizens on one thread\n",
      fast.records / fast_s, ref_s / fast_s, per_million);
  return 0;
}
