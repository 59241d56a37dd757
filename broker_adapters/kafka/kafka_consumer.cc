#include <algorithm>
#include <set>
#include <string>

#include "absl/strings/str_cat.h"
#include "broker_adapters/kafka/client_config.h"
#include "broker_adapters/kafka/kafka_clients.h"
#include "broker_adapters/kafka/status.h"
#include "common/log.h"
#include "common/status_macros.h"

namespace datarun::broker::kafka_internal {
namespace {

// Rounded up: librdkafka waits whole milliseconds, and rounding down made
// the last < 1 ms of every wait a busy loop of zero-timeout polls.
int TimeoutMs(absl::Duration d) {
  return static_cast<int>(std::clamp<int64_t>(
      absl::ToInt64Milliseconds(absl::Ceil(d, absl::Milliseconds(1))), 0,
      1 << 30));
}

// Owns an rd_kafka_topic_partition_list_t.
struct PartitionList {
  explicit PartitionList(const std::vector<TopicPartition>& tps)
      : list(rd_kafka_topic_partition_list_new(static_cast<int>(tps.size()))) {
    for (const auto& tp : tps) {
      rd_kafka_topic_partition_list_add(list, tp.topic.c_str(), tp.partition);
    }
  }
  ~PartitionList() { rd_kafka_topic_partition_list_destroy(list); }
  rd_kafka_topic_partition_list_t* list;
};

std::vector<TopicPartition> ToVector(
    const rd_kafka_topic_partition_list_t* list) {
  std::vector<TopicPartition> out;
  out.reserve(list->cnt);
  for (int i = 0; i < list->cnt; ++i) {
    out.push_back({list->elems[i].topic, list->elems[i].partition});
  }
  std::sort(out.begin(), out.end());
  return out;
}

// Holds librdkafka's messages (which reference its fetch buffers) and
// views into them; destroying the batch releases them.
class KafkaPolledBatch : public PolledBatch {
 public:
  ~KafkaPolledBatch() override {
    for (rd_kafka_message_t* m : owned_) rd_kafka_message_destroy(m);
  }
  void Reserve(size_t n) {
    owned_.reserve(n);
    views_.reserve(n);
  }
  void Add(rd_kafka_message_t* m) {
    owned_.push_back(m);
    MessageView& v = views_.emplace_back();
    // The topic name lives as long as the message's topic handle.
    v.topic = rd_kafka_topic_name(m->rkt);
    v.partition = m->partition;
    v.offset = m->offset;
    if (m->key != nullptr) {
      v.key = absl::string_view(static_cast<const char*>(m->key), m->key_len);
    }
    if (m->payload != nullptr) {
      v.value = absl::string_view(static_cast<const char*>(m->payload), m->len);
    }
  }
  Headers headers(size_t i) const override {
    Headers out;
    VisitHeaders(i, [&out](absl::string_view name, absl::string_view value) {
      out.emplace_back(std::string(name), std::string(value));
    });
    return out;
  }
  void VisitHeaders(
      size_t i,
      absl::FunctionRef<void(absl::string_view, absl::string_view)> visit)
      const override {
    // librdkafka parses the headers once per message and keeps them with
    // it, so the views live as long as the batch.
    rd_kafka_headers_t* headers = nullptr;
    if (rd_kafka_message_headers(owned_[i], &headers) !=
        RD_KAFKA_RESP_ERR_NO_ERROR) {
      return;
    }
    const char* name;
    const void* value;
    size_t size;
    for (size_t h = 0;
         rd_kafka_header_get_all(headers, h, &name, &value, &size) ==
         RD_KAFKA_RESP_ERR_NO_ERROR;
         ++h) {
      visit(name,
            value == nullptr
                ? absl::string_view()
                : absl::string_view(static_cast<const char*>(value), size));
    }
  }
  absl::Time timestamp(size_t i) const override {
    rd_kafka_timestamp_type_t type;
    const int64_t ts = rd_kafka_message_timestamp(owned_[i], &type);
    return ts >= 0 ? absl::FromUnixMillis(ts) : absl::UnixEpoch();
  }

