// QueryTrace: where one request's time goes over the bus, stage by stage.
// A debug hook for the bus benchmark (--trace) and tests: QueryClient,
// QueryServer and KafkaAuditSink each Mark the stages they see, keyed by
// request id, when they were given a trace (null in datarund: no cost but a
// pointer test). Summarize() reports the time between consecutive stages
// over all complete requests and over the slowest 1%, which is where a
// tail comes from.
//
// The audit sink does not see request ids: the server's worker sets the
// request it is resolving as the thread's current request (ScopedRequest)
// and the sink, called on that thread by AuditLog::Record, marks it.
//
// Thread-safety: all methods may be called from any thread.
#ifndef DATARUN_EXCHANGE_QUERY_QUERY_TRACE_H_
#define DATARUN_EXCHANGE_QUERY_QUERY_TRACE_H_

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace datarun::query {

// In the order a request passes them.
enum class TraceStage : int {
  kClientStart = 0,    // QueryClient::Send entered (before signing)
  kClientProduce,      // request handed to the producer
  kServerPolled,       // request consumed by the server's poller
  kWorkerTaken,        // a worker took it from the queue
  kAuditWrite,         // audit link handed to the audit producer
  kAuditAcked,         // the audit link's delivery report arrived
  kResolved,           // Resolver::Handle returned
  kResponseProduce,    // response handed to the producer
  kResponseDelivered,  // the response's delivery report arrived
  kClientReceived,     // the client's poller consumed the response
  kCallerWoken,        // the caller returned from Await
  kCount,
};

const char* TraceStageName(TraceStage stage);

class QueryTrace {
 public:
  // Records `stage` of `request_id` now (the first mark of a stage wins).
  void Mark(absl::string_view request_id, TraceStage stage);
  // Records `stage` as having happened at `at` (seen earlier, e.g. a poll
  // time shared by a batch).
  void Mark(absl::string_view request_id, TraceStage stage, absl::Time at);

  // The request the calling thread works on, for marks made by code that
  // does not see request ids (the audit sink). Empty when none.
  static absl::string_view CurrentRequest();
  class ScopedRequest {
   public:
    explicit ScopedRequest(absl::string_view request_id);
    ~ScopedRequest();
    ScopedRequest(const ScopedRequest&) = delete;
    ScopedRequest& operator=(const ScopedRequest&) = delete;
  };

  // Time from each stage to the next, in microseconds.
  struct StageStats {
    TraceStage from;
    TraceStage to;
    double mean_us = 0;
    double p50_us = 0;
    double p99_us = 0;
    double tail_mean_us = 0;  // mean over the slowest 1% of requests
  };
  struct Summary {
    size_t complete = 0;  // requests with every stage marked
    double total_p50_us = 0;
    double total_p99_us = 0;
    std::vector<StageStats> stages;
  };
  // Over requests that passed every stage (end to end: kClientStart to
  // kCallerWoken); requests missing a stage are left out.
  Summary Summarize() const;
  // A table of Summarize(), one stage per line.
  std::string Format() const;
  void Clear();

 private:
  using Marks = std::array<int64_t, static_cast<int>(TraceStage::kCount)>;
  mutable absl::Mutex mu_;
  absl::flat_hash_map<std::string, Marks> marks_ ABSL_GUARDED_BY(mu_);
};

}  // namespace datarun::query

#endif  // DATARUN_EXCHANGE_QUERY_QUERY_TRACE_H_
