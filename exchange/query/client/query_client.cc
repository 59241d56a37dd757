#include "exchange/query/client/query_client.h"

#include <utility>
#include <vector>

#include "absl/random/random.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "common/log.h"
#include "common/status_macros.h"
#include "exchange/policy/policy.h"
#include "exchange/query/topics.h"
#include "exchange/seal/key_store.h"
#include "google/protobuf/util/time_util.h"

namespace datarun::query {

// Marks the client assigned and starts every response partition at its
// end: only responses to requests sent from now on matter.
class AssignHandler : public broker::RebalanceHandler {
 public:
  explicit AssignHandler(QueryClient* client) : client_(client) {}
  absl::flat_hash_map<broker::TopicPartition, int64_t> OnAssigned(
      const std::vector<broker::TopicPartition>& partitions) override {
    absl::flat_hash_map<broker::TopicPartition, int64_t> out;
    for (const auto& tp : partitions) out[tp] = broker::kOffsetEnd;
    absl::MutexLock l(&client_->mu_);
    if (!partitions.empty()) client_->assigned_ = true;
    return out;
  }
  void OnRevoked(const std::vector<broker::TopicPartition>&) override {}

 private:
  QueryClient* const client_;
};

namespace {

std::string NewRequestId() {
  thread_local absl::BitGen gen;
  char bytes[16];
  for (char& b : bytes) b = static_cast<char>(absl::Uniform<uint8_t>(gen));
  return absl::BytesToHexString(absl::string_view(bytes, sizeof(bytes)));
}

}  // namespace

QueryClient::QueryClient(broker::Broker* broker, QueryClientOptions options)
    : broker_(broker),
      options_(std::move(options)),
      response_topic_(ResponseTopic(options_.department)) {}

absl::StatusOr<std::unique_ptr<QueryClient>> QueryClient::Create(
    broker::Broker* broker, QueryClientOptions options) {
  RETURN_IF_ERROR(seal::CheckKeyName("department", options.department));
  if (options.signer != nullptr &&
      options.signer->department() != options.department) {
    return absl::InvalidArgumentError(absl::StrCat(
        "the signer's key belongs to ", options.signer->department(),
        ", not to the requesting department ", options.department));
  }
  std::unique_ptr<QueryClient> client(
      new QueryClient(broker, std::move(options)));
  RETURN_IF_ERROR(client->Start());
  return client;
}

absl::Status QueryClient::Start() {
  broker::ProducerOptions po;
  po.client_id = options_.client_id;
  po.properties = {{"linger.ms", "1"}};
  for (const auto& [k, v] : options_.producer_properties) po.properties[k] = v;
  ASSIGN_OR_RETURN(producer_, broker_->NewProducer(po));
  broker::ConsumerOptions co;
  co.client_id = options_.client_id;
  co.group_id = absl::StrCat(options_.client_id, "-", options_.department, "-",
                             NewRequestId());
  co.properties = {{"fetch.wait.max.ms", "5"},
                   {"session.timeout.ms", "6000"},
                   {"heartbeat.interval.ms", "500"}};
  for (const auto& [k, v] : options_.consumer_properties) co.properties[k] = v;
  ASSIGN_OR_RETURN(consumer_, broker_->NewConsumer(co));
  handler_ = std::make_unique<AssignHandler>(this);
  RETURN_IF_ERROR(consumer_->Subscribe({response_topic_}, handler_.get()));
  poller_ = std::thread([this] { PollLoop(); });
  absl::MutexLock l(&mu_);
  auto joined = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return assigned_ || !consumer_error_.ok();
  };
  if (!mu_.AwaitWithTimeout(absl::Condition(&joined), options_.join_timeout)) {
    return absl::DeadlineExceededError(
        absl::StrCat("the response consumer of ", response_topic_,
                     " got no assignment within ",
                     absl::FormatDuration(options_.join_timeout)));
  }
  return consumer_error_;
}