 private:
  std::vector<rd_kafka_message_t*> owned_;
};

class KafkaConsumer : public Consumer {
 public:
  absl::Status Init(rd_kafka_conf_t* conf) {
    rd_kafka_conf_set_opaque(conf, this);
    rd_kafka_conf_set_rebalance_cb(conf, &KafkaConsumer::OnRebalance);
    char bootstrap[1024];
    size_t size = sizeof(bootstrap);
    if (rd_kafka_conf_get(conf, "bootstrap.servers", bootstrap, &size) ==
        RD_KAFKA_CONF_OK) {
      bootstrap_ = absl::StrCat("bootstrap.servers=", bootstrap);
    }
    auto rk = NewHandle(RD_KAFKA_CONSUMER, conf);
    if (!rk.ok()) return rk.status();
    rk_ = *rk;
    rd_kafka_poll_set_consumer(rk_);
    queue_ = rd_kafka_queue_get_consumer(rk_);
    return absl::OkStatus();
  }

  ~KafkaConsumer() override {
    if (rk_ == nullptr) return;
    Close().IgnoreError();
    if (queue_ != nullptr) rd_kafka_queue_destroy(queue_);
    rd_kafka_destroy(rk_);
  }

  absl::Status Subscribe(const std::vector<std::string>& topics,
                         RebalanceHandler* handler) override {
    if (closed_) return absl::FailedPreconditionError("consumer is closed");
    if (handler == nullptr) {
      return absl::InvalidArgumentError("Subscribe: null RebalanceHandler");
    }
    if (topics.empty()) {
      return absl::InvalidArgumentError("Subscribe: empty topic list");
    }
    handler_ = handler;
    PartitionList list({});
    for (const std::string& t : topics) {
      rd_kafka_topic_partition_list_add(list.list, t.c_str(),
                                        RD_KAFKA_PARTITION_UA);
    }
    rd_kafka_resp_err_t err = rd_kafka_subscribe(rk_, list.list);
    return KafkaStatus(err, "subscribe");
  }

  absl::Status Poll(size_t max_messages, absl::Duration timeout,
                    std::vector<Message>* out) override {
    out->clear();
    size_t n = 0;
    absl::Status status = Fetch(max_messages, timeout, &n);
    out->reserve(n);
    for (size_t i = 0; i < n; ++i) {
      rd_kafka_message_t* m = batch_[i];
      if (status.ok()) {
        if (m->err == RD_KAFKA_RESP_ERR_NO_ERROR) {
          Append(m, out);
        } else {
          status = HandleError(m);
        }
      }
      rd_kafka_message_destroy(m);
    }
    if (!status.ok()) out->clear();
    return status;
  }

  absl::Status PollBatch(size_t max_messages, absl::Duration timeout,
                         std::unique_ptr<PolledBatch>* out) override {
    out->reset();
    size_t n = 0;
    absl::Status status = Fetch(max_messages, timeout, &n);
    auto batch = std::make_unique<KafkaPolledBatch>();
    batch->Reserve(n);
    for (size_t i = 0; i < n; ++i) {
      rd_kafka_message_t* m = batch_[i];
      if (status.ok() && m->err == RD_KAFKA_RESP_ERR_NO_ERROR) {
        batch->Add(m);  // owned by the batch from here
        continue;
      }
      if (status.ok()) status = HandleError(m);
      rd_kafka_message_destroy(m);
    }
    if (!status.ok()) return status;  // the batch frees what it took
    *out = std::move(batch);
    return absl::OkStatus();
  }

