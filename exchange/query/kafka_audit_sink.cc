#include "exchange/query/kafka_audit_sink.h"

#include <memory>
#include <utility>

#include "absl/random/random.h"
#include "absl/strings/str_cat.h"
#include "common/status_macros.h"

namespace datarun::query {

KafkaAuditSink::KafkaAuditSink(broker::Producer* producer, std::string topic)
    : producer_(producer), topic_(std::move(topic)) {}

void KafkaAuditSink::Write(const datarun::v1::ChainLink& link,
                           audit::AckCallback done) {
  const std::string value = link.SerializeAsString();
  const std::string key = absl::StrCat(link.partition());
  broker::OutgoingMessage m;
  m.topic = topic_;
  m.key = key;
  m.value = value;
  m.partition = link.partition();
  // The callback is shared between the two paths below: Send either accepts
  // the record (then only the delivery report calls it) or refuses it.
  auto shared = std::make_shared<audit::AckCallback>(std::move(done));
  absl::Status st = producer_->Send(
      m, [shared](const absl::StatusOr<broker::DeliveryReport>& r) {
        (*shared)(r.ok() ? absl::OkStatus() : r.status());
      });
  if (!st.ok()) {
    (*shared)(absl::Status(
        st.code(),
        absl::StrCat("audit link ", link.partition(), "-", link.sequence(),
                     " not sent to ", topic_, ": ", st.message())));
  }
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

absl::StatusOr<std::vector<datarun::v1::ChainLink>> ReadAuditLinks(
    broker::Broker* broker, int32_t partition, absl::Duration timeout,
    const std::string& topic) {
  broker::ConsumerOptions co;
  co.client_id = "datarun-audit-reader";
  // A group of its own: it must see every partition, whoever else reads.
  co.group_id = absl::StrCat("datarun-audit-reader-",
                             absl::Uniform<uint64_t>(absl::BitGen()));
  co.properties = {{"session.timeout.ms", "6000"},
                   {"heartbeat.interval.ms", "500"}};
  ASSIGN_OR_RETURN(std::unique_ptr<broker::Consumer> consumer,
                   broker->NewConsumer(co));
  const broker::TopicPartition tp{topic, partition};
  ASSIGN_OR_RETURN(broker::Watermarks wm,
                   consumer->QueryWatermarks(tp, timeout));
  std::vector<datarun::v1::ChainLink> links;
  if (wm.high <= wm.low) return links;
  FromBeginning handler;
  RETURN_IF_ERROR(consumer->Subscribe({topic}, &handler));
  const absl::Time deadline = absl::Now() + timeout;
  std::vector<broker::Message> batch;
  int64_t next = wm.low;
  while (next < wm.high) {
    if (absl::Now() > deadline) {
      return absl::DeadlineExceededError(absl::StrCat(
          "reading ", broker::ToString(tp), ": got to offset ", next, " of ",
          wm.high, " within ", absl::FormatDuration(timeout)));
    }
    RETURN_IF_ERROR(consumer->Poll(4096, absl::Milliseconds(200), &batch));
    for (const auto& m : batch) {
      if (m.partition != partition || m.offset >= wm.high) continue;
      datarun::v1::ChainLink link;
      if (!link.ParseFromString(m.value) || link.partition() != partition) {
        return absl::DataLossError(
            absl::StrCat(broker::ToString(tp), " offset ", m.offset,
                         link.partition() != partition && !m.value.empty()
                             ? " holds a link of another partition"
                             : " is not an audit chain link"));
      }
      links.push_back(std::move(link));
      next = m.offset + 1;
    }
  }
  consumer->Close().IgnoreError();
  return links;
}

}  // namespace datarun::query
