#include "exchange/query/kafka_audit_sink.h"

#include <memory>
#include <utility>

#include "absl/random/random.h"
#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "exchange/audit/kafka/audit_bus.h"

namespace datarun::query {

KafkaAuditSink::KafkaAuditSink(broker::Producer* producer, std::string topic,
                               QueryTrace* trace, ChainFence* fence)
    : producer_(producer),
      topic_(std::move(topic)),
      trace_(trace),
      fence_(fence) {}

void KafkaAuditSink::Write(const datarun::v1::ChainLink& link,
                           audit::AckCallback done) {
  std::atomic<int64_t>* in_flight = nullptr;
  if (fence_ != nullptr) {
    // Called under the chain's lock, so once the fence is up no later link
    // of this chain leaves this instance.
    if (!fence_->Admit(link.partition(), link.sequence())) {
      done(absl::FailedPreconditionError(
          absl::StrCat("audit link ", link.partition(), "-", link.sequence(),
                       " not sent: partition ", link.partition(),
                       " is being handed over to another instance")));
      return;
    }
    in_flight = fence_->in_flight(link.partition());
  }
  if (trace_ != nullptr && !QueryTrace::CurrentRequest().empty()) {
    std::string id(QueryTrace::CurrentRequest());
    trace_->Mark(id, TraceStage::kAuditWrite);
    done = [trace = trace_, id = std::move(id),
            done = std::move(done)](absl::Status st) {
      trace->Mark(id, TraceStage::kAuditAcked);
      done(std::move(st));
    };
  }
  audit::SendAcknowledged(
      *producer_, topic_, link.partition(), link.SerializeAsString(),
      absl::StrCat("audit link ", link.partition(), "-", link.sequence()),
      std::move(done), in_flight);
}

namespace {

// Starts every assigned partition at its beginning.
class FromBeginning : public broker::RebalanceHandler {
 public:
  absl::flat_hash_map<broker::TopicPartition, int64_t> OnAssigned(
      const std::vector<broker::TopicPartition>& partitions) override {
    absl::flat_hash_map<broker::TopicPartition, int64_t> out;
    for (const auto& tp : partitions) out[tp] = broker::kOffsetBeginning;
    return out;
  }
  void OnRevoked(const std::vector<broker::TopicPartition>&) override {}
};

}  // namespace

absl::StatusOr<absl::flat_hash_map<broker::TopicPartition,
                                   std::vector<datarun::v1::ChainLink>>>
ReadAuditTopics(broker::Broker* broker, const std::vector<std::string>& topics,
                absl::Duration timeout) {
  broker::ConsumerOptions co;
  co.client_id = "datarun-audit-reader";
  // A group of its own: it must see every partition, whoever else reads.
  co.group_id = absl::StrCat("datarun-audit-reader-",
                             absl::Uniform<uint64_t>(absl::BitGen()));
  co.properties = {{"session.timeout.ms", "6000"},
                   {"heartbeat.interval.ms", "500"}};
  ASSIGN_OR_RETURN(std::unique_ptr<broker::Consumer> consumer,
                   broker->NewConsumer(co));
  ASSIGN_OR_RETURN(std::unique_ptr<broker::Admin> admin, broker->NewAdmin());
  ASSIGN_OR_RETURN(std::vector<broker::TopicSpec> specs,
                   admin->ListTopics(timeout));
  // Where each partition ends now; links appended later are not waited for.
  absl::flat_hash_map<broker::TopicPartition, int64_t> end;
  for (const auto& topic : topics) {
    bool found = false;
    for (const auto& spec : specs) {
      if (spec.name != topic) continue;
      found = true;
      for (int32_t p = 0; p < spec.partitions; ++p) {
        broker::TopicPartition tp{topic, p};
        ASSIGN_OR_RETURN(broker::Watermarks wm,
                         consumer->QueryWatermarks(tp, timeout));
        if (wm.high > wm.low) end[tp] = wm.high;
      }
    }
    if (!found) return absl::NotFoundError(absl::StrCat("no topic ", topic));
  }
  absl::flat_hash_map<broker::TopicPartition,
                      std::vector<datarun::v1::ChainLink>>
      out;
  if (end.empty()) return out;
  FromBeginning handler;
  RETURN_IF_ERROR(consumer->Subscribe(topics, &handler));
  const absl::Time deadline = absl::Now() + timeout;
  std::vector<broker::Message> batch;
  size_t complete = 0;
  while (complete < end.size()) {
    if (absl::Now() > deadline) {
      return absl::DeadlineExceededError(absl::StrCat(
          "reading ", topics.size(), " audit topic(s): ", complete, " of ",
          end.size(), " partitions read to their end within ",
          absl::FormatDuration(timeout)));
    }
    RETURN_IF_ERROR(consumer->Poll(4096, absl::Milliseconds(200), &batch));
    for (const auto& m : batch) {
      broker::TopicPartition tp{m.topic, m.partition};
      auto e = end.find(tp);
      if (e == end.end() || m.offset >= e->second) continue;
      datarun::v1::ChainLink link;
      if (!link.ParseFromString(m.value)) {
        return absl::DataLossError(absl::StrCat(broker::ToString(tp),
                                                " offset ", m.offset,
                                                " is not an audit chain link"));
      }
      if (link.partition() != m.partition) {
        return absl::DataLossError(
            absl::StrCat(broker::ToString(tp), " offset ", m.offset,
                         " holds a link of partition ", link.partition()));
      }
      out[tp].push_back(std::move(link));
      if (m.offset + 1 == e->second) ++complete;
    }
  }
  consumer->Close().IgnoreError();
  return out;
}

absl::StatusOr<std::vector<datarun::v1::ChainLink>> ReadAuditLinks(
    broker::Broker* broker, int32_t partition, absl::Duration timeout,
    const std::string& topic) {
  ASSIGN_OR_RETURN(auto all, ReadAuditTopics(broker, {topic}, timeout));
  auto it = all.find(broker::TopicPartition{topic, partition});
  if (it == all.end()) return std::vector<datarun::v1::ChainLink>();
  return std::move(it->second);
}

}  // namespace datarun::query
