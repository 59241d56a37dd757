#include "exchange/query/query_server.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/log.h"
#include "common/status_macros.h"
#include "exchange/seal/key_store.h"
#include "proto/datarun/v1/query.pb.h"

namespace datarun::query {

QueryServer::QueryServer(broker::Broker* broker,
                         const resolver::Resolver* resolver,
                         QueryServerOptions options)
    : broker_(broker), resolver_(resolver), options_(std::move(options)) {}

QueryServer::~QueryServer() {
  {
    absl::MutexLock l(&mu_);
    closing_ = true;
  }
  for (auto& t : workers_) t.join();
}

absl::flat_hash_map<broker::TopicPartition, int64_t> QueryServer::OnAssigned(
    const std::vector<broker::TopicPartition>& partitions) {
  // Requests are answered live; older ones were someone else's or timed out.
  absl::flat_hash_map<broker::TopicPartition, int64_t> out;
  for (const auto& tp : partitions) out[tp] = broker::kOffsetEnd;
  if (!partitions.empty()) ready_.store(true);
  return out;
}

absl::Status QueryServer::Run(const std::atomic<bool>* stop) {
  broker::ProducerOptions po;
  po.client_id = options_.client_id;
  po.properties = {{"linger.ms", "1"}};
  for (const auto& [k, v] : options_.producer_properties) po.properties[k] = v;
  ASSIGN_OR_RETURN(producer_, broker_->NewProducer(po));
  broker::ConsumerOptions co;
  co.client_id = options_.client_id;
  co.group_id = options_.group_id;
  // The embedded cluster holds a fetch that finds no data for the whole
  // fetch.wait.max.ms (it is not woken by a produce), so the wait is added
  // to each request's hop; 1 ms measured 5.5 vs 4.1-4.4k/s against 5 ms
  // (docs/benchmarks.md). A real broker answers as soon as data arrives;
  // there the cost is only more empty fetches while idle.
  co.properties = {{"fetch.wait.max.ms", "1"}};
  for (const auto& [k, v] : options_.consumer_properties) co.properties[k] = v;
  ASSIGN_OR_RETURN(std::unique_ptr<broker::Consumer> consumer,
                   broker_->NewConsumer(co));
  RETURN_IF_ERROR(consumer->Subscribe({options_.request_topic}, this));
  {
    absl::MutexLock l(&mu_);
    closing_ = false;
  }
  for (int i = 0; i < std::max(1, options_.workers); ++i)
    workers_.emplace_back([this] { WorkerLoop(); });

  absl::Status result;
  std::vector<broker::Message> batch;
  while (!stop->load()) {
    absl::Status st = consumer->Poll(1024, options_.poll_timeout, &batch);
    if (!st.ok()) {
      result = st;
      break;
    }
    if (batch.empty()) continue;
    counters_.received += batch.size();
    const absl::Time polled = absl::Now();
    absl::MutexLock l(&mu_);
    auto has_room = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
      return pending_.size() < options_.max_pending;
    };
    for (auto& m : batch) {
      while (!has_room() && !stop->load()) {
        mu_.AwaitWithTimeout(absl::Condition(&has_room),
                             absl::Milliseconds(100));
      }
      pending_.push_back({std::move(m), polled});
    }
  }
  {
    absl::MutexLock l(&mu_);
    closing_ = true;
  }
  for (auto& t : workers_) t.join();
  workers_.clear();
  consumer->Close().IgnoreError();
  absl::Status flushed = producer_->Flush(absl::Seconds(10));
  if (result.ok() && !flushed.ok()) result = flushed;
  return result;
}

void QueryServer::WorkerLoop() {
  while (true) {
    Pending m;
    {
      absl::MutexLock l(&mu_);
      auto ready = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
        return closing_ || !pending_.empty();
      };
      mu_.Await(absl::Condition(&ready));
      if (pending_.empty()) return;  // closing, and nothing left to answer
      m = std::move(pending_.front());
      pending_.pop_front();
    }
    Handle(m.message, m.polled);
  }
}

