#include "exchange/ingest/ingestor.h"

#include <pthread.h>
#include <time.h>

#include <algorithm>
#include <thread>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/log.h"

namespace datarun::ingest {
namespace {

uint64_t ThreadCpuMicros() {
  timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1000000 + ts.tv_nsec / 1000;
}

}  // namespace

using broker::TopicPartition;

Ingestor::Ingestor(broker::Broker* broker, state::StateStore* store,
                   const ClassDirectory* classes,
                   SubjectValidator validate_subject, IngestOptions options)
    : broker_(broker),
      store_(store),
      classes_(classes),
      validate_subject_(std::move(validate_subject)),
      options_(std::move(options)) {
  for (const auto& d : classes_->Departments()) known_departments_[d] = true;
}

Ingestor::~Ingestor() = default;

std::vector<TopicPartition> Ingestor::Assignment() const {
  absl::MutexLock lock(&mu_);
  return assignment_;
}

void Ingestor::SetFatal(absl::Status status) {
  absl::MutexLock lock(&mu_);
  if (fatal_.ok()) {
    DR_LOG(ERROR) << "ingest: stopping on fatal error: " << status;
    fatal_ = std::move(status);
  }
}

absl::Status Ingestor::fatal() const {
  absl::MutexLock lock(&mu_);
  return fatal_;
}

absl::Status Ingestor::Run(const std::atomic<bool>* stop) {
  {
    auto admin = broker_->NewAdmin();
    if (!admin.ok()) return admin.status();
    auto id = (*admin)->ClusterId(absl::Seconds(30));
    if (!id.ok()) {
      return absl::Status(id.status().code(),
                          absl::StrCat("ingest: reading the cluster id: ",
                                       id.status().message()));
    }
    cluster_id_ = *id;
  }
  broker::ProducerOptions po;
  po.client_id = options_.client_id + "-dlq";
  po.properties = options_.producer_properties;
  auto producer = broker_->NewProducer(po);
  if (!producer.ok()) return producer.status();
  dlq_producer_ = *std::move(producer);

  broker::ConsumerOptions co;
  co.client_id = options_.client_id;
  co.group_id = options_.group_id;
  co.properties = options_.consumer_properties;
  auto consumer = broker_->NewConsumer(co);
  if (!consumer.ok()) return consumer.status();
  consumer_ = *std::move(consumer);
  if (absl::Status s = consumer_->Subscribe(options_.topics, this); !s.ok()) {
    return s;
  }
  DR_LOG(INFO) << "ingest: subscribed to dr.data.* as group '"
               << options_.group_id << "' on cluster '" << cluster_id_ << "'";

  std::thread applier([this] {
    pthread_setname_np(pthread_self(), "dr-apply");  // for top, perf
    ApplierLoop();
  });
  std::unique_ptr<broker::PolledBatch> polled;
  while (!stop->load() && fatal().ok()) {
    auto queue_full = [this] {
      absl::MutexLock lock(&mu_);
      return queue_.size() >= options_.max_queued_batches;
    };
    bool full = queue_full();
    if (full) {
      // Wait for room rather than spin.
      absl::MutexLock lock(&mu_);
      auto room = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
        return queue_.size() < options_.max_queued_batches || !fatal_.ok();
      };
      mu_.AwaitWithTimeout(absl::Condition(&room), options_.poll_timeout);
      full = queue_.size() >= options_.max_queued_batches;
    }
    if (!full) {
      full_since_ = absl::InfiniteFuture();
    } else if (full_since_ == absl::InfiniteFuture()) {
      full_since_ = absl::Now();
    }
    const bool pause =
        full && absl::Now() - full_since_ >= options_.pause_after;
    if (pause != paused_) {
      // Behind for a while: stop fetching so nothing buffers up; polls then
      // only serve group callbacks and take what was fetched before.
      std::vector<TopicPartition> assigned = consumer_->Assignment();
      absl::Status s =
          pause ? consumer_->Pause(assigned) : consumer_->Resume(assigned);
      if (!s.ok()) DR_LOG(WARNING) << "ingest: pause/resume: " << s;
      if (pause) counters_.pauses.fetch_add(1);
      paused_ = pause;
    }
    if (full && !paused_) continue;  // wait for room before taking more
    if (carry_.messages < options_.max_batch_messages) {
      const size_t want = options_.max_batch_messages - carry_.messages;
      const absl::Time t0 = absl::Now();
      absl::Status s = consumer_->PollBatch(
          want, full ? absl::ZeroDuration() : options_.poll_timeout, &polled);
      const absl::Time t1 = absl::Now();
      const uint64_t cpu1 = ThreadCpuMicros();
      counters_.poll_micros.fetch_add(absl::ToInt64Microseconds(t1 - t0));
      if (!s.ok()) {
        SetFatal(absl::Status(s.code(),
                              absl::StrCat("ingest: poll: ", s.message())));
        break;
      }
      ready_.store(true);
      if (polled != nullptr && polled->size() > 0) {
        for (size_t i = 0; i < polled->size(); ++i) {
          AddMessage(*polled, i, &carry_);
        }
        carry_.polled.push_back(std::move(polled));
      }
      counters_.check_micros.fetch_add(
          absl::ToInt64Microseconds(absl::Now() - t1));
      counters_.check_cpu_micros.fetch_add(ThreadCpuMicros() - cpu1);
    }
    if (carry_.messages > 0 && !full) HandOver();
    FreeSpent();
  }

