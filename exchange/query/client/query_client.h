// QueryClient: what a department system links to ask the exchange over the
// bus. It signs each request with the department's seal key, publishes it
// to dr.query.req keyed by the (first) subject id, and awaits the response
// with the same request id on dr.query.resp.<department>.
//
// One response consumer per client, in a consumer group of its own (two
// clients of one department must each see every response partition; a
// shared group would split them). It starts at the end of the topic once
// assigned: Create() returns only after that, so no response to a request
// sent through this client can be missed. Responses to other clients of
// the department are read and dropped; duplicates (hand-over between
// exchange instances) are dropped after the first.
//
// Waiting: each request has its own slot and notification, so a response
// wakes only its caller (not every waiter), and the response is parsed on
// the caller's thread, not on the single poller.
//
// Thread-safety: Query/Send/Await may be called from any number of threads.
#ifndef DATARUN_EXCHANGE_QUERY_CLIENT_QUERY_CLIENT_H_
#define DATARUN_EXCHANGE_QUERY_CLIENT_QUERY_CLIENT_H_

#include <atomic>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "broker_adapters/broker.h"
#include "exchange/query/query_trace.h"
#include "exchange/seal/seal.h"
#include "proto/datarun/v1/query.pb.h"

namespace datarun::query {

struct QueryClientOptions {
  std::string department;  // required; the requester of every request
  // Signs requests; null sends them unsigned (the exchange denies them:
  // for tests of that path). Not owned.
  const seal::Signer* signer = nullptr;
  // Sign concurrent requests as one batch: the signer signs the Merkle root
  // of the requests that are waiting to be signed, each request carries that
  // signature and its inclusion path (exchange/seal/request_batch.h). Each
  // request stays verifiable on its own; a batch costs one signature here
  // and one verification at the exchange. False: one signature per request.
  bool batch_signatures = true;
  // How long a batch's signer waits for more requests to join before
  // signing (it stops waiting at max_sign_batch). Closed-loop callers
  // rarely overlap within one ~80 us Ed25519 signature, so without a wait
  // batches stay at ~1.2 requests; the wait is added to each request's
  // latency, like the producer's linger.ms.
  absl::Duration sign_linger = absl::Milliseconds(1);
  size_t max_sign_batch = 256;
  std::string client_id = "datarun-query-client";
  // How long Create() waits for the response consumer to be assigned (the
  // embedded cluster's first join alone takes ~3 s). Against an unreachable
  // bus Create fails after it (plus a 1 s probe that names the address).
  absl::Duration join_timeout = absl::Seconds(30);
  std::map<std::string, std::string> producer_properties;
  std::map<std::string, std::string> consumer_properties;
  // Debug: per-stage timestamps of each request (exchange/query/
  // query_trace.h). Not owned; null outside benchmarks and tests.
  QueryTrace* trace = nullptr;
};

// What signing cost: signed_requests / signatures is the mean batch size.
struct QueryClientStats {
  std::atomic<uint64_t> signed_requests{0};
  std::atomic<uint64_t> signatures{0};  // asymmetric signatures made
};

class QueryClient {
 public:
  // `broker` is not owned and must outlive the client.
  static absl::StatusOr<std::unique_ptr<QueryClient>> Create(
      broker::Broker* broker, QueryClientOptions options);
  ~QueryClient();
  QueryClient(const QueryClient&) = delete;
  QueryClient& operator=(const QueryClient&) = delete;

  // Fills request_id (when empty), requester_department, requested_at (when
  // unset), signs, sends; returns the request id. The request must name a
  // subject (it is the partitioning key).
  absl::StatusOr<std::string> Send(datarun::v1::QueryRequest request);

  // The response to `request_id` (sent through this client), or
  // DeadlineExceeded after `timeout` (saying whether the bus acknowledged
  // the request: if not, the bus is the likely cause, not datarund).
  absl::StatusOr<datarun::v1::QueryResponse> Await(
      const std::string& request_id, absl::Duration timeout);

  // Send + Await.
  absl::StatusOr<datarun::v1::QueryResponse> Query(
      datarun::v1::QueryRequest request, absl::Duration timeout);

  const QueryClientStats& stats() const { return stats_; }

 private:
  // One request in flight. `value` (the serialized response) or `error`
  // is set before `done` is notified, and not touched after.
  struct Waiter {
    absl::Notification done;
    std::string value;
    absl::Status error;
    // The request's delivery to dr.query.req: kSending until the producer
    // reported it (set on the producer's thread), so that a timeout can
    // say whether the bus ever took the request.
    std::atomic<int> delivery{kSending};
  };
  static constexpr int kSending = 0;
  static constexpr int kDelivered = 1;
  static constexpr int kNotDelivered = 2;

  // A request waiting in SignBatched for the batch it joined.
  struct ToSign {
    datarun::v1::QueryRequest* request;
    std::string signed_bytes;
    bool done = false;
    absl::Status status;
  };

  QueryClient(broker::Broker* broker, QueryClientOptions options);
  absl::Status Start();
  void PollLoop();
  // Group signing: the first caller to find no signer active signs every
  // request queued by then (its own included) with one signature; callers
  // arriving meanwhile queue for the next batch.
  absl::Status SignBatched(datarun::v1::QueryRequest* request);

  broker::Broker* const broker_;
  const QueryClientOptions options_;
  const std::string response_topic_;
  std::unique_ptr<broker::Producer> producer_;
  std::unique_ptr<broker::RebalanceHandler> handler_;
  std::unique_ptr<broker::Consumer> consumer_;
  std::thread poller_;
  std::atomic<bool> stop_{false};

  absl::Mutex mu_;
  bool assigned_ ABSL_GUARDED_BY(mu_) = false;
  absl::Status consumer_error_ ABSL_GUARDED_BY(mu_);
  // Requests sent and not yet awaited to the end.
  // Shared with the poller, which may notify a waiter whose Await has
  // just timed out.
  absl::flat_hash_map<std::string, std::shared_ptr<Waiter>> waiters_
      ABSL_GUARDED_BY(mu_);

  QueryClientStats stats_;
  absl::Mutex sign_mu_;
  std::vector<ToSign*> to_sign_ ABSL_GUARDED_BY(sign_mu_);
  bool signing_ ABSL_GUARDED_BY(sign_mu_) = false;
  friend class AssignHandler;
};

}  // namespace datarun::query

#endif  // DATARUN_EXCHANGE_QUERY_CLIENT_QUERY_CLIENT_H_