  absl::Status Seek(const TopicPartition& tp, int64_t offset) override {
    if (assignment_.count(tp) == 0) {
      return absl::FailedPreconditionError(
          absl::StrCat("Seek: ", ToString(tp), " is not assigned"));
    }
    PartitionList list({tp});
    list.list->elems[0].offset = offset;
    rd_kafka_error_t* error = rd_kafka_seek_partitions(rk_, list.list, 5000);
    if (error != nullptr) {
      absl::Status s = KafkaStatus(rd_kafka_error_code(error),
                                   absl::StrCat("seek ", ToString(tp)));
      rd_kafka_error_destroy(error);
      return s;
    }
    return KafkaStatus(list.list->elems[0].err,
                       absl::StrCat("seek ", ToString(tp)));
  }

  absl::Status Pause(const std::vector<TopicPartition>& partitions) override {
    for (const auto& tp : partitions) {
      if (assignment_.count(tp) == 0) {
        return absl::FailedPreconditionError(
            absl::StrCat("Pause: ", ToString(tp), " is not assigned"));
      }
    }
    PartitionList list(partitions);
    return KafkaStatus(rd_kafka_pause_partitions(rk_, list.list), "pause");
  }

  absl::Status Resume(const std::vector<TopicPartition>& partitions) override {
    std::vector<TopicPartition> assigned;
    for (const auto& tp : partitions) {
      if (assignment_.count(tp) > 0) assigned.push_back(tp);
    }
    PartitionList list(assigned);
    return KafkaStatus(rd_kafka_resume_partitions(rk_, list.list), "resume");
  }

  std::vector<TopicPartition> Assignment() const override {
    return {assignment_.begin(), assignment_.end()};
  }

  // Not rd_kafka_query_watermark_offsets: in librdkafka 2.0.2 its wait for
  // the two ListOffsets replies has no deadline (it serves its reply queue
  // until both requests finish), so against a leader that went away it
  // blocked for minutes whatever the timeout. rd_kafka_offsets_for_times
  // sends the same request (the logical offsets -2 and -1 are the
  // "earliest" and "latest" timestamps of ListOffsets, so the same
  // isolation level applies) and stops waiting at its deadline. One call
  // per watermark: a ListOffsets request may not name a partition twice.
  absl::StatusOr<Watermarks> QueryWatermarks(const TopicPartition& tp,
                                             absl::Duration timeout) override {
    const absl::Time deadline = absl::Now() + timeout;
    Watermarks w;
    RETURN_IF_ERROR(
        ListOffset(tp, kOffsetBeginning, deadline, timeout, &w.low));
    RETURN_IF_ERROR(ListOffset(tp, kOffsetEnd, deadline, timeout, &w.high));
    // An empty partition may report no earliest offset.
    if (w.low < 0 && w.high >= 0) w.low = w.high;
    return w;
  }

  // broker.h. Bounded by `timeout` like QueryWatermarks (the same
  // ListOffsets request, with times instead of logical offsets).
  absl::StatusOr<std::vector<int64_t>> OffsetsForTimes(
      const std::vector<std::pair<TopicPartition, absl::Time>>& query,
      absl::Duration timeout) override {
    std::vector<TopicPartition> tps;
    for (const auto& [tp, t] : query) tps.push_back(tp);
    PartitionList list(tps);
    for (size_t i = 0; i < query.size(); ++i) {
      list.list->elems[i].offset = absl::ToUnixMillis(query[i].second);
    }
    rd_kafka_resp_err_t err =
        rd_kafka_offsets_for_times(rk_, list.list, TimeoutMs(timeout));
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
      return KafkaStatus(err, "offsets for times");
    }
    std::vector<int64_t> out;
    for (int i = 0; i < list.list->cnt; ++i) {
      const auto& e = list.list->elems[i];
      if (e.err != RD_KAFKA_RESP_ERR_NO_ERROR) {
        return KafkaStatus(
            e.err, absl::StrCat("offset for time of ", ToString(tps[i])));
      }
      out.push_back(e.offset < 0 ? kOffsetEnd : e.offset);
    }
    return out;
  }

  absl::Status Close() override {
    if (closed_ || rk_ == nullptr) return absl::OkStatus();
    closed_ = true;
    // Fires the revoke callback for the whole assignment.
    return KafkaStatus(rd_kafka_consumer_close(rk_), "closing consumer");
  }