  // Drain: apply what was polled, then leave the group (which revokes and
  // waits again), then stop the applier.
  if (fatal().ok()) HandOver();
  absl::Status close = consumer_->Close();
  if (!close.ok()) DR_LOG(WARNING) << "ingest: closing consumer: " << close;
  {
    absl::MutexLock lock(&mu_);
    closing_ = true;
  }
  applier.join();
  absl::Status flushed = dlq_producer_->Flush(options_.dlq_flush_timeout);
  if (!flushed.ok()) DR_LOG(WARNING) << "ingest: DLQ flush: " << flushed;
  // Consumed messages go back before their consumer.
  carry_ = Batch();
  {
    absl::MutexLock lock(&mu_);
    queue_.clear();
    spent_.clear();
  }
  consumer_.reset();
  dlq_producer_.reset();
  DR_LOG(INFO) << "ingest: stopped after " << counters_.messages.load()
               << " messages (" << counters_.applied.load() << " applied, "
               << counters_.stale.load() << " stale, "
               << counters_.rejected_total() << " rejected)";
  return fatal();
}

void Ingestor::AddMessage(const broker::PolledBatch& polled, size_t i,
                          Batch* batch) {
  const broker::MessageView& message = polled.messages()[i];
  if (message.topic.data() != batch->last_topic ||
      message.partition != batch->last_partition) {
    auto [it, inserted] = batch->index.try_emplace(
        std::make_pair(message.topic, message.partition),
        static_cast<int>(batch->batch.offsets.size()));
    if (inserted) {
      state::OffsetAdvance adv;
      adv.topic = std::string(message.topic);
      adv.partition = message.partition;
      batch->batch.offsets.push_back(std::move(adv));
    }
    batch->last_topic = message.topic.data();
    batch->last_partition = message.partition;
    batch->last_index = it->second;
  }
  state::OffsetAdvance& adv = batch->batch.offsets[batch->last_index];
  adv.next_offset = message.offset + 1;
  ++adv.messages;
  ++batch->messages;

  if (batch->batch.records.capacity() == 0) {
    batch->batch.records.reserve(options_.max_batch_messages);
  }
  state::RecordWrite& write = batch->batch.records.emplace_back();
  Rejection rejection;
  if (CheckMessage(message, *classes_, validate_subject_, &write.envelope,
                   &rejection)) {
    write.partition = message.partition;
    write.source = batch->last_index;
    write.bytes = message.value;
    return;
  }
  batch->batch.records.pop_back();
  ++adv.rejected;
  ++batch->rejected;
  counters_.rejected[static_cast<int>(rejection.reason)].fetch_add(1);
  SendToDlq(polled, i, rejection);
}

void Ingestor::SendToDlq(const broker::PolledBatch& polled, size_t i,
                         const Rejection& rejection) {
  const broker::MessageView& message = polled.messages()[i];
  std::string dept = DlqDepartment(message.topic);
  if (!known_departments_.contains(dept)) dept = "unknown";
  const std::string topic = absl::StrCat("dr.dlq.", dept);
  broker::Headers headers = polled.headers(i);
  headers.emplace_back("dr-dlq-reason", RejectReasonName(rejection.reason));
  headers.emplace_back("dr-dlq-detail", rejection.detail);
  headers.emplace_back("dr-dlq-topic", std::string(message.topic));
  headers.emplace_back("dr-dlq-partition", absl::StrCat(message.partition));
  headers.emplace_back("dr-dlq-offset", absl::StrCat(message.offset));
  broker::OutgoingMessage out;
  out.topic = topic;
  out.key = message.key;
  out.value = message.value;
  out.headers = &headers;
  auto on_delivery = [this](const absl::StatusOr<broker::DeliveryReport>& r) {
    if (r.ok()) {
      counters_.dlq_sent.fetch_add(1);
    } else {
      dlq_failures_.fetch_add(1);
      DR_LOG(ERROR) << "ingest: DLQ delivery failed: " << r.status();
    }
  };
  // A misbehaving publisher can send millions: log the first ones of each
  // reason, then every power of two (the counters have the exact numbers).
  const uint64_t seen =
      counters_.rejected[static_cast<int>(rejection.reason)].load();
  if (seen <= 10 || (seen & (seen - 1)) == 0) {
    DR_LOG(WARNING) << "ingest: " << message.topic << "[" << message.partition
                    << "]@" << message.offset << " -> " << topic << ": "
                    << RejectReasonName(rejection.reason) << " (#" << seen
                    << "): " << rejection.detail;
  }
  for (int attempt = 0;; ++attempt) {
    absl::Status s = dlq_producer_->Send(out, on_delivery);
    if (s.ok()) return;
    if (!broker::IsRetriable(s) || attempt >= 10) {
      // The batch must not skip past a message the DLQ did not take.
      SetFatal(absl::Status(s.code(), absl::StrCat("ingest: DLQ send to ",
                                                   topic, ": ", s.message())));
      return;
    }
    absl::SleepFor(absl::Milliseconds(100));
  }
}