QueryClient::~QueryClient() {
  stop_.store(true);
  if (poller_.joinable()) poller_.join();
  if (consumer_ != nullptr) consumer_->Close().IgnoreError();
  if (producer_ != nullptr) producer_->Flush(absl::Seconds(5)).IgnoreError();
}

void QueryClient::PollLoop() {
  std::vector<broker::Message> batch;
  while (!stop_.load()) {
    absl::Status st = consumer_->Poll(1024, absl::Milliseconds(50), &batch);
    if (!st.ok()) {
      absl::MutexLock l(&mu_);
      consumer_error_ = st;
      return;
    }
    if (batch.empty()) continue;
    absl::MutexLock l(&mu_);
    for (const auto& m : batch) {
      auto it = waiters_.find(m.key);
      if (it == waiters_.end() || it->second.done) continue;  // not ours
      if (!it->second.response.ParseFromString(m.value)) {
        DR_LOG(WARNING) << response_topic_ << " offset " << m.offset
                        << ": response to " << m.key
                        << " is not a QueryResponse; ignored";
        continue;
      }
      it->second.done = true;
    }
  }
}

absl::StatusOr<std::string> QueryClient::Send(
    datarun::v1::QueryRequest request) {
  if (request.subjects_size() == 0 || request.subjects(0).id().empty()) {
    return absl::InvalidArgumentError(
        "the request names no subject: its first subject id is the "
        "partitioning key of dr.query.req");
  }
  if (request.request_id().empty()) request.set_request_id(NewRequestId());
  request.set_requester_department(options_.department);
  if (!request.has_requested_at()) {
    *request.mutable_requested_at() =
        google::protobuf::util::TimeUtil::NanosecondsToTimestamp(
            absl::ToUnixNanos(absl::Now()));
  }
  if (options_.signer != nullptr) {
    RETURN_IF_ERROR(policy::SignRequest(*options_.signer, &request));
  }
  const std::string id = request.request_id();
  {
    absl::MutexLock l(&mu_);
    RETURN_IF_ERROR(consumer_error_);
    if (!waiters_.try_emplace(id).second) {
      return absl::AlreadyExistsError(
          absl::StrCat("request id ", id, " is already in flight"));
    }
  }
  const std::string value = request.SerializeAsString();
  broker::OutgoingMessage m;
  m.topic = kRequestTopic;
  m.key = request.subjects(0).id();
  m.value = value;
  absl::Status st = producer_->Send(m, nullptr);
  if (!st.ok()) {
    absl::MutexLock l(&mu_);
    waiters_.erase(id);
    return st;
  }
  return id;
}

absl::StatusOr<datarun::v1::QueryResponse> QueryClient::Await(
    const std::string& request_id, absl::Duration timeout) {
  absl::MutexLock l(&mu_);
  auto it = waiters_.find(request_id);
  if (it == waiters_.end()) {
    return absl::NotFoundError(absl::StrCat(
        "request ", request_id, " was not sent through this client"));
  }
  auto done = [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return waiters_[request_id].done || !consumer_error_.ok();
  };
  const bool got = mu_.AwaitWithTimeout(absl::Condition(&done), timeout);
  it = waiters_.find(request_id);
  if (got && it->second.done) {
    datarun::v1::QueryResponse r = std::move(it->second.response);
    waiters_.erase(it);
    return r;
  }
  waiters_.erase(it);
  if (!consumer_error_.ok()) return consumer_error_;
  return absl::DeadlineExceededError(
      absl::StrCat("no response to request ", request_id, " on ",
                   response_topic_, " within ", absl::FormatDuration(timeout),
                   " (is datarund running and serving the subject's "
                   "partition?)"));
}

absl::StatusOr<datarun::v1::QueryResponse> QueryClient::Query(
    datarun::v1::QueryRequest request, absl::Duration timeout) {
  ASSIGN_OR_RETURN(std::string id, Send(std::move(request)));
  return Await(id, timeout);
}

}  // namespace datarun::query
