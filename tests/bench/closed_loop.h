// Closed-loop load for benchmarks: N threads each call an operation back to
// back for a fixed time; throughput and latency percentiles of the calls.
// Used by the query benchmarks (in process and over the bus) so both measure
// the same way.
//
// RunClosedLoops is reentrant; `op` must be safe to call from `threads`
// threads at once.
#ifndef DATARUN_TESTS_BENCH_CLOSED_LOOP_H_
#define DATARUN_TESTS_BENCH_CLOSED_LOOP_H_

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <thread>
#include <type_traits>
#include <vector>

#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace datarun::bench {

struct LoopResult {
  double per_s = 0;   // successful calls per second of wall time
  double p50_us = 0;  // latency of successful calls
  double p99_us = 0;
  uint64_t n = 0;       // successful calls
  uint64_t errors = 0;  // calls that returned false (not in the latencies)
};

// Runs `op(thread, i)` in `threads` closed loops for `seconds`. `op` returns
// void, or bool where false counts an error.
template <typename Op>
LoopResult RunClosedLoops(int threads, double seconds, Op op) {
  std::vector<std::vector<float>> latencies_us(threads);
  std::atomic<bool> stop{false};
  std::atomic<uint64_t> errors{0};
  std::vector<std::thread> workers;
  const absl::Time start = absl::Now();
  for (int t = 0; t < threads; ++t) {
    workers.emplace_back([&, t] {
      latencies_us[t].reserve(1 << 20);
      uint64_t i = 0;
      while (!stop.load(std::memory_order_relaxed)) {
        const int64_t begin = absl::GetCurrentTimeNanos();
        if constexpr (std::is_void_v<decltype(op(t, i))>) {
          op(t, i++);
        } else if (!op(t, i++)) {
          errors.fetch_add(1, std::memory_order_relaxed);
          continue;
        }
        latencies_us[t].push_back((absl::GetCurrentTimeNanos() - begin) /
                                  1000.0f);
      }
    });
  }
  absl::SleepFor(absl::Seconds(seconds));
  stop = true;
  for (auto& w : workers) w.join();
  const double elapsed = absl::ToDoubleSeconds(absl::Now() - start);
  std::vector<float> all;
  for (auto& l : latencies_us) all.insert(all.end(), l.begin(), l.end());
  std::sort(all.begin(), all.end());
  LoopResult r;
  r.n = all.size();
  r.errors = errors.load();
  r.per_s = all.size() / elapsed;
  if (!all.empty()) {
    r.p50_us = all[all.size() / 2];
    r.p99_us = all[std::min(all.size() - 1, all.size() * 99 / 100)];
  }
  return r;
}

}  // namespace datarun::bench

#endif  // DATARUN_TESTS_BENCH_CLOSED_LOOP_H_
