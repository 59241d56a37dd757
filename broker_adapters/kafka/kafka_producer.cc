#include <atomic>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "broker_adapters/kafka/client_config.h"
#include "broker_adapters/kafka/kafka_clients.h"
#include "broker_adapters/kafka/status.h"
#include "common/log.h"

namespace datarun::broker::kafka_internal {
namespace {

// How long the destructor lets queued records finish before failing them.
constexpr absl::Duration kCloseFlushTimeout = absl::Seconds(10);

class KafkaProducer : public Producer {
 public:
  KafkaProducer(absl::Duration max_block) : max_block_(max_block) {}

  absl::Status Init(rd_kafka_conf_t* conf) {
    rd_kafka_conf_set_opaque(conf, this);
    rd_kafka_conf_set_dr_msg_cb(conf, &KafkaProducer::OnDelivery);
    auto rk = NewHandle(RD_KAFKA_PRODUCER, conf);
    if (!rk.ok()) return rk.status();
    rk_ = *rk;
    poller_ = std::thread([this] { PollLoop(); });
    return absl::OkStatus();
  }

  ~KafkaProducer() override {
    if (rk_ == nullptr) return;
    if (InFlight() > 0) {
      absl::Status s = Flush(kCloseFlushTimeout);
      if (!s.ok()) {
        DR_LOG(WARNING) << "producer closing with " << InFlight()
                        << " undelivered records; failing them: " << s;
      }
    }
    // Fails whatever is left; the callbacks fire in the last polls.
    rd_kafka_purge(rk_, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
    stop_.Notify();
    poller_.join();
    rd_kafka_poll(rk_, 0);
    rd_kafka_destroy(rk_);
  }

  absl::Status Send(const OutgoingMessage& message,
                    DeliveryCallback on_delivery) override {
    rd_kafka_headers_t* headers = nullptr;
    if (message.headers != nullptr && !message.headers->empty()) {
      headers = rd_kafka_headers_new(message.headers->size());
      for (const auto& [name, value] : *message.headers) {
        rd_kafka_header_add(headers, name.data(), name.size(), value.data(),
                            value.size());
      }
    }
    auto* callback =
        on_delivery ? new DeliveryCallback(std::move(on_delivery)) : nullptr;
    const std::string topic(message.topic);
    absl::Time deadline = absl::InfiniteFuture();
    in_flight_.fetch_add(1, std::memory_order_relaxed);
    while (true) {
      rd_kafka_resp_err_t err = rd_kafka_producev(
          rk_, RD_KAFKA_V_TOPIC(topic.c_str()),
          RD_KAFKA_V_PARTITION(message.partition < 0 ? RD_KAFKA_PARTITION_UA
                                                     : message.partition),
          RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
          RD_KAFKA_V_KEY(message.key.empty() ? nullptr : message.key.data(),
                         message.key.size()),
          RD_KAFKA_V_VALUE(const_cast<char*>(message.value.data()),
                           message.value.size()),
          RD_KAFKA_V_HEADERS(headers), RD_KAFKA_V_OPAQUE(callback),
          RD_KAFKA_V_END);
      if (err == RD_KAFKA_RESP_ERR_NO_ERROR) return absl::OkStatus();
      if (err == RD_KAFKA_RESP_ERR__QUEUE_FULL) {
        const absl::Time now = absl::Now();
        if (deadline == absl::InfiniteFuture()) deadline = now + max_block_;
        if (now < deadline) {
          // Delivery reports free room; they are served by the poller.
          absl::SleepFor(absl::Microseconds(500));
          continue;
        }
      }
      in_flight_.fetch_sub(1, std::memory_order_relaxed);
      delete callback;
      if (headers != nullptr) rd_kafka_headers_destroy(headers);
      if (err == RD_KAFKA_RESP_ERR__QUEUE_FULL) {
        return absl::ResourceExhaustedError(absl::StrCat(
            "producer queue still full after ",
            absl::FormatDuration(max_block_), " (", rd_kafka_outq_len(rk_),
            " records queued); slow down or raise "
            "queue.buffering.max.messages"));
      }
      if (err == RD_KAFKA_RESP_ERR__FATAL) return FatalStatus();
      return KafkaStatus(err, absl::StrCat("sending to ", topic));
    }
  }

  absl::Status Flush(absl::Duration timeout) override {
    const absl::Time deadline = absl::Now() + timeout;
    // rd_kafka_flush also serves callbacks here, concurrently with the
    // poller: librdkafka allows polling from several threads.
    rd_kafka_resp_err_t err = rd_kafka_flush(
        rk_, static_cast<int>(absl::ToInt64Milliseconds(timeout)));
    // Callbacks of the last batch may still be running on the poller.
    // Bounded: sends from other threads during Flush keep InFlight up.
    while (err == RD_KAFKA_RESP_ERR_NO_ERROR && InFlight() > 0 &&
           absl::Now() < deadline) {
      rd_kafka_poll(rk_, 1);
    }
    if (InFlight() == 0) return absl::OkStatus();
    return absl::DeadlineExceededError(
        absl::StrCat("flush: ", InFlight(), " records still undelivered after ",
                     absl::FormatDuration(timeout)));
  }

  int64_t InFlight() const override {
    return in_flight_.load(std::memory_order_acquire);
  }

 private:
  static void OnDelivery(rd_kafka_t*, const rd_kafka_message_t* m,
                         void* opaque) {
    auto* self = static_cast<KafkaProducer*>(opaque);
    auto* callback = static_cast<DeliveryCallback*>(m->_private);
    if (callback != nullptr) {
      // Flush serves callbacks on its caller's thread while the poller
      // serves them on its own: serialise them so that callers' callbacks
      // never run concurrently (broker.h).
      absl::MutexLock lock(&self->callback_mu_);
      if (m->err == RD_KAFKA_RESP_ERR_NO_ERROR) {
        (*callback)(DeliveryReport{rd_kafka_topic_name(m->rkt), m->partition,
                                   m->offset});
      } else if (m->err == RD_KAFKA_RESP_ERR__FATAL) {
        (*callback)(self->FatalStatus());
      } else {
        (*callback)(KafkaStatus(
            m->err,
            absl::StrCat("delivering to ", rd_kafka_topic_name(m->rkt))));
      }
      delete callback;
    }
    self->in_flight_.fetch_sub(1, std::memory_order_acq_rel);
  }

  absl::Status FatalStatus() {
    char errstr[512];
    rd_kafka_resp_err_t err = rd_kafka_fatal_error(rk_, errstr, sizeof(errstr));
    return absl::InternalError(
        absl::StrCat("fatal producer error, the producer must be recreated: ",
                     rd_kafka_err2name(err), ": ", errstr));
  }

  void PollLoop() {
    while (!stop_.HasBeenNotified()) rd_kafka_poll(rk_, 50);
  }

  const absl::Duration max_block_;
  rd_kafka_t* rk_ = nullptr;
  std::atomic<int64_t> in_flight_{0};
  absl::Notification stop_;
  absl::Mutex callback_mu_;
  std::thread poller_;
};

}  // namespace

absl::StatusOr<std::unique_ptr<Producer>> NewKafkaProducer(
    rd_kafka_conf_t* conf, absl::Duration max_block) {
  auto producer = std::make_unique<KafkaProducer>(max_block);
  absl::Status s = producer->Init(conf);
  if (!s.ok()) return s;
  return producer;
}

}  // namespace datarun::broker::kafka_internal
