#include "connectors/pipeline.h"

#include <pthread.h>

#include <thread>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/types/span.h"
#include "common/log.h"
#include "common/status_macros.h"

namespace datarun::connectors {
namespace {

broker::Headers DataHeaders(const Mapper& mapper) {
  return {{"dr-payload-type", mapper.payload_type()},
          {"dr-catalog-version", mapper.catalog_version()}};
}

std::vector<broker::RecordHeader> HeaderViews(const broker::Headers& headers) {
  std::vector<broker::RecordHeader> views;
  views.reserve(headers.size());
  for (const auto& [name, value] : headers) views.push_back({name, value});
  return views;
}

// Deliveries of one producer never run concurrently, so the counters have
// one writer at a time: a load and a store, no read-modify-write per row.
void Bump(std::atomic<uint64_t>& counter) {
  counter.store(counter.load(std::memory_order_relaxed) + 1,
                std::memory_order_relaxed);
}

prometheus::Family<prometheus::Counter>& RowsFamily(
    prometheus::Registry& registry) {
  return prometheus::BuildCounter()
      .Name("datarun_connector_rows_total")
      .Help("Rows acknowledged by the bus, by outcome (published or dlq)")
      .Register(registry);
}

}  // namespace

namespace {

uint64_t PowerOfTwoAtLeast(int n) {
  uint64_t size = 1024;
  while (size < static_cast<uint64_t>(n)) size <<= 1;
  return size;
}

}  // namespace

Pipeline::Pipeline(Source* source, const Mapper* mapper,
                   broker::Producer* producer, prometheus::Registry& registry,
                   PipelineOptions options)
    : source_(source),
      mapper_(mapper),
      producer_(producer),
      options_(options),
      data_headers_(DataHeaders(*mapper)),
      data_record_headers_(HeaderViews(data_headers_)),
      window_size_(PowerOfTwoAtLeast(options_.max_in_flight)),
      window_(new Pending[window_size_]),
      rows_family_(RowsFamily(registry)),
      published_metric_(rows_family_.Add(
          {{"topic", mapper->topic()}, {"outcome", "published"}})),
      dlq_metric_(
          rows_family_.Add({{"topic", mapper->topic()}, {"outcome", "dlq"}})),
      dlq_reason_family_(prometheus::BuildCounter()
                             .Name("datarun_connector_dlq_rows_total")
                             .Help("Bad rows sent to the DLQ, by reason")
                             .Register(registry)),
      failed_metric_(prometheus::BuildCounter()
                         .Name("datarun_connector_delivery_failures_total")
                         .Help("Records whose delivery failed for good")
                         .Register(registry)
                         .Add({{"topic", mapper->topic()}})) {
  if (options_.deliveries != nullptr) {
    options_.deliveries->pipeline_.store(this, std::memory_order_release);
  }
}

Pipeline::~Pipeline() {
  if (options_.deliveries != nullptr) {
    options_.deliveries->pipeline_.store(nullptr, std::memory_order_release);
  }
}

void PipelineDeliveries::OnDelivery(void* opaque, absl::string_view, int32_t,
                                    int64_t, const absl::Status& status) {
  Pipeline* pipeline = pipeline_.load(std::memory_order_acquire);
  if (pipeline == nullptr) return;  // outlived its pipeline: nobody waits
  pipeline->OnDelivered(reinterpret_cast<uintptr_t>(opaque), status);
}

PipelineCounters Pipeline::counters() const {
  PipelineCounters c;
  c.rows = rows_.load();
  c.published = published_.load();
  c.dlq = dlq_.load();
  c.failed = failed_.load();
  c.commits = commits_.load();
  c.in_flight_waits = in_flight_waits_.load();
  return c;
}

void Pipeline::OnDelivered(uint64_t tag, const absl::Status& status) {
  const uint64_t seq = tag >> 1;
  const bool dlq = tag & 1;
  if (!status.ok()) {
    Bump(failed_);
    failed_metric_.Increment();
    absl::MutexLock lock(&failure_mu_);
    if (failure_.ok()) {
      failure_ = absl::Status(
          status.code(),
          absl::StrCat("delivery to ",
                       dlq ? mapper_->dlq_topic() : mapper_->topic(),
                       " failed: ", status.message()));
      failed_flag_.store(true);
    }
    return;  // never marked done: the position cannot pass this row
  }
  // The Prometheus counters follow at each commit (SyncMetrics) instead of
  // a compare-and-swap loop on a double per row here.
  Bump(dlq ? dlq_ : published_);
  Slot(seq).done.store(true, std::memory_order_release);
}

absl::Status Pipeline::Failure() {
  if (!failed_flag_.load(std::memory_order_acquire)) return absl::OkStatus();
  absl::MutexLock lock(&failure_mu_);
  return failure_;
}

absl::Status Pipeline::Dispatch(const Outgoing& out) {
  const uint64_t tag = (out.seq << 1) | (out.dlq ? 1 : 0);
  broker::OutgoingRecord r;
  broker::OutgoingMessage m;
  const bool record = options_.deliveries != nullptr;
  if (record) {
    r.topic = out.dlq ? mapper_->dlq_topic() : mapper_->topic();
    if (!out.dlq) r.key = out.key;
    r.value = out.value;
    r.headers = out.dlq ? absl::MakeConstSpan(out.dlq_record_headers)
                        : absl::MakeConstSpan(data_record_headers_);
  } else {
    m.topic = out.dlq ? mapper_->dlq_topic() : mapper_->topic();
    if (!out.dlq) m.key = out.key;
    m.value = out.value;
    m.headers = out.dlq ? &out.dlq_headers : &data_headers_;
  }
  while (true) {
    absl::Status s;
    if (record) {
      s = producer_->SendRecord(r, reinterpret_cast<void*>(tag));
    } else {
      // Two words, so std::function keeps it inline.
      s = producer_->Send(
          m, [this, tag](const absl::StatusOr<broker::DeliveryReport>& d) {
            OnDelivered(tag, d.status());
          });
    }
    if (s.ok()) return s;
    if (s.code() != absl::StatusCode::kResourceExhausted) return s;
    // Queue full for max_block: the bus is slow or down; keep waiting,
    // rows are not dropped.
    DR_LOG(WARNING) << "producer queue full, waiting: " << s.message();
  }
}

void Pipeline::Pace() {
  if (options_.max_rows_per_second <= 0) return;
  const absl::Duration slot = absl::Seconds(1) / options_.max_rows_per_second;
  absl::Time now = absl::Now();
  if (next_slot_ < now - absl::Milliseconds(100)) next_slot_ = now;
  if (next_slot_ > now) absl::SleepFor(next_slot_ - now);
  next_slot_ += slot;
}

absl::Status Pipeline::Prepare(const Row& row, Outgoing* out) {
  Pace();
  RETURN_IF_ERROR(Failure());
  // Room in the window: only rows that were acknowledged leave it.
  while (next_seq_ - base_seq_ >= window_size_ && !Advance()) {
    if (threaded_) Publish();
    RETURN_IF_ERROR(Failure());
    in_flight_waits_.fetch_add(1, std::memory_order_relaxed);
    absl::SleepFor(absl::Milliseconds(1));
  }
  rows_.fetch_add(1, std::memory_order_relaxed);
  const uint64_t seq = next_seq_++;
  Slot(seq).position.assign(row.position);
  out->seq = seq;
  // The mapping's column indexes, once per layout (one CSV file).
  if (row.layout == 0 || !have_binding_ || binding_.layout != row.layout) {
    binding_ = mapper_->Bind(row);
    have_binding_ = true;
  }
  RowRejection rejection;
  if (mapper_->Encode(row, binding_, &out->value, &out->key, &rejection)) {
    out->dlq = false;
    return absl::OkStatus();
  }
  dlq_reason_family_.Add({{"reason", rejection.reason}}).Increment();
  out->dlq = true;
  out->key.clear();
  out->value.assign(row.raw);
  out->dlq_headers = {
      {"dr-dlq-reason", rejection.reason}, {"dr-dlq-detail", rejection.detail},
      {"dr-dlq-source", row.location},     {"dr-dlq-position", row.position},
      {"dr-dlq-topic", mapper_->topic()},
  };
  out->dlq_record_headers = HeaderViews(out->dlq_headers);
  return absl::OkStatus();
}

absl::Status Pipeline::ProcessRow(Row row) {
  RETURN_IF_ERROR(Prepare(row, &direct_));
  return Dispatch(direct_);
}

// --- The sender thread and its queue -------------------------------------

Pipeline::Outgoing* Pipeline::NextSlot(absl::Status* status) {
  if (written_ == room_end_) {
    Publish();
    absl::MutexLock lock(&queue_mu_);
    auto room = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(queue_mu_) {
      return consumed_ + kQueue > written_ || !send_status_.ok();
    };
    queue_mu_.Await(absl::Condition(&room));
    if (!send_status_.ok()) {
      *status = send_status_;
      return nullptr;
    }
    room_end_ = consumed_ + kQueue;
  }
  return &queue_[written_ % kQueue];
}

void Pipeline::Publish() {
  absl::MutexLock lock(&queue_mu_);
  produced_ = written_;
}

void Pipeline::SendLoop() {
  pthread_setname_np(pthread_self(), "dr-send");  // for top and benchmarks
  uint64_t next = 0;
  while (true) {
    uint64_t end;
    {
      absl::MutexLock lock(&queue_mu_);
      consumed_ = next;
      auto ready = [this, next]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(queue_mu_) {
        return produced_ > next || closing_;
      };
      queue_mu_.Await(absl::Condition(&ready));
      end = produced_;
      if (end == next) return;  // closing and everything sent
    }
    for (; next < end; ++next) {
      absl::Status s = Dispatch(queue_[next % kQueue]);
      if (!s.ok()) {
        // Not enqueued, so never acknowledged: the position stays before
        // this row.
        absl::MutexLock lock(&queue_mu_);
        send_status_ = s;
        consumed_ = next;
        return;
      }
    }
  }
}

absl::Status Pipeline::WaitForSender() {
  if (!threaded_) return absl::OkStatus();
  Publish();
  absl::MutexLock lock(&queue_mu_);
  auto sent = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(queue_mu_) {
    return consumed_ == produced_ || !send_status_.ok();
  };
  queue_mu_.Await(absl::Condition(&sent));
  return send_status_;
}

void Pipeline::StopSender() {
  absl::MutexLock lock(&queue_mu_);
  closing_ = true;
}

bool Pipeline::Advance() {
  const uint64_t from = base_seq_;
  while (base_seq_ < next_seq_ &&
         Slot(base_seq_).done.load(std::memory_order_acquire)) {
    Slot(base_seq_).done.store(false, std::memory_order_relaxed);
    ++base_seq_;
  }
  if (base_seq_ == from) return false;
  // Copied out: the slot is free for a new row now.
  acked_position_.assign(Slot(base_seq_ - 1).position);
  return true;
}

void Pipeline::SyncMetrics() {
  const uint64_t published = published_.load(std::memory_order_relaxed);
  const uint64_t dlq = dlq_.load(std::memory_order_relaxed);
  published_metric_.Increment(published - published_reported_);
  dlq_metric_.Increment(dlq - dlq_reported_);
  published_reported_ = published;
  dlq_reported_ = dlq;
}

absl::Status Pipeline::CommitAcknowledged() {
  SyncMetrics();
  Advance();
  if (base_seq_ == committed_seq_) return absl::OkStatus();
  RETURN_IF_ERROR(source_->Commit(acked_position_));
  committed_seq_ = base_seq_;
  commits_.fetch_add(1);
  return absl::OkStatus();
}

absl::Status Pipeline::Drain() {
  absl::Status sent = WaitForSender();
  absl::Status flushed = producer_->Flush(options_.drain_timeout);
  RETURN_IF_ERROR(CommitAcknowledged());
  RETURN_IF_ERROR(Failure());
  RETURN_IF_ERROR(sent);
  return flushed;
}

absl::Status Pipeline::Run(const std::atomic<bool>& stop, bool exit_when_idle) {
  if (queue_ == nullptr) queue_.reset(new Outgoing[kQueue]);
  {
    absl::MutexLock lock(&queue_mu_);
    produced_ = consumed_ = 0;
    closing_ = false;
    send_status_ = absl::OkStatus();
  }
  written_ = 0;
  room_end_ = kQueue;
  threaded_ = true;
  std::thread sender([this] { SendLoop(); });

  absl::Time next_commit = absl::Now() + options_.commit_interval;
  absl::Status status;
  // One Row for the whole run: sources assign into its strings, which keep
  // their capacity from row to row.
  Row row;
  uint64_t unpublished = 0;
  while (!stop.load()) {
    absl::StatusOr<bool> got = source_->Next(&row);
    if (!got.ok()) {
      status = got.status();
      break;
    }
    if (*got) {
      Outgoing* slot = NextSlot(&status);
      if (slot == nullptr) break;
      status = Prepare(row, slot);
      if (!status.ok()) break;
      ++written_;
      if (++unpublished == kPublishEvery) {
        Publish();
        unpublished = 0;
      }
    } else if (unpublished > 0) {
      Publish();
      unpublished = 0;
    }
    // The clock is read once per published batch.
    if (!*got || (unpublished == 0 && absl::Now() >= next_commit)) {
      status = CommitAcknowledged();
      if (!status.ok()) break;
      status = Failure();
      if (!status.ok()) break;
      {
        absl::MutexLock lock(&queue_mu_);
        status = send_status_;
      }
      if (!status.ok()) break;
      next_commit = absl::Now() + options_.commit_interval;
    }
    if (!*got) {
      if (exit_when_idle && source_->Idle()) {
        // The source may only become idle once its last position was
        // committed, which needs every acknowledgement first.
        status = Drain();
        if (!status.ok() || source_->Idle()) break;
      }
      if (!exit_when_idle || !source_->Idle()) {
        absl::SleepFor(options_.idle_wait);
      }
    }
  }
  absl::Status drained = Drain();
  StopSender();
  sender.join();
  threaded_ = false;
  return status.ok() ? drained : status;
}

}  // namespace datarun::connectors
