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
// Thread-safety: Query/Send/Await may be called from any number of threads.
#ifndef DATARUN_EXCHANGE_QUERY_CLIENT_QUERY_CLIENT_H_
#define DATARUN_EXCHANGE_QUERY_CLIENT_QUERY_CLIENT_H_

#include <atomic>
#include <map>
#include <memory>
#include <string>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "broker_adapters/broker.h"
#include "exchange/seal/seal.h"
#include "proto/datarun/v1/query.pb.h"

namespace datarun::query {

struct QueryClientOptions {
  std::string department;  // required; the requester of every request
  // Signs requests; null sends them unsigned (the exchange denies them:
  // for tests of that path). Not owned.
  const seal::Signer* signer = nullptr;
  std::string client_id = "datarun-query-client";
  // How long Create() waits for the response consumer to be assigned (the
  // embedded cluster's first join alone takes ~3 s).
  absl::Duration join_timeout = absl::Seconds(30);
  std::map<std::string, std::string> producer_properties;
  std::map<std::string, std::string> consumer_properties;
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
  // DeadlineExceeded after `timeout`.
  absl::StatusOr<datarun::v1::QueryResponse> Await(
      const std::string& request_id, absl::Duration timeout);

  // Send + Await.
  absl::StatusOr<datarun::v1::QueryResponse> Query(
      datarun::v1::QueryRequest request, absl::Duration timeout);

 private:
  struct Waiter {
    bool done = false;
    datarun::v1::QueryResponse response;
  };

  QueryClient(broker::Broker* broker, QueryClientOptions options);
  absl::Status Start();
  void PollLoop();

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
  absl::flat_hash_map<std::string, Waiter> waiters_ ABSL_GUARDED_BY(mu_);
  friend class AssignHandler;
};

}  // namespace datarun::query

#endif  // DATARUN_EXCHANGE_QUERY_CLIENT_QUERY_CLIENT_H_
