#include <atomic>
#include <cstdint>
#include <string>
#include <thread>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "broker_adapters/kafka/client_config.h"
#include "broker_adapters/kafka/kafka_clients.h"
#include "broker_adapters/kafka/status.h"
#include "common/log.h"

namespace datarun::broker::kafka_internal {
namespace {

// How long the destructor lets queued records finish before failing them
// (less when no broker is up: see ~KafkaProducer).
constexpr absl::Duration kCloseFlushTimeout = absl::Seconds(10);

// A record's librdkafka opaque tells the two entry points apart without an
// allocation for SendRecord: Send's records carry their heap-allocated
// DeliveryCallback* with the low bit set (1 alone: no callback); SendRecord's
// carry the caller's opaque shifted left by one (low bit clear).
constexpr uintptr_t kCallbackTag = 1;

// Producers get a process-wide unique id so that a thread's cached topic
// handle is never taken for another producer allocated at the same address.
std::atomic<uint64_t> next_producer_id{1};

// The last topic this thread sent to, per thread: most senders send to one
// topic, so Send finds its rd_kafka_topic_t without a lock.
struct ThreadTopicCache {
  uint64_t producer_id = 0;
  std::string name;
  rd_kafka_topic_t* rkt = nullptr;
};
thread_local ThreadTopicCache thread_topic;

class KafkaProducer : public Producer {
 public:
  KafkaProducer(absl::Duration max_block, DeliverySink* sink)
      : max_block_(max_block), sink_(sink) {}

  absl::Status Init(rd_kafka_conf_t* conf) {
    rd_kafka_conf_set_opaque(conf, this);
    rd_kafka_conf_set_dr_msg_cb(conf, &KafkaProducer::OnDelivery);
    rd_kafka_conf_set_error_cb(conf, &KafkaProducer::OnError);
    auto rk = NewHandle(RD_KAFKA_PRODUCER, conf);
    if (!rk.ok()) return rk.status();
    rk_ = *rk;
    main_queue_ = rd_kafka_queue_get_main(rk_);
    poller_ = std::thread([this] { PollLoop(); });
    return absl::OkStatus();
  }

