#include "exchange/audit/kafka/audit_bus.h"

#include <algorithm>
#include <utility>

#include "absl/random/random.h"
#include "absl/strings/str_cat.h"
#include "common/status_macros.h"

namespace datarun::audit {

KafkaCheckpointSink::KafkaCheckpointSink(broker::Producer* producer,
                                         std::string topic)
    : producer_(producer), topic_(std::move(topic)) {}

void SendAcknowledged(broker::Producer& producer, const std::string& topic,
                      int32_t partition, const std::string& value,
                      absl::string_view what, AckCallback done,
                      std::atomic<int64_t>* in_flight) {
  const std::string key = absl::StrCat(partition);
  broker::OutgoingMessage m;
  m.topic = topic;
  m.key = key;
  m.value = value;
  m.partition = partition;
  // Send either accepts the record (then only the delivery report calls
  // `done`) or refuses it (then only the code below does). The counter
  // rides in the same allocation as the callback.
  struct Pending {
    AckCallback done;
    std::atomic<int64_t>* in_flight;
    void Finish(absl::Status st) {
      done(std::move(st));
      if (in_flight != nullptr) in_flight->fetch_sub(1);
    }
  };
  auto shared = std::make_shared<Pending>(Pending{std::move(done), in_flight});
  absl::Status st = producer.Send(
      m, [shared](const absl::StatusOr<broker::DeliveryReport>& r) {
        shared->Finish(r.ok() ? absl::OkStatus() : r.status());
      });
  if (!st.ok()) {
    shared->Finish(absl::Status(
        st.code(),
        absl::StrCat(what, " not sent to ", topic, ": ", st.message())));
  }
}

void KafkaCheckpointSink::WriteCheckpoint(
    const datarun::v1::SealedCheckpoint& cp, AckCallback done) {
  SendAcknowledged(
      *producer_, topic_, cp.partition(), cp.SerializeAsString(),
      absl::StrCat("checkpoint ", cp.partition(), "@", cp.sequence()),
      std::move(done));
}

namespace {

broker::ConsumerOptions ReaderOptions(absl::string_view what) {
  broker::ConsumerOptions co;
  co.client_id = absl::StrCat("datarun-", what);
  // A group of its own: it must be assigned every partition.
  co.group_id = absl::StrCat("datarun-", what, "-",
                             absl::Uniform<uint64_t>(absl::BitGen()));
  co.properties = {{"session.timeout.ms", "6000"},
                   {"heartbeat.interval.ms", "500"}};
  return co;
}

}  // namespace

absl::StatusOr<std::unique_ptr<KafkaChainHeads>> KafkaChainHeads::Create(
    broker::Broker* broker, std::string topic, absl::Duration timeout) {
  ASSIGN_OR_RETURN(std::unique_ptr<broker::Consumer> consumer,
                   broker->NewConsumer(ReaderOptions("audit-heads")));
  std::unique_ptr<KafkaChainHeads> heads(
      new KafkaChainHeads(std::move(consumer), std::move(topic), timeout));
  absl::MutexLock lock(&heads->mu_);
  RETURN_IF_ERROR(heads->consumer_->Subscribe({heads->topic_}, heads.get()));
  return heads;
}

KafkaChainHeads::~KafkaChainHeads() {
  absl::MutexLock lock(&mu_);
  consumer_->Close().IgnoreError();
}

namespace {

// Every partition starts at its end as an absolute offset. A logical
// kOffsetEnd would be resolved by a later offset lookup, which can land
// after our Seek and undo it (seen under load: a Read that never got its
// records).
absl::flat_hash_map<broker::TopicPartition, int64_t> AtEnd(
    broker::Consumer* consumer,
    const std::vector<broker::TopicPartition>& partitions) {
  absl::flat_hash_map<broker::TopicPartition, int64_t> out;
  for (const auto& tp : partitions) {
    auto wm = consumer->QueryWatermarks(tp, absl::Seconds(10));
    out[tp] = wm.ok() ? wm->high : broker::kOffsetEnd;
  }
  return out;
}

}  // namespace

absl::flat_hash_map<broker::TopicPartition, int64_t>
KafkaChainHeads::OnAssigned(
    const std::vector<broker::TopicPartition>& partitions)
    ABSL_NO_THREAD_SAFETY_ANALYSIS {  // runs inside Poll, under mu_
  // Nothing is read until LastLink seeks; paused right after (WaitReady).
  return AtEnd(consumer_.get(), partitions);
}

absl::Status KafkaChainHeads::WaitReady() {
  absl::MutexLock lock(&mu_);
  return WaitReadyLocked();
}

absl::Status KafkaChainHeads::WaitReadyLocked() {
  if (paused_ && !consumer_->Assignment().empty()) return absl::OkStatus();
  const absl::Time deadline = absl::Now() + timeout_;
  std::vector<broker::Message> batch;
  while (consumer_->Assignment().empty()) {
    if (absl::Now() > deadline) {
      return absl::DeadlineExceededError(
          absl::StrCat("no partition of ", topic_, " assigned within ",
                       absl::FormatDuration(timeout_)));
    }
    RETURN_IF_ERROR(consumer_->Poll(64, absl::Milliseconds(100), &batch));
  }
  RETURN_IF_ERROR(consumer_->Pause(consumer_->Assignment()));
  paused_ = true;
  return absl::OkStatus();
}

absl::StatusOr<std::optional<ChainHead>> KafkaChainHeads::LastLink(
    int32_t partition) {
  absl::MutexLock lock(&mu_);
  RETURN_IF_ERROR(WaitReadyLocked());
  const broker::TopicPartition tp{topic_, partition};
  ASSIGN_OR_RETURN(broker::Watermarks wm,
                   consumer_->QueryWatermarks(tp, timeout_));
  if (wm.high <= 0) return std::nullopt;
  if (wm.high <= wm.low) {
    return absl::DataLossError(absl::StrCat(
        broker::ToString(tp), " held ", wm.high,
        " records but retains none: the chain head is gone, so the chain "
        "cannot be continued without a fork"));
  }
  const int64_t last = wm.high - 1;
  RETURN_IF_ERROR(consumer_->Seek(tp, last));
  RETURN_IF_ERROR(consumer_->Resume({tp}));
  const absl::Time deadline = absl::Now() + timeout_;
  std::vector<broker::Message> batch;
  std::optional<std::string> value;
  while (!value.has_value()) {
    if (absl::Now() > deadline) break;
    absl::Status st = consumer_->Poll(64, absl::Milliseconds(100), &batch);
    if (!st.ok()) {
      consumer_->Pause({tp}).IgnoreError();
      return st;
    }
    for (auto& m : batch) {
      if (m.topic == topic_ && m.partition == partition && m.offset == last) {
        value = std::move(m.value);
      }
    }
  }
  RETURN_IF_ERROR(consumer_->Pause({tp}));
  if (!value.has_value()) {
    return absl::DeadlineExceededError(absl::StrCat(
        "last record (offset ", last, ") of ", broker::ToString(tp),
        " not read within ", absl::FormatDuration(timeout_)));
  }
  datarun::v1::ChainLink link;
  if (!link.ParseFromString(*value) || link.partition() != partition ||
      link.event_hash().empty()) {
    return absl::DataLossError(
        absl::StrCat(broker::ToString(tp), " offset ", last,
                     " is not an audit chain link of partition ", partition));
  }
  return ChainHead{link.sequence(), link.event_hash()};
}

absl::StatusOr<std::unique_ptr<AuditTopicsReader>> AuditTopicsReader::Create(
    broker::Broker* broker, const std::vector<std::string>& topics,
    absl::Duration timeout) {
  ASSIGN_OR_RETURN(std::unique_ptr<broker::Admin> admin, broker->NewAdmin());
  ASSIGN_OR_RETURN(std::vector<broker::TopicSpec> specs,
                   admin->ListTopics(timeout));
  std::map<std::string, int32_t> partitions;
  for (const auto& spec : specs) {
    for (const auto& t : topics) {
      if (spec.name == t) partitions[t] = spec.partitions;
    }
  }
  ASSIGN_OR_RETURN(std::unique_ptr<broker::Consumer> consumer,
                   broker->NewConsumer(ReaderOptions("audit-reader")));
  std::unique_ptr<AuditTopicsReader> reader(new AuditTopicsReader(
      std::move(consumer), std::move(partitions), timeout));
  std::vector<std::string> existing;
  for (const auto& [t, n] : reader->partitions_) existing.push_back(t);
  if (!existing.empty()) {
    RETURN_IF_ERROR(reader->consumer_->Subscribe(existing, reader.get()));
  }
  return reader;
}

AuditTopicsReader::~AuditTopicsReader() { consumer_->Close().IgnoreError(); }

absl::flat_hash_map<broker::TopicPartition, int64_t>
AuditTopicsReader::OnAssigned(
    const std::vector<broker::TopicPartition>& partitions) {
  return AtEnd(consumer_.get(), partitions);
}

absl::Status AuditTopicsReader::WaitAssigned() {
  if (paused_) return absl::OkStatus();
  size_t total = 0;
  for (const auto& [t, n] : partitions_) total += n;
  const absl::Time deadline = absl::Now() + timeout_;
  std::vector<broker::Message> batch;
  while (consumer_->Assignment().size() < total) {
    if (absl::Now() > deadline) {
      return absl::DeadlineExceededError(absl::StrCat(
          "audit topics not assigned within ", absl::FormatDuration(timeout_)));
    }
    RETURN_IF_ERROR(consumer_->Poll(64, absl::Milliseconds(100), &batch));
  }
  RETURN_IF_ERROR(consumer_->Pause(consumer_->Assignment()));
  paused_ = true;
  return absl::OkStatus();
}

absl::Status AuditTopicsReader::Read(
    const std::string& topic, const ReadAuditOptions& options,
    const std::function<absl::Status(const AuditRecord&)>& on_record,
    int32_t* partitions_out) {
  auto it = partitions_.find(topic);
  if (it == partitions_.end()) {
    return absl::NotFoundError(absl::StrCat("no topic ", topic));
  }
  const int32_t partitions = it->second;
  if (partitions_out != nullptr) *partitions_out = partitions;
  if (options.partition >= partitions) {
    return absl::InvalidArgumentError(
        absl::StrCat("partition ", options.partition, " of ", topic,
                     " does not exist (", partitions, " partitions)"));
  }
  RETURN_IF_ERROR(WaitAssigned());
  // Where each partition starts and ends; records appended later are not
  // waited for.
  absl::flat_hash_map<broker::TopicPartition, int64_t> end;
  std::vector<broker::TopicPartition> reading;
  for (int32_t p = 0; p < partitions; ++p) {
    if (options.partition >= 0 && p != options.partition) continue;
    broker::TopicPartition tp{topic, p};
    ASSIGN_OR_RETURN(broker::Watermarks wm,
                     consumer_->QueryWatermarks(tp, options.timeout));
    const int64_t from = std::max(options.from_offset, wm.low);
    if (wm.high <= from) continue;
    end[tp] = wm.high;
    RETURN_IF_ERROR(consumer_->Seek(tp, from));
    reading.push_back(tp);
  }
  if (reading.empty()) return absl::OkStatus();
  RETURN_IF_ERROR(consumer_->Resume(reading));
  const absl::Time deadline = absl::Now() + options.timeout;
  std::vector<broker::Message> batch;
  size_t complete = 0;
  AuditRecord record;
  absl::Status status;
  while (status.ok() && complete < end.size()) {
    if (absl::Now() > deadline) {
      status = absl::DeadlineExceededError(
          absl::StrCat("reading ", topic, ": ", complete, " of ", end.size(),
                       " partitions read to their end within ",
                       absl::FormatDuration(options.timeout)));
      break;
    }
    status = consumer_->Poll(4096, absl::Milliseconds(200), &batch);
    for (const auto& m : batch) {
      if (!status.ok()) break;
      auto e = end.find(broker::TopicPartition{m.topic, m.partition});
      if (e == end.end() || m.offset >= e->second) continue;
      record.partition = m.partition;
      record.offset = m.offset;
      record.value = &m.value;
      status = on_record(record);
      if (m.offset + 1 == e->second) ++complete;
    }
  }
  absl::Status paused = consumer_->Pause(reading);
  return status.ok() ? paused : status;
}

absl::Status ReadAuditRecords(
    broker::Broker* broker, const std::string& topic,
    const ReadAuditOptions& options,
    const std::function<absl::Status(const AuditRecord&)>& on_record,
    int32_t* partitions_out) {
  ASSIGN_OR_RETURN(std::unique_ptr<AuditTopicsReader> reader,
                   AuditTopicsReader::Create(broker, {topic}, options.timeout));
  return reader->Read(topic, options, on_record, partitions_out);
}

}  // namespace datarun::audit
