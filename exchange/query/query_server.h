// QueryServer: the request/response path of the exchange core. Consumes
// dr.query.req, answers each request with the Resolver (policy, masking,
// provenance, audit acknowledged by dr.audit before anything leaves) and
// produces the QueryResponse to dr.query.resp.<requester department>, keyed
// by request id.
//
// Co-partitioning: a request is keyed by subject, so partition p of
// dr.query.req belongs to the instance whose ingest owns partition p of the
// data topics. The server does not join the ingest group (a second member
// there would be ordered by member id, which nobody controls); it reads
// every partition of dr.query.req in a group of its own per instance and
// answers only the requests of the partitions `serves(p)` accepts — in
// datarund, the Ingestor's current assignment, gated until ingest of p has
// caught up (IngestGate). Other instances answer the rest. Cost: each
// instance reads all requests (N-fold read for N instances; requests are
// small). See docs/operations.md, "Queries over the bus".
//
// Delivery: at most once per instance. The server starts at the end of
// dr.query.req; a request published while no instance served its partition
// (restart, hand-over) is never answered and the client times out and
// retries (a retry is a new access and is audited as one). In datarund a
// graceful hand-over has no overlap (handover.h: the old owner stops
// before the new one is assigned); an evicted member that did not notice
// yet may still answer: the client keeps the first.
//
// Threads: Run() polls on the caller's thread and hands requests to
// `workers` threads (Resolver::Handle blocks until the audit ack, so the
// workers are what overlaps acks); the poller waits while `max_pending`
// requests are queued.
//
// Thread-safety: Run() once, from one thread; counters() and ready() from
// any thread.
#ifndef DATARUN_EXCHANGE_QUERY_QUERY_SERVER_H_
#define DATARUN_EXCHANGE_QUERY_QUERY_SERVER_H_

#include <atomic>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "broker_adapters/broker.h"
#include "exchange/query/query_metrics.h"
#include "exchange/query/query_trace.h"
#include "exchange/query/topics.h"
#include "exchange/resolver/resolver.h"

namespace datarun::query {

struct QueryServerOptions {
  // Must be unique per instance (see the header comment).
  std::string group_id = "datarun-query";
  std::string client_id = "datarund-query";
  std::string request_topic = kRequestTopic;
  // Whether this instance answers requests of partition p (IngestGate in
  // datarund). Null: all. A worker holding a kCatchingUp request re-asks
  // every 5 ms, up to catch_up_wait, then drops it (the client retries).
  std::function<Serving(int32_t partition)> serves;
  absl::Duration catch_up_wait = absl::Seconds(10);
  int workers = 32;
  size_t max_pending = 4096;
  absl::Duration poll_timeout = absl::Milliseconds(50);
  std::map<std::string, std::string> consumer_properties;
  std::map<std::string, std::string> producer_properties;
  // Prometheus view of the handled requests (not owned; must outlive the
  // server). Null: none.
  QueryMetrics* metrics = nullptr;
  // Debug: per-stage timestamps of each request (query_trace.h). Not owned;
  // null in datarund.
  QueryTrace* trace = nullptr;
};

struct QueryServerCounters {
  std::atomic<uint64_t> received{0};
  std::atomic<uint64_t> answered{0};    // response accepted by the producer
  std::atomic<uint64_t> delivered{0};   // response acknowledged by the bus
  std::atomic<uint64_t> malformed{0};   // not a QueryRequest: dropped
  std::atomic<uint64_t> not_served{0};  // another instance's partition
  std::atomic<uint64_t> catch_up_timeouts{0};  // ingest did not catch up
  std::atomic<uint64_t> failed{
      0};  // resolver error (audit not acked): no response
  std::atomic<uint64_t> send_failed{0};
  // Where a request's time goes, summed over answered requests in
  // microseconds (divide by `answered` for the mean): from the request's
  // producer timestamp (millisecond resolution, the client's clock) until a
  // worker takes it, and the resolver's Handle (policy, state, audit link
  // acknowledged by the bus).
  std::atomic<uint64_t> queued_us{0};
  std::atomic<uint64_t> handle_us{0};
};

class QueryServer : private broker::RebalanceHandler {
 public:
  // Nothing is owned; both must outlive the server.
  QueryServer(broker::Broker* broker, const resolver::Resolver* resolver,
              QueryServerOptions options = {});
  ~QueryServer() override;

  // Joins, answers until `*stop` is true or a fatal consumer/producer error,
  // then finishes the queued requests, flushes the responses and returns.
  absl::Status Run(const std::atomic<bool>* stop);

  // True once the request topic is assigned: requests sent from now on are
  // seen (the server starts at the end of the topic).
  bool ready() const { return ready_.load(); }
  const QueryServerCounters& counters() const { return counters_; }

 private:
  absl::flat_hash_map<broker::TopicPartition, int64_t> OnAssigned(
      const std::vector<broker::TopicPartition>& partitions) override;
  void OnRevoked(const std::vector<broker::TopicPartition>&) override {}

  void WorkerLoop();
  // A request and when the poller consumed it (the latency histogram's
  // start).
  struct Pending {
    broker::Message message;
    absl::Time polled;
  };

  void Handle(const broker::Message& message, absl::Time polled);
  void Respond(const std::string& department,
               const datarun::v1::QueryResponse& response);

  broker::Broker* const broker_;
  const resolver::Resolver* const resolver_;
  const QueryServerOptions options_;
  std::unique_ptr<broker::Producer> producer_;

  absl::Mutex mu_;
  std::deque<Pending> pending_ ABSL_GUARDED_BY(mu_);
  bool closing_ ABSL_GUARDED_BY(mu_) = false;
  std::vector<std::thread> workers_;

  std::atomic<bool> ready_{false};
  QueryServerCounters counters_;
};

}  // namespace datarun::query

#endif  // DATARUN_EXCHANGE_QUERY_QUERY_SERVER_H_