void QueryServer::Handle(const broker::Message& m, absl::Time polled) {
  const absl::Time taken = absl::Now();
  if (options_.serves) {
    const absl::Time give_up = absl::Now() + options_.catch_up_wait;
    Serving s = options_.serves(m.partition);
    while (s == Serving::kCatchingUp && absl::Now() < give_up) {
      absl::SleepFor(absl::Milliseconds(5));
      s = options_.serves(m.partition);
    }
    if (s == Serving::kNotOwned) {
      ++counters_.not_served;
      return;
    }
    if (s == Serving::kCatchingUp) {
      ++counters_.catch_up_timeouts;
      DR_LOG(WARNING) << broker::ToString({m.topic, m.partition}) << " offset "
                      << m.offset << ": ingest of the partition did not catch "
                      << "up within " << options_.catch_up_wait
                      << "; request dropped";
      return;
    }
  }
  datarun::v1::QueryRequest request;
  // Without a parsable request and a valid department there is nowhere to
  // answer; such messages are logged and dropped (never audited: they name
  // no requester).
  if (!request.ParseFromString(m.value)) {
    ++counters_.malformed;
    DR_LOG(WARNING) << broker::ToString({m.topic, m.partition}) << " offset "
                    << m.offset << ": not a QueryRequest; dropped";
    return;
  }
  absl::Status dept = seal::CheckKeyName("requester_department",
                                         request.requester_department());
  if (!dept.ok() || request.request_id().empty()) {
    ++counters_.malformed;
    DR_LOG(WARNING) << broker::ToString({m.topic, m.partition}) << " offset "
                    << m.offset << ": "
                    << (dept.ok() ? "request_id is empty" : dept.message())
                    << "; dropped";
    return;
  }
  QueryTrace* const trace = options_.trace;
  if (trace != nullptr) {
    trace->Mark(request.request_id(), TraceStage::kServerPolled, polled);
    trace->Mark(request.request_id(), TraceStage::kWorkerTaken, taken);
  }
  const absl::Time start = absl::Now();
  absl::StatusOr<datarun::v1::QueryResponse> response;
  if (trace != nullptr) {
    QueryTrace::ScopedRequest current(request.request_id());
    response = resolver_->Handle(request);
    trace->Mark(request.request_id(), TraceStage::kResolved);
  } else {
    response = resolver_->Handle(request);
  }
  const absl::Time end = absl::Now();
  if (!response.ok()) {
    // The audit event was not acknowledged (or state failed): nothing may
    // leave. The client times out.
    ++counters_.failed;
    if (options_.metrics != nullptr) options_.metrics->Failed(request.kind());
    DR_LOG(ERROR) << "request " << request.request_id() << " of "
                  << request.requester_department()
                  << " not answered: " << response.status();
    return;
  }
  Respond(request.requester_department(), *response);
  if (options_.metrics != nullptr) {
    options_.metrics->Observe(request.kind(), request.matter(), *response,
                              absl::Now() - polled);
  }
  counters_.queued_us +=
      std::max<int64_t>(0, absl::ToInt64Microseconds(taken - m.timestamp));
  counters_.handle_us += absl::ToInt64Microseconds(end - start);
}

void QueryServer::Respond(const std::string& department,
                          const datarun::v1::QueryResponse& response) {
  const std::string topic = ResponseTopic(department);
  const std::string value = response.SerializeAsString();
  broker::OutgoingMessage out;
  out.topic = topic;
  out.key = response.request_id();
  out.value = value;
  QueryTrace* const trace = options_.trace;
  if (trace != nullptr)
    trace->Mark(response.request_id(), TraceStage::kResponseProduce);
  absl::Status st = producer_->Send(
      out, [this, id = response.request_id(), topic,
            trace](const absl::StatusOr<broker::DeliveryReport>& r) {
        if (r.ok()) {
          if (trace != nullptr) trace->Mark(id, TraceStage::kResponseDelivered);
          ++counters_.delivered;
        } else {
          ++counters_.send_failed;
          DR_LOG(ERROR) << "response " << id << " to " << topic
                        << " lost: " << r.status();
        }
      });
  if (st.ok()) {
    ++counters_.answered;
  } else {
    ++counters_.send_failed;
    DR_LOG(ERROR) << "response " << response.request_id() << " to " << topic
                  << " not sent: " << st;
  }
}

}  // namespace datarun::query
