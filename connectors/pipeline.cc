#include "connectors/pipeline.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/log.h"
#include "common/status_macros.h"
#include "google/protobuf/arena.h"

namespace datarun::connectors {
namespace {

broker::Headers DataHeaders(const Mapper& mapper) {
  return {{"dr-payload-type", mapper.payload_type()},
          {"dr-catalog-version", mapper.catalog_version()}};
}

prometheus::Family<prometheus::Counter>& RowsFamily(
    prometheus::Registry& registry) {
  return prometheus::BuildCounter()
      .Name("datarun_connector_rows_total")
      .Help("Rows acknowledged by the bus, by outcome (published or dlq)")
      .Register(registry);
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
                         .Add({{"topic", mapper->topic()}})) {}

PipelineCounters Pipeline::counters() const {
  PipelineCounters c;
  c.rows = rows_.load();
  c.published = published_.load();
  c.dlq = dlq_.load();
  c.failed = failed_.load();
  c.commits = commits_.load();
  return c;
}

void Pipeline::OnDelivered(
    uint64_t seq, bool dlq,
    const absl::StatusOr<broker::DeliveryReport>& result) {
  if (!result.ok()) {
    failed_.fetch_add(1);
    failed_metric_.Increment();
    absl::MutexLock lock(&mu_);
    if (failure_.ok()) {
      failure_ = absl::Status(
          result.status().code(),
          absl::StrCat("delivery to ",
                       dlq ? mapper_->dlq_topic() : mapper_->topic(),
                       " failed: ", result.status().message()));
    }
    return;  // never marked done: the position cannot pass this row
  }
  if (dlq) {
    dlq_.fetch_add(1);
    dlq_metric_.Increment();
  } else {
    published_.fetch_add(1);
    published_metric_.Increment();
  }
  absl::MutexLock lock(&mu_);
  window_[seq - base_seq_].done = true;
}

absl::Status Pipeline::Send(const broker::OutgoingMessage& message,
                            uint64_t seq, bool dlq) {
  // Two words, so std::function keeps it inline (no allocation per row).
  const uint64_t tag = (seq << 1) | (dlq ? 1 : 0);
  auto callback = [this, tag](const absl::StatusOr<broker::DeliveryReport>& r) {
    OnDelivered(tag >> 1, tag & 1, r);
  };
  while (true) {
    absl::Status s = producer_->Send(message, callback);
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

absl::Status Pipeline::ProcessRow(Row row) {
  Pace();
  rows_.fetch_add(1);
  const uint64_t seq = next_seq_++;
  {
    absl::MutexLock lock(&mu_);
    RETURN_IF_ERROR(failure_);
    window_.push_back(Pending{row.position, false});
  }
  // The window holds its own copy; the row's is only for DLQ headers.
  google::protobuf::ArenaOptions arena_options;
  arena_options.initial_block = arena_block_;
  arena_options.initial_block_size = sizeof(arena_block_);
  google::protobuf::Arena arena(arena_options);
  auto* record =
      google::protobuf::Arena::CreateMessage<datarun::v1::Record>(&arena);
  RowRejection rejection;
  if (mapper_->Map(row, record, &rejection)) {
    record->SerializeToString(&value_);
    broker::OutgoingMessage m;
    m.topic = mapper_->topic();
    m.key = record->subject().id();
    m.value = value_;
    m.headers = &data_headers_;
    return Send(m, seq, /*dlq=*/false);
  }
  dlq_reason_family_.Add({{"reason", rejection.reason}}).Increment();
  broker::Headers headers = {
      {"dr-dlq-reason", rejection.reason}, {"dr-dlq-detail", rejection.detail},
      {"dr-dlq-source", row.location},     {"dr-dlq-position", row.position},
      {"dr-dlq-topic", mapper_->topic()},
  };
  broker::OutgoingMessage m;
  m.topic = mapper_->dlq_topic();
  m.value = row.raw;
  m.headers = &headers;
  return Send(m, seq, /*dlq=*/true);
}

absl::Status Pipeline::CommitAcknowledged() {
  std::string position;
  bool moved = false;
  {
    absl::MutexLock lock(&mu_);
    while (!window_.empty() && window_.front().done) {
      position = std::move(window_.front().position);
      window_.pop_front();
      ++base_seq_;
      moved = true;
    }
  }
  if (!moved) return absl::OkStatus();
  RETURN_IF_ERROR(source_->Commit(position));
  commits_.fetch_add(1);
  return absl::OkStatus();
}

absl::Status Pipeline::Drain() {
  absl::Status flushed = producer_->Flush(options_.drain_timeout);
  RETURN_IF_ERROR(CommitAcknowledged());
  {
    absl::MutexLock lock(&mu_);
    RETURN_IF_ERROR(failure_);
  }
  return flushed;
}

absl::Status Pipeline::Run(const std::atomic<bool>& stop, bool exit_when_idle) {
  absl::Time next_commit = absl::Now() + options_.commit_interval;
  absl::Status status;
  while (!stop.load()) {
    Row row;
    absl::StatusOr<bool> got = source_->Next(&row);
    if (!got.ok()) {
      status = got.status();
      break;
    }
    if (*got) {
      status = ProcessRow(std::move(row));
      if (!status.ok()) break;
    }
    if (!*got || absl::Now() >= next_commit) {
      status = CommitAcknowledged();
      if (!status.ok()) break;
      {
        absl::MutexLock lock(&mu_);
        status = failure_;
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
  return status.ok() ? drained : status;
}

}  // namespace datarun::connectors
