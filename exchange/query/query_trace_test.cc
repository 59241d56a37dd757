#include "exchange/query/query_trace.h"

#include <thread>

#include "absl/time/clock.h"
#include "gtest/gtest.h"

namespace datarun::query {
namespace {

constexpr int kStages = static_cast<int>(TraceStage::kCount);

// Marks every stage of `id`, stage i at base + i * step + extra (extra
// added from stage `slow_from` on).
void MarkAll(QueryTrace& trace, const std::string& id, absl::Time base,
             absl::Duration step, int slow_from = kStages,
             absl::Duration extra = absl::ZeroDuration()) {
  for (int i = 0; i < kStages; ++i) {
    trace.Mark(
        id, static_cast<TraceStage>(i),
        base + step * i + (i >= slow_from ? extra : absl::ZeroDuration()));
  }
}

TEST(QueryTraceTest, SpansAndTheSlowestRequests) {
  QueryTrace trace;
  const absl::Time base = absl::FromUnixSeconds(1700000000);
  for (int i = 0; i < 99; ++i)
    MarkAll(trace, "r" + std::to_string(i), base, absl::Microseconds(100));
  // One slow request: 50 ms more between the audit write and its ack.
  MarkAll(trace, "slow", base, absl::Microseconds(100),
          static_cast<int>(TraceStage::kAuditAcked), absl::Milliseconds(50));
  trace.Mark("incomplete", TraceStage::kClientStart, base);

  const QueryTrace::Summary s = trace.Summarize();
  EXPECT_EQ(s.complete, 100u);
  EXPECT_NEAR(s.total_p50_us, 1000, 1);  // 10 steps of 100 us
  EXPECT_NEAR(s.total_p99_us, 51000, 1);
  bool saw_audit = false;
  for (const auto& st : s.stages) {
    if (st.from == TraceStage::kAuditWrite) {
      saw_audit = true;
      EXPECT_EQ(st.to, TraceStage::kAuditAcked);
      EXPECT_NEAR(st.p50_us, 100, 1);
      EXPECT_NEAR(st.tail_mean_us, 50100, 1);
      EXPECT_NEAR(st.mean_us, 100 + 50000.0 / 100, 1);
    } else if (st.from == TraceStage::kResponseProduce &&
               st.to == TraceStage::kClientReceived) {
      // kResponseDelivered is a side branch: two stages apart.
      EXPECT_NEAR(st.p50_us, 200, 1);
    } else {
      EXPECT_NEAR(st.tail_mean_us, st.p50_us, 1) << TraceStageName(st.from);
    }
  }
  EXPECT_TRUE(saw_audit);
  EXPECT_NE(trace.Format().find("audit produce -> audit ack"),
            std::string::npos);
  trace.Clear();
  EXPECT_EQ(trace.Summarize().complete, 0u);
}

TEST(QueryTraceTest, FirstMarkWinsAndCurrentRequestIsPerThread) {
  QueryTrace trace;
  EXPECT_TRUE(QueryTrace::CurrentRequest().empty());
  {
    QueryTrace::ScopedRequest current("abc");
    EXPECT_EQ(QueryTrace::CurrentRequest(), "abc");
    std::thread other(
        [] { EXPECT_TRUE(QueryTrace::CurrentRequest().empty()); });
    other.join();
  }
  EXPECT_TRUE(QueryTrace::CurrentRequest().empty());
  const absl::Time base = absl::FromUnixSeconds(1700000000);
  MarkAll(trace, "a", base, absl::Microseconds(10));
  trace.Mark("a", TraceStage::kCallerWoken, base + absl::Seconds(5));
  EXPECT_NEAR(trace.Summarize().total_p50_us, 100, 1);
  trace.Mark("", TraceStage::kClientStart);  // ignored
  EXPECT_EQ(trace.Summarize().complete, 1u);
}

}  // namespace
}  // namespace datarun::query