 private:
  static void OnRebalance(rd_kafka_t* rk, rd_kafka_resp_err_t err,
                          rd_kafka_topic_partition_list_t* partitions,
                          void* opaque) {
    auto* self = static_cast<KafkaConsumer*>(opaque);
    if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
      std::vector<TopicPartition> tps = ToVector(partitions);
      absl::flat_hash_map<TopicPartition, int64_t> starts;
      if (self->handler_ != nullptr) starts = self->handler_->OnAssigned(tps);
      for (int i = 0; i < partitions->cnt; ++i) {
        auto& e = partitions->elems[i];
        auto it = starts.find(TopicPartition{e.topic, e.partition});
        e.offset = it == starts.end() ? kOffsetBeginning : it->second;
      }
      rd_kafka_resp_err_t aerr = rd_kafka_assign(rk, partitions);
      if (aerr != RD_KAFKA_RESP_ERR_NO_ERROR) {
        self->callback_status_ = KafkaStatus(aerr, "assigning partitions");
        return;
      }
      // broker.h: pausing does not outlive a revocation, whatever
      // librdkafka remembers about the partition.
      rd_kafka_resume_partitions(rk, partitions);
      self->assignment_.clear();
      self->assignment_.insert(tps.begin(), tps.end());
    } else {
      std::vector<TopicPartition> tps = ToVector(partitions);
      if (self->handler_ != nullptr && !tps.empty()) {
        self->handler_->OnRevoked(tps);
      }
      rd_kafka_assign(rk, nullptr);
      self->assignment_.clear();
    }
  }

  // The offset ListOffsets gives for `which` (kOffsetBeginning or
  // kOffsetEnd), waiting until `deadline` at most.
  absl::Status ListOffset(const TopicPartition& tp, int64_t which,
                          absl::Time deadline, absl::Duration timeout,
                          int64_t* out) {
    PartitionList list({tp});
    list.list->elems[0].offset = which;
    rd_kafka_resp_err_t err = rd_kafka_offsets_for_times(
        rk_, list.list, TimeoutMs(deadline - absl::Now()));
    if (err == RD_KAFKA_RESP_ERR_NO_ERROR) err = list.list->elems[0].err;
    if (err == RD_KAFKA_RESP_ERR_NO_ERROR) {
      *out = list.list->elems[0].offset;
      return absl::OkStatus();
    }
    const std::string what = absl::StrCat("watermarks of ", ToString(tp));
    switch (err) {
      case RD_KAFKA_RESP_ERR__TIMED_OUT:
      case RD_KAFKA_RESP_ERR__TRANSPORT:
      case RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN:
        // What the caller needs to act on: nobody answered, where, and how
        // long we waited.
        return absl::UnavailableError(absl::StrCat(
            "no Kafka broker answered at ", bootstrap_, " within ",
            absl::FormatDuration(timeout), " (", what,
            "): ", rd_kafka_err2name(err), ": ", rd_kafka_err2str(err)));
      default:
        return KafkaStatus(err, what);
    }
  }

