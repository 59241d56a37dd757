#include "exchange/query/client/query_client.h"

#include <algorithm>
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
#include "exchange/seal/request_batch.h"
#include "exchange/seal/signed_bytes.h"
#include "google/protobuf/util/time_util.h"

namespace datarun::query {

// Marks the client assigned and starts every response partition at its
// end: only responses to requests sent from now on matter. The end is read
// here, before the client counts as assigned, not left to kOffsetEnd:
// librdkafka resolves kOffsetEnd later, when the fetcher starts, and a
// response produced in between (the first request right after Create) would
// lie before that end and never be read.
class AssignHandler : public broker::RebalanceHandler {
 public:
  explicit AssignHandler(QueryClient* client) : client_(client) {}
  absl::flat_hash_map<broker::TopicPartition, int64_t> OnAssigned(
      const std::vector<broker::TopicPartition>& partitions) override {
    absl::flat_hash_map<broker::TopicPartition, int64_t> out;
    for (const auto& tp : partitions) {
      auto wm = client_->consumer_->QueryWatermarks(tp, absl::Seconds(5));
      if (wm.ok()) {
        out[tp] = wm->high;
      } else {
        DR_LOG(WARNING) << "query client: end of " << broker::ToString(tp)
                        << " unknown (" << wm.status()
                        << "); starting at its end when fetched";
        out[tp] = broker::kOffsetEnd;
      }
    }
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
  // 1 ms: see QueryServer::Run (the embedded cluster holds empty fetches
  // for the whole wait).
  co.properties = {{"fetch.wait.max.ms", "1"},
                   {"session.timeout.ms", "6000"},
                   {"heartbeat.interval.ms", "500"}};
  for (const auto& [k, v] : options_.consumer_properties) co.properties[k] = v;
  ASSIGN_OR_RETURN(consumer_, broker_->NewConsumer(co));
  handler_ = std::make_unique<AssignHandler>(this);
  RETURN_IF_ERROR(consumer_->Subscribe({response_topic_}, handler_.get()));
  poller_ = std::thread([this] { PollLoop(); });
  {
    absl::MutexLock l(&mu_);
    auto joined = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
      return assigned_ || !consumer_error_.ok();
    };
    if (mu_.AwaitWithTimeout(absl::Condition(&joined), options_.join_timeout)) {
      return consumer_error_;
    }
  }
  // Whether the bus answers at all: the adapter's error then names the
  // address and the wait, which is what the user has to fix.
  auto probe =
      consumer_->QueryWatermarks({response_topic_, 0}, absl::Seconds(1));
  return absl::DeadlineExceededError(absl::StrCat(
      "the response consumer of ", response_topic_,
      " got no assignment within ", absl::FormatDuration(options_.join_timeout),
      probe.ok() ? "" : absl::StrCat(": ", probe.status().message())));
}

// The producer's own destructor lets requests still in flight finish (at
// most 10 s, not at all once every broker is down); their callers have
// already been answered or timed out.
QueryClient::~QueryClient() {
  stop_.store(true);
  if (poller_.joinable()) poller_.join();
  if (consumer_ != nullptr) consumer_->Close().IgnoreError();
}

void QueryClient::PollLoop() {
  std::vector<broker::Message> batch;
  while (!stop_.load()) {
    absl::Status st = consumer_->Poll(1024, absl::Milliseconds(50), &batch);
    if (!st.ok()) {
      absl::MutexLock l(&mu_);
      consumer_error_ = st;
      // Nothing more will arrive: wake every caller with the reason.
      for (auto& [id, w] : waiters_) {
        if (w->done.HasBeenNotified()) continue;
        w->error = st;
        w->done.Notify();
      }
      return;
    }
    if (batch.empty()) continue;
    if (options_.trace != nullptr) {
      const absl::Time now = absl::Now();
      for (const auto& m : batch)
        options_.trace->Mark(m.key, TraceStage::kClientReceived, now);
    }
    absl::MutexLock l(&mu_);
    for (auto& m : batch) {
      auto it = waiters_.find(m.key);
      // Not ours (another client of the department), or a duplicate.
      if (it == waiters_.end() || it->second->done.HasBeenNotified()) continue;
      it->second->value = std::move(m.value);
      it->second->done.Notify();
    }
  }
}

absl::Status QueryClient::SignBatched(datarun::v1::QueryRequest* request) {
  request->set_key_id(options_.signer->key_id());
  request->clear_signature();
  ToSign me{request};
  ASSIGN_OR_RETURN(me.signed_bytes,
                   seal::SignedBytes(*request, seal::kPurposeRequest));
  sign_mu_.Lock();
  to_sign_.push_back(&me);
  while (!me.done) {
    if (signing_) {
      auto turn = [this, &me]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(sign_mu_) {
        return me.done || !signing_;
      };
      sign_mu_.Await(absl::Condition(&turn));
      continue;
    }
    signing_ = true;
    if (options_.sign_linger > absl::ZeroDuration()) {
      auto full = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(sign_mu_) {
        return to_sign_.size() >= options_.max_sign_batch;
      };
      sign_mu_.AwaitWithTimeout(absl::Condition(&full), options_.sign_linger);
    }
    std::vector<ToSign*> batch;
    batch.swap(to_sign_);
    const size_t max_batch = std::max<size_t>(
        1, std::min(options_.max_sign_batch, seal::kMaxBatchSize));
    if (batch.size() > max_batch) {
      to_sign_.assign(batch.begin() + max_batch, batch.end());
      batch.resize(max_batch);
    }
    sign_mu_.Unlock();
    std::vector<std::string> bytes;
    bytes.reserve(batch.size());
    for (ToSign* t : batch) bytes.push_back(std::move(t->signed_bytes));
    absl::StatusOr<std::vector<std::string>> sigs =
        seal::SignBatch(*options_.signer, bytes);
    if (sigs.ok()) {
      ++stats_.signatures;
      stats_.signed_requests += batch.size();
    }
    for (size_t i = 0; i < batch.size(); ++i) {
      if (sigs.ok()) {
        batch[i]->request->set_signature(std::move((*sigs)[i]));
      } else {
        batch[i]->status = sigs.status();
      }
    }
    sign_mu_.Lock();
    for (ToSign* t : batch) t->done = true;
    signing_ = false;
  }
  sign_mu_.Unlock();
  return me.status;
}

absl::StatusOr<std::string> QueryClient::Send(
    datarun::v1::QueryRequest request) {
  if (request.subjects_size() == 0 || request.subjects(0).id().empty()) {
    return absl::InvalidArgumentError(
        "the request names no subject: its first subject id is the "
        "partitioning key of dr.query.req");
  }
  if (request.request_id().empty()) request.set_request_id(NewRequestId());
  if (options_.trace != nullptr)
    options_.trace->Mark(request.request_id(), TraceStage::kClientStart);
  request.set_requester_department(options_.department);
  if (!request.has_requested_at()) {
    *request.mutable_requested_at() =
        google::protobuf::util::TimeUtil::NanosecondsToTimestamp(
            absl::ToUnixNanos(absl::Now()));
  }
  if (options_.signer != nullptr) {
    if (options_.batch_signatures) {
      RETURN_IF_ERROR(SignBatched(&request));
    } else {
      RETURN_IF_ERROR(policy::SignRequest(*options_.signer, &request));
      ++stats_.signatures;
      ++stats_.signed_requests;
    }
  }
  const std::string id = request.request_id();
  auto waiter = std::make_shared<Waiter>();
  {
    absl::MutexLock l(&mu_);
    RETURN_IF_ERROR(consumer_error_);
    if (!waiters_.try_emplace(id, waiter).second) {
      return absl::AlreadyExistsError(
          absl::StrCat("request id ", id, " is already in flight"));
    }
  }
  const std::string value = request.SerializeAsString();
  broker::OutgoingMessage m;
  m.topic = kRequestTopic;
  m.key = request.subjects(0).id();
  m.value = value;
  if (options_.trace != nullptr)
    options_.trace->Mark(id, TraceStage::kClientProduce);
  absl::Status st = producer_->Send(
      m, [waiter](const absl::StatusOr<broker::DeliveryReport>& r) {
        waiter->delivery.store(r.ok() ? kDelivered : kNotDelivered);
      });
  if (!st.ok()) {
    absl::MutexLock l(&mu_);
    waiters_.erase(id);
    return st;
  }
  return id;
}

absl::StatusOr<datarun::v1::QueryResponse> QueryClient::Await(
    const std::string& request_id, absl::Duration timeout) {
  std::shared_ptr<Waiter> w;
  {
    absl::MutexLock l(&mu_);
    auto it = waiters_.find(request_id);
    if (it == waiters_.end()) {
      return absl::NotFoundError(absl::StrCat(
          "request ", request_id, " was not sent through this client"));
    }
    w = it->second;
  }
  const bool got = w->done.WaitForNotificationWithTimeout(timeout);
  if (got && options_.trace != nullptr)
    options_.trace->Mark(request_id, TraceStage::kCallerWoken);
  {
    absl::MutexLock l(&mu_);
    waiters_.erase(request_id);
  }
  if (!got) {
    const int delivery = w->delivery.load();
    return absl::DeadlineExceededError(absl::StrCat(
        "no response to request ", request_id, " on ", response_topic_,
        " within ", absl::FormatDuration(timeout),
        delivery == kDelivered
            ? " (is datarund running and serving the subject's partition?)"
            : absl::StrCat(" (the request itself was ",
                           delivery == kSending ? "not acknowledged by"
                                                : "not delivered to",
                           " the bus: is Kafka reachable?)")));
  }
  if (!w->error.ok()) return w->error;
  datarun::v1::QueryResponse response;
  if (!response.ParseFromString(w->value)) {
    return absl::DataLossError(absl::StrCat("the response to request ",
                                            request_id, " on ", response_topic_,
                                            " is not a QueryResponse"));
  }
  return response;
}

absl::StatusOr<datarun::v1::QueryResponse> QueryClient::Query(
    datarun::v1::QueryRequest request, absl::Duration timeout) {
  ASSIGN_OR_RETURN(std::string id, Send(std::move(request)));
  return Await(id, timeout);
}

}  // namespace datarun::query