void Ingestor::HandOver() {
  if (carry_.messages == 0) return;
  absl::MutexLock lock(&mu_);
  queue_.push_back(std::move(carry_));
  carry_ = Batch();
}

void Ingestor::FreeSpent() {
  std::vector<Batch> spent;
  {
    absl::MutexLock lock(&mu_);
    spent.swap(spent_);
  }
}

void Ingestor::WaitDrained() {
  absl::MutexLock lock(&mu_);
  auto drained = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return (queue_.empty() && !applying_) || !fatal_.ok();
  };
  mu_.Await(absl::Condition(&drained));
}

void Ingestor::ApplierLoop() {
  while (true) {
    Batch batch;
    {
      absl::MutexLock lock(&mu_);
      auto ready = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
        return !queue_.empty() || closing_ || !fatal_.ok();
      };
      mu_.Await(absl::Condition(&ready));
      if (!fatal_.ok()) {
        queue_.clear();  // not applied, offsets not stored: re-read later
        return;
      }
      if (queue_.empty()) return;  // closing and drained
      batch = std::move(queue_.front());
      queue_.pop_front();
      applying_ = true;
    }
    absl::Status status;
    if (batch.rejected > 0) {
      // Offsets may only pass a rejected message once the DLQ holds it.
      status = dlq_producer_->Flush(options_.dlq_flush_timeout);
      if (status.ok() && dlq_failures_.load() > 0) {
        status = absl::UnavailableError(
            "ingest: a DLQ delivery failed; not advancing offsets past it");
      }
    }
    if (status.ok()) {
      batch.batch.cluster_id = cluster_id_;
      const absl::Time t0 = absl::Now();
      const uint64_t cpu0 = ThreadCpuMicros();
      auto result = store_->ApplyBatch(batch.batch);
      counters_.apply_cpu_micros.fetch_add(ThreadCpuMicros() - cpu0);
      counters_.apply_micros.fetch_add(
          absl::ToInt64Microseconds(absl::Now() - t0));
      if (result.ok()) {
        counters_.applied.fetch_add(result->upserts + result->deletes);
        counters_.stale.fetch_add(result->stale);
        counters_.messages.fetch_add(batch.messages);
        counters_.batches.fetch_add(1);
      } else {
        status = result.status();
      }
    }
    if (!status.ok()) SetFatal(status);
    absl::MutexLock lock(&mu_);
    applying_ = false;
    // Bounded: the poller frees them every loop turn; once it has stopped
    // (closing), the applier frees them itself.
    if (!closing_ && spent_.size() < options_.max_queued_batches) {
      spent_.push_back(std::move(batch));
    }
  }
}

absl::flat_hash_map<TopicPartition, int64_t> Ingestor::OnAssigned(
    const std::vector<TopicPartition>& partitions) {
  counters_.rebalances.fetch_add(1);
  paused_ = false;
  absl::flat_hash_map<TopicPartition, int64_t> start;
  for (const auto& tp : partitions) {
    auto offset = store_->StartOffset(tp.topic, tp.partition, cluster_id_);
    if (!offset.ok()) {
      SetFatal(offset.status());
      start[tp] = broker::kOffsetEnd;  // nothing gets applied after fatal
      continue;
    }
    start[tp] = offset->has_value() ? **offset : broker::kOffsetBeginning;
  }
  {
    absl::MutexLock lock(&mu_);
    for (const auto& tp : partitions) assignment_.push_back(tp);
    std::sort(assignment_.begin(), assignment_.end());
  }
  DR_LOG(INFO) << "ingest: assigned " << partitions.size() << " partitions";
  return start;
}

void Ingestor::OnRevoked(const std::vector<TopicPartition>& partitions) {
  // Finish everything polled from these partitions before releasing them,
  // so the next owner starts exactly where this one stopped.
  HandOver();
  WaitDrained();
  paused_ = false;
  {
    absl::MutexLock lock(&mu_);
    auto revoked = [&](const TopicPartition& tp) {
      return std::find(partitions.begin(), partitions.end(), tp) !=
             partitions.end();
    };
    assignment_.erase(
        std::remove_if(assignment_.begin(), assignment_.end(), revoked),
        assignment_.end());
  }
  DR_LOG(INFO) << "ingest: revoked " << partitions.size() << " partitions";
}

}  // namespace datarun::ingest
