#include "exchange/query/query_trace.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_format.h"
#include "absl/time/clock.h"

namespace datarun::query {

namespace {

thread_local std::string current_request;

// The spans reported: consecutive stages, except that the response's
// delivery report is a side branch (the client may read the response
// before the producer hears the ack), so the hop is measured from the
// response's produce to the client's poller.
constexpr std::pair<TraceStage, TraceStage> kSpans[] = {
    {TraceStage::kClientStart, TraceStage::kClientProduce},
    {TraceStage::kClientProduce, TraceStage::kServerPolled},
    {TraceStage::kServerPolled, TraceStage::kWorkerTaken},
    {TraceStage::kWorkerTaken, TraceStage::kAuditWrite},
    {TraceStage::kAuditWrite, TraceStage::kAuditAcked},
    {TraceStage::kAuditAcked, TraceStage::kResolved},
    {TraceStage::kResolved, TraceStage::kResponseProduce},
    {TraceStage::kResponseProduce, TraceStage::kClientReceived},
    {TraceStage::kResponseProduce, TraceStage::kResponseDelivered},
    {TraceStage::kClientReceived, TraceStage::kCallerWoken},
};

double Percentile(std::vector<double> v, double q) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[std::min(v.size() - 1, static_cast<size_t>(v.size() * q))];
}

}  // namespace

const char* TraceStageName(TraceStage stage) {
  switch (stage) {
    case TraceStage::kClientStart:
      return "client send";
    case TraceStage::kClientProduce:
      return "request produce";
    case TraceStage::kServerPolled:
      return "server poll";
    case TraceStage::kWorkerTaken:
      return "worker takes";
    case TraceStage::kAuditWrite:
      return "audit produce";
    case TraceStage::kAuditAcked:
      return "audit ack";
    case TraceStage::kResolved:
      return "resolved";
    case TraceStage::kResponseProduce:
      return "response produce";
    case TraceStage::kResponseDelivered:
      return "response ack";
    case TraceStage::kClientReceived:
      return "client poll";
    case TraceStage::kCallerWoken:
      return "caller woken";
    case TraceStage::kCount:
      break;
  }
  return "?";
}

void QueryTrace::Mark(absl::string_view request_id, TraceStage stage) {
  Mark(request_id, stage, absl::Now());
}

void QueryTrace::Mark(absl::string_view request_id, TraceStage stage,
                      absl::Time at) {
  if (request_id.empty()) return;
  const int64_t now = absl::ToUnixNanos(at);
  absl::MutexLock l(&mu_);
  auto [it, inserted] = marks_.try_emplace(request_id);
  if (inserted) it->second.fill(0);
  int64_t& slot = it->second[static_cast<int>(stage)];
  if (slot == 0) slot = now;
}

absl::string_view QueryTrace::CurrentRequest() { return current_request; }

QueryTrace::ScopedRequest::ScopedRequest(absl::string_view request_id) {
  current_request.assign(request_id.data(), request_id.size());
}

QueryTrace::ScopedRequest::~ScopedRequest() { current_request.clear(); }

QueryTrace::Summary QueryTrace::Summarize() const {
  std::vector<Marks> complete;
  {
    absl::MutexLock l(&mu_);
    for (const auto& [id, m] : marks_) {
      if (std::all_of(m.begin(), m.end(), [](int64_t t) { return t != 0; }))
        complete.push_back(m);
    }
  }
  auto at = [](const Marks& m, TraceStage s) { return m[static_cast<int>(s)]; };
  auto total = [&](const Marks& m) {
    return (at(m, TraceStage::kCallerWoken) - at(m, TraceStage::kClientStart)) /
           1e3;
  };
  Summary s;
  s.complete = complete.size();
  if (complete.empty()) return s;
  std::sort(
      complete.begin(), complete.end(),
      [&](const Marks& a, const Marks& b) { return total(a) < total(b); });
  std::vector<double> totals;
  for (const auto& m : complete) totals.push_back(total(m));
  s.total_p50_us = Percentile(totals, 0.5);
  s.total_p99_us = Percentile(totals, 0.99);
  const size_t tail_from =
      complete.size() - std::max<size_t>(1, complete.size() / 100);
  for (const auto& [from, to] : kSpans) {
    StageStats st{from, to};
    std::vector<double> d;
    double tail_sum = 0;
    for (size_t i = 0; i < complete.size(); ++i) {
      const double us = (at(complete[i], to) - at(complete[i], from)) / 1e3;
      d.push_back(us);
      st.mean_us += us;
      if (i >= tail_from) tail_sum += us;
    }
    st.mean_us /= d.size();
    st.tail_mean_us = tail_sum / (complete.size() - tail_from);
    st.p50_us = Percentile(d, 0.5);
    st.p99_us = Percentile(std::move(d), 0.99);
    s.stages.push_back(st);
  }
  return s;
}

std::string QueryTrace::Format() const {
  const Summary s = Summarize();
  std::string out = absl::StrFormat(
      "  %zu complete requests, end to end p50 %.2f ms p99 %.2f ms\n"
      "  %-38s %9s %9s %9s %13s\n",
      s.complete, s.total_p50_us / 1e3, s.total_p99_us / 1e3, "stage (ms)",
      "mean", "p50", "p99", "slowest 1%");
  for (const auto& st : s.stages) {
    absl::StrAppendFormat(&out, "  %-38s %9.3f %9.3f %9.3f %13.3f\n",
                          absl::StrFormat("%s -> %s", TraceStageName(st.from),
                                          TraceStageName(st.to)),
                          st.mean_us / 1e3, st.p50_us / 1e3, st.p99_us / 1e3,
                          st.tail_mean_us / 1e3);
  }
  return out;
}

void QueryTrace::Clear() {
  absl::MutexLock l(&mu_);
  marks_.clear();
}

}  // namespace datarun::query