  absl::Status HandleError(const rd_kafka_message_t* m) {
    if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) return absl::OkStatus();
    const std::string where =
        m->rkt != nullptr
            ? absl::StrCat(rd_kafka_topic_name(m->rkt), "[", m->partition, "]")
            : std::string("consumer");
    char errstr[512];
    if (m->err == RD_KAFKA_RESP_ERR__FATAL ||
        rd_kafka_fatal_error(rk_, errstr, sizeof(errstr)) !=
            RD_KAFKA_RESP_ERR_NO_ERROR) {
      return absl::InternalError(absl::StrCat(
          "fatal consumer error on ", where, ": ", rd_kafka_message_errstr(m)));
    }
    absl::Status s = KafkaStatus(m->err, where);
    switch (s.code()) {
      case absl::StatusCode::kPermissionDenied:
      case absl::StatusCode::kUnauthenticated:
      case absl::StatusCode::kInvalidArgument:
        return absl::Status(s.code(), absl::StrCat(s.message(), ": ",
                                                   rd_kafka_message_errstr(m)));
      default:
        // Transient (broker down, leader moving, topic not created yet):
        // librdkafka retries by itself.
        DR_LOG(WARNING) << "consumer: " << s << ": "
                        << rd_kafka_message_errstr(m);
        return absl::OkStatus();
    }
  }

  // Waits up to `timeout` for the first message, then takes whatever else
  // is already fetched in one batch call (one queue lock instead of one per
  // message) without waiting for the batch to fill: latency matters more
  // than batch size to the callers. The n messages are in batch_[0, n) and
  // owned by the caller, also when an error is returned.
  absl::Status Fetch(size_t max_messages, absl::Duration timeout, size_t* n) {
    *n = 0;
    if (closed_) return absl::FailedPreconditionError("consumer is closed");
    if (max_messages == 0) return absl::OkStatus();
    const absl::Time deadline = absl::Now() + timeout;
    rd_kafka_message_t* first = nullptr;
    while (first == nullptr) {
      first = rd_kafka_consumer_poll(rk_, TimeoutMs(deadline - absl::Now()));
      absl::Status s = std::exchange(callback_status_, absl::OkStatus());
      if (!s.ok()) {
        if (first != nullptr) rd_kafka_message_destroy(first);
        return s;
      }
      if (first == nullptr && absl::Now() >= deadline) return absl::OkStatus();
    }
    batch_.resize(max_messages);
    batch_[0] = first;
    *n = 1;
    if (max_messages > 1) {
      const ssize_t more = rd_kafka_consume_batch_queue(
          queue_, 0, batch_.data() + 1, max_messages - 1);
      if (more > 0) *n += static_cast<size_t>(more);
    }
    return std::exchange(callback_status_, absl::OkStatus());
  }

  static void Append(const rd_kafka_message_t* m, std::vector<Message>* out) {
    Message& msg = out->emplace_back();
    msg.topic = rd_kafka_topic_name(m->rkt);
    msg.partition = m->partition;
    msg.offset = m->offset;
    if (m->key != nullptr) {
      msg.key.assign(static_cast<const char*>(m->key), m->key_len);
    }
    if (m->payload != nullptr) {
      msg.value.assign(static_cast<const char*>(m->payload), m->len);
    }
    rd_kafka_headers_t* headers = nullptr;
    if (rd_kafka_message_headers(m, &headers) == RD_KAFKA_RESP_ERR_NO_ERROR) {
      const char* name;
      const void* value;
      size_t size;
      for (size_t i = 0;
           rd_kafka_header_get_all(headers, i, &name, &value, &size) ==
           RD_KAFKA_RESP_ERR_NO_ERROR;
           ++i) {
        msg.headers.emplace_back(
            name, value == nullptr
                      ? std::string()
                      : std::string(static_cast<const char*>(value), size));
      }
    }
    rd_kafka_timestamp_type_t type;
    const int64_t ts = rd_kafka_message_timestamp(m, &type);
    msg.timestamp = ts >= 0 ? absl::FromUnixMillis(ts) : absl::UnixEpoch();
  }

  rd_kafka_t* rk_ = nullptr;
  rd_kafka_queue_t* queue_ = nullptr;                // the consumer queue
  std::string bootstrap_ = "the bootstrap servers";  // for error messages
  std::vector<rd_kafka_message_t*> batch_;
  RebalanceHandler* handler_ = nullptr;
  std::set<TopicPartition> assignment_;
  absl::Status callback_status_;
  bool closed_ = false;
};

}  // namespace

absl::StatusOr<std::unique_ptr<Consumer>> NewKafkaConsumer(
    rd_kafka_conf_t* conf) {
  auto consumer = std::make_unique<KafkaConsumer>();
  absl::Status s = consumer->Init(conf);
  if (!s.ok()) return s;
  return consumer;
}

}  // namespace datarun::broker::kafka_internal