  ~KafkaProducer() override {
    if (rk_ == nullptr) return;
    if (InFlight() > 0) {
      // With every broker down (the bus is gone, or the process is being
      // stopped because of it) waiting cannot deliver anything: the
      // records would only fail at message.timeout.ms, minutes later.
      absl::Status s = WaitDelivered(kCloseFlushTimeout,
                                     /*until_all_brokers_down=*/true);
      if (!s.ok()) {
        DR_LOG(WARNING) << "producer closing with " << InFlight()
                        << " undelivered records; failing them: " << s;
      }
    }
    // Fails whatever is left; the callbacks fire in the last polls.
    rd_kafka_purge(rk_, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
    stop_.Notify();
    rd_kafka_queue_yield(main_queue_);
    poller_.join();
    rd_kafka_poll(rk_, 0);
    rd_kafka_queue_destroy(main_queue_);
    {
      absl::MutexLock lock(&topics_mu_);
      for (auto& [name, rkt] : topics_) rd_kafka_topic_destroy(rkt);
      topics_.clear();
    }
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
    absl::Status s =
        Produce(message.topic, message.partition, message.key, message.value,
                headers, reinterpret_cast<uintptr_t>(callback) | kCallbackTag);
    if (!s.ok()) delete callback;
    return s;
  }

  absl::Status SendRecord(const OutgoingRecord& record, void* opaque) override {
    const uintptr_t o = reinterpret_cast<uintptr_t>(opaque);
    if (o >> 63 != 0) {
      return absl::InvalidArgumentError(absl::StrCat(
          "SendRecord to ", record.topic,
          ": opaque uses the top bit (the producer keeps 63 bits)"));
    }
    rd_kafka_headers_t* headers = nullptr;
    if (!record.headers.empty()) {
      headers = rd_kafka_headers_new(record.headers.size());
      for (const RecordHeader& h : record.headers) {
        rd_kafka_header_add(headers, h.name.data(), h.name.size(),
                            h.value.data(), h.value.size());
      }
    }
    return Produce(record.topic, record.partition, record.key, record.value,
                   headers, o << 1);
  }

  absl::Status Flush(absl::Duration timeout) override {
    return WaitDelivered(timeout, /*until_all_brokers_down=*/false);
  }

  int64_t InFlight() const override {
    return in_flight_.load(std::memory_order_acquire);
  }

 private:
  // Flush for up to `timeout`; with `until_all_brokers_down` also stops
  // once librdkafka reported every broker down and nothing was delivered
  // since.
  absl::Status WaitDelivered(absl::Duration timeout,
                             bool until_all_brokers_down) {
    const absl::Time deadline = absl::Now() + timeout;
    // The poller serves the callbacks (rd_kafka_flush on its thread, which
    // also makes librdkafka send lingering batches at once): callbacks thus
    // only ever run on the poller and need no lock (broker.h: never two at
    // a time). Bounded: sends from other threads during Flush keep
    // InFlight up.
    flush_waiters_.fetch_add(1, std::memory_order_acq_rel);
    rd_kafka_queue_yield(main_queue_);
    bool all_down = false;
    while (InFlight() > 0 && absl::Now() < deadline) {
      if (until_all_brokers_down &&
          all_brokers_down_.load(std::memory_order_acquire)) {
        all_down = true;
        break;
      }
      absl::SleepFor(absl::Microseconds(200));
    }
    flush_waiters_.fetch_sub(1, std::memory_order_acq_rel);
    if (InFlight() == 0) return absl::OkStatus();
    if (all_down) {
      return absl::UnavailableError(
          absl::StrCat("flush: ", InFlight(),
                       " records undelivered and every broker is down"));
    }
    return absl::DeadlineExceededError(
        absl::StrCat("flush: ", InFlight(), " records still undelivered after ",
                     absl::FormatDuration(timeout)));
  }

  // The topic handle of `topic`, made on first use and kept until the
  // producer is destroyed (librdkafka looks a topic name up under its own
  // lock on every produce otherwise).
  rd_kafka_topic_t* Topic(absl::string_view topic) {
    ThreadTopicCache& cache = thread_topic;
    if (cache.producer_id == id_ && cache.name == topic) return cache.rkt;
    rd_kafka_topic_t* rkt = nullptr;
    {
      absl::ReaderMutexLock lock(&topics_mu_);
      auto it = topics_.find(topic);
      if (it != topics_.end()) rkt = it->second;
    }
    if (rkt == nullptr) {
      absl::MutexLock lock(&topics_mu_);
      auto [it, inserted] = topics_.try_emplace(topic, nullptr);
      if (inserted) {
        // Topic settings come from the producer's configuration.
        it->second = rd_kafka_topic_new(rk_, it->first.c_str(), nullptr);
        if (it->second == nullptr) {
          topics_.erase(it);
          return nullptr;
        }
      }
      rkt = it->second;
    }
    cache.producer_id = id_;
    cache.name.assign(topic.data(), topic.size());
    cache.rkt = rkt;
    return rkt;
  }

  // Enqueues one record; takes ownership of `headers` on success and frees
  // them on failure. `tagged` is the record's opaque (see kCallbackTag).
  absl::Status Produce(absl::string_view topic, int32_t partition,
                       absl::string_view key, absl::string_view value,
                       rd_kafka_headers_t* headers, uintptr_t tagged) {
    rd_kafka_topic_t* rkt = Topic(topic);
    if (rkt == nullptr) {
      if (headers != nullptr) rd_kafka_headers_destroy(headers);
      return KafkaStatus(rd_kafka_last_error(),
                         absl::StrCat("opening topic ", topic));
    }
    absl::Time deadline = absl::InfiniteFuture();
    in_flight_.fetch_add(1, std::memory_order_relaxed);
    while (true) {
      rd_kafka_resp_err_t err = rd_kafka_producev(
          rk_, RD_KAFKA_V_RKT(rkt),
          RD_KAFKA_V_PARTITION(partition < 0 ? RD_KAFKA_PARTITION_UA
                                             : partition),
          RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
          RD_KAFKA_V_KEY(key.empty() ? nullptr : key.data(), key.size()),
          RD_KAFKA_V_VALUE(const_cast<char*>(value.data()), value.size()),
          RD_KAFKA_V_HEADERS(headers),
          RD_KAFKA_V_OPAQUE(reinterpret_cast<void*>(tagged)), RD_KAFKA_V_END);
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

  // Runs on the poller only (and, after it stopped, in the destructor), so
  // callbacks never overlap without a lock.
  static void OnDelivery(rd_kafka_t*, const rd_kafka_message_t* m,
                         void* opaque) {
    auto* self = static_cast<KafkaProducer*>(opaque);
    const uintptr_t tagged = reinterpret_cast<uintptr_t>(m->_private);
    if (tagged & kCallbackTag) {
      auto* callback =
          reinterpret_cast<DeliveryCallback*>(tagged & ~kCallbackTag);
      if (callback != nullptr) {
        if (m->err == RD_KAFKA_RESP_ERR_NO_ERROR) {
          (*callback)(DeliveryReport{rd_kafka_topic_name(m->rkt), m->partition,
                                     m->offset});
        } else {
          (*callback)(self->DeliveryError(m));
        }
        delete callback;
      }
    } else if (self->sink_ != nullptr) {
      void* user = reinterpret_cast<void*>(tagged >> 1);
      if (m->err == RD_KAFKA_RESP_ERR_NO_ERROR) {
        self->sink_->OnDelivery(user, rd_kafka_topic_name(m->rkt), m->partition,
                                m->offset, absl::OkStatus());
      } else {
        self->sink_->OnDelivery(user, rd_kafka_topic_name(m->rkt), m->partition,
                                -1, self->DeliveryError(m));
      }
    }
    if (m->err == RD_KAFKA_RESP_ERR_NO_ERROR &&
        self->all_brokers_down_.load(std::memory_order_relaxed)) {
      self->all_brokers_down_.store(false, std::memory_order_release);
    }
    self->in_flight_.fetch_sub(1, std::memory_order_acq_rel);
  }

  // Client-level errors, served by the poller. librdkafka logs them itself
  // only when no error callback is set.
  static void OnError(rd_kafka_t* rk, int err, const char* reason,
                      void* opaque) {
    auto* self = static_cast<KafkaProducer*>(opaque);
    if (err == RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN) {
      self->all_brokers_down_.store(true, std::memory_order_release);
    }
    // Fatal (idempotence) errors also reach each record's callback.
    if (err == RD_KAFKA_RESP_ERR__FATAL) {
      DR_LOG(ERROR) << "librdkafka " << rd_kafka_name(rk) << ": "
                    << "fatal producer error: " << reason;
      return;
    }
    DR_LOG(WARNING) << "librdkafka " << rd_kafka_name(rk) << ": "
                    << rd_kafka_err2name(static_cast<rd_kafka_resp_err_t>(err))
                    << ": " << reason;
  }

  absl::Status DeliveryError(const rd_kafka_message_t* m) {
    if (m->err == RD_KAFKA_RESP_ERR__FATAL) return FatalStatus();
    return KafkaStatus(
        m->err, absl::StrCat("delivering to ", rd_kafka_topic_name(m->rkt)));
  }

  absl::Status FatalStatus() {
    char errstr[512];
    rd_kafka_resp_err_t err = rd_kafka_fatal_error(rk_, errstr, sizeof(errstr));
    return absl::InternalError(
        absl::StrCat("fatal producer error, the producer must be recreated: ",
                     rd_kafka_err2name(err), ": ", errstr));
  }

  void PollLoop() {
    while (!stop_.HasBeenNotified()) {
      // Once nothing is in flight the waiters return on their own; calling
      // rd_kafka_flush again would only wake every broker thread for
      // nothing.
      if (flush_waiters_.load(std::memory_order_acquire) > 0 &&
          InFlight() > 0) {
        // Serves callbacks like rd_kafka_poll, and sends lingering batches
        // now instead of after linger.ms.
        rd_kafka_flush(rk_, 50);
      } else {
        rd_kafka_poll(rk_, 50);
      }
    }
  }

  const absl::Duration max_block_;
  DeliverySink* const sink_;
  const uint64_t id_ = next_producer_id.fetch_add(1);
  rd_kafka_t* rk_ = nullptr;
  rd_kafka_queue_t* main_queue_ = nullptr;
  std::atomic<int64_t> in_flight_{0};
  std::atomic<int> flush_waiters_{0};
  // Set by an _ALL_BROKERS_DOWN error, cleared by the next delivery.
  std::atomic<bool> all_brokers_down_{false};
  absl::Notification stop_;
  std::thread poller_;
  absl::Mutex topics_mu_;
  // Keyed by name; values live until the destructor.
  absl::flat_hash_map<std::string, rd_kafka_topic_t*> topics_
      ABSL_GUARDED_BY(topics_mu_);
};

}  // namespace

absl::StatusOr<std::unique_ptr<Producer>> NewKafkaProducer(
    rd_kafka_conf_t* conf, absl::Duration max_block, DeliverySink* sink) {
  auto producer = std::make_unique<KafkaProducer>(max_block, sink);
  absl::Status s = producer->Init(conf);
  if (!s.ok()) return s;
  return producer;
}

}  // namespace datarun::broker::kafka_internal
