#include "exchange/certificate/topic_revocations.h"

#include <algorithm>
#include <atomic>
#include <memory>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/random/random.h"
#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "common/status_macros.h"
#include "google/protobuf/util/json_util.h"

namespace datarun::certificate {
namespace {

// Every partition from its beginning: the list is rebuilt from scratch by
// each reader, and offsets are never committed.
class FromBeginning : public broker::RebalanceHandler {
 public:
  absl::flat_hash_map<broker::TopicPartition, int64_t> OnAssigned(
      const std::vector<broker::TopicPartition>& partitions) override {
    absl::flat_hash_map<broker::TopicPartition, int64_t> start;
    for (const auto& tp : partitions) start[tp] = broker::kOffsetBeginning;
    return start;
  }
  void OnRevoked(const std::vector<broker::TopicPartition>&) override {}
};

}  // namespace

absl::Status PublishRevocation(broker::Producer& producer,
                               const v1::CertificateRevocation& revocation,
                               absl::Duration timeout) {
  if (revocation.serial().empty() || revocation.issuer_department().empty()) {
    return absl::InvalidArgumentError(
        "revocation needs a serial and an issuer_department");
  }
  v1::CertificateRevocation stamped = revocation;
  if (!stamped.has_revoked_at()) {
    stamped.mutable_revoked_at()->set_seconds(absl::ToUnixSeconds(absl::Now()));
  }
  ASSIGN_OR_RETURN(std::string json, RevocationToJson(stamped));
  // Shared with the delivery callback, which may run after this returns
  // (when the flush timed out, the producer fails the record later).
  struct Delivery {
    absl::Mutex mu;
    absl::Status status ABSL_GUARDED_BY(mu) =
        absl::UnknownError("no delivery report");
    bool done ABSL_GUARDED_BY(mu) = false;
  };
  auto delivery = std::make_shared<Delivery>();
  broker::OutgoingMessage message;
  message.topic = kRevocationTopic;
  message.key = revocation.serial();
  message.value = json;
  RETURN_IF_ERROR(producer.Send(
      message,
      [delivery](const absl::StatusOr<broker::DeliveryReport>& report) {
        absl::MutexLock lock(&delivery->mu);
        delivery->status = report.status();
        delivery->done = true;
      }));
  RETURN_IF_ERROR(producer.Flush(timeout));
  absl::MutexLock lock(&delivery->mu);
  if (!delivery->done) {
    return absl::DeadlineExceededError(absl::StrCat(
        "revocation of ", revocation.serial(), " not acknowledged within ",
        absl::FormatDuration(timeout)));
  }
  return delivery->status;
}

absl::StatusOr<std::unique_ptr<InMemoryRevocationList>> ReadRevocationTopic(
    broker::Broker& broker, absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  broker::ConsumerOptions options;
  options.client_id = "datarun-revocations";
  absl::BitGen gen;
  options.group_id =
      absl::StrCat("datarun-revocations-", absl::Uniform<uint64_t>(gen));
  ASSIGN_OR_RETURN(auto consumer, broker.NewConsumer(options));
  FromBeginning handler;
  RETURN_IF_ERROR(
      consumer->Subscribe({std::string(kRevocationTopic)}, &handler));
  auto list = std::make_unique<InMemoryRevocationList>();
  // End offsets fixed at first assignment: revocations published later are
  // not waited for.
  absl::flat_hash_map<broker::TopicPartition, int64_t> end;
  absl::flat_hash_map<broker::TopicPartition, int64_t> next;
  std::vector<broker::Message> batch;
  while (true) {
    RETURN_IF_ERROR(consumer->Poll(1000, absl::Milliseconds(100), &batch));
    for (const broker::Message& m : batch) {
      broker::TopicPartition tp{m.topic, m.partition};
      next[tp] = m.offset + 1;
      if (m.value.empty()) continue;  // tombstone
      v1::CertificateRevocation revocation;
      auto parsed =
          google::protobuf::util::JsonStringToMessage(m.value, &revocation);
      if (!parsed.ok()) {
        return absl::InvalidArgumentError(absl::StrCat(
            kRevocationTopic, "[", m.partition, "] offset ", m.offset,
            ": not a datarun.v1.CertificateRevocation JSON value: ",
            parsed.ToString()));
      }
      RETURN_IF_ERROR(list->Add(revocation));
    }
    std::vector<broker::TopicPartition> assigned = consumer->Assignment();
    bool caught_up = !assigned.empty();
    for (const auto& tp : assigned) {
      if (!end.contains(tp)) {
        // Within the caller's deadline: against a lost bus this is the
        // call that fails (Unavailable, naming the bootstrap servers).
        const absl::Duration left = std::clamp(
            deadline - absl::Now(), absl::Milliseconds(100), absl::Seconds(5));
        ASSIGN_OR_RETURN(broker::Watermarks w,
                         consumer->QueryWatermarks(tp, left));
        end[tp] = w.high;
        if (!next.contains(tp)) next[tp] = w.low;
      }
      if (next[tp] < end[tp]) caught_up = false;
    }
    if (caught_up) break;
    if (absl::Now() > deadline) {
      return absl::DeadlineExceededError(
          absl::StrCat("did not read ", kRevocationTopic, " to its end within ",
                       absl::FormatDuration(timeout)));
    }
  }
  RETURN_IF_ERROR(consumer->Close());
  return list;
}

}  // namespace datarun::certificate
