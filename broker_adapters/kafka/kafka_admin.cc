#include <map>

#include "absl/strings/str_cat.h"
#include "broker_adapters/kafka/client_config.h"
#include "broker_adapters/kafka/kafka_clients.h"
#include "broker_adapters/kafka/status.h"

namespace datarun::broker::kafka_internal {
namespace {

class KafkaAdmin : public Admin {
 public:
  explicit KafkaAdmin(rd_kafka_t* rk) : rk_(rk) {}
  ~KafkaAdmin() override { rd_kafka_destroy(rk_); }

  absl::Status EnsureTopics(const std::vector<TopicSpec>& topics,
                            absl::Duration timeout) override {
    const absl::Time deadline = absl::Now() + timeout;
    auto existing = ListTopics(timeout);
    if (!existing.ok()) return existing.status();
    std::map<std::string, int32_t> have;
    for (const TopicSpec& t : *existing) have[t.name] = t.partitions;
    std::vector<const TopicSpec*> missing;
    for (const TopicSpec& t : topics) {
      auto it = have.find(t.name);
      if (it == have.end()) {
        missing.push_back(&t);
      } else if (it->second != t.partitions) {
        return absl::FailedPreconditionError(
            absl::StrCat("topic ", t.name, " exists with ", it->second,
                         " partitions, wanted ", t.partitions));
      }
    }
    if (missing.empty()) return absl::OkStatus();

    char errstr[512];
    std::vector<rd_kafka_NewTopic_t*> new_topics;
    absl::Status status;
    for (const TopicSpec* t : missing) {
      // Replication factor -1: the broker's default.replication.factor.
      rd_kafka_NewTopic_t* nt = rd_kafka_NewTopic_new(
          t->name.c_str(), t->partitions, -1, errstr, sizeof(errstr));
      if (nt == nullptr) {
        status = absl::InvalidArgumentError(
            absl::StrCat("topic ", t->name, ": ", errstr));
        break;
      }
      new_topics.push_back(nt);
    }
    if (status.ok()) status = Create(new_topics, deadline);
    rd_kafka_NewTopic_destroy_array(new_topics.data(), new_topics.size());
    return status;
  }

  absl::StatusOr<std::vector<TopicSpec>> ListTopics(
      absl::Duration timeout) override {
    return ListTopicsWithClient(rk_, timeout);
  }

  absl::StatusOr<std::string> ClusterId(absl::Duration timeout) override {
    return ClusterIdWithClient(rk_, timeout);
  }

 private:
  absl::Status Create(std::vector<rd_kafka_NewTopic_t*>& new_topics,
                      absl::Time deadline) {
    const int timeout_ms = static_cast<int>(std::max<int64_t>(
        1, absl::ToInt64Milliseconds(deadline - absl::Now())));
    rd_kafka_queue_t* queue = rd_kafka_queue_new(rk_);
    rd_kafka_AdminOptions_t* options =
        rd_kafka_AdminOptions_new(rk_, RD_KAFKA_ADMIN_OP_CREATETOPICS);
    char errstr[512];
    rd_kafka_AdminOptions_set_operation_timeout(options, timeout_ms, errstr,
                                                sizeof(errstr));
    rd_kafka_AdminOptions_set_request_timeout(options, timeout_ms, errstr,
                                              sizeof(errstr));
    rd_kafka_CreateTopics(rk_, new_topics.data(), new_topics.size(), options,
                          queue);
    rd_kafka_event_t* ev = rd_kafka_queue_poll(queue, timeout_ms + 1000);
    absl::Status status;
    // librdkafka waits for a broker that supports CreateTopics; the
    // embedded cluster has none, so there the request only times out.
    constexpr char kHint[] =
        " (a cluster without the CreateTopics API, such as the embedded "
        "cluster, never answers: create its topics with "
        "EmbeddedCluster::CreateTopics)";
    if (ev == nullptr) {
      status = absl::DeadlineExceededError(
          absl::StrCat("CreateTopics: no answer in time", kHint));
    } else if (rd_kafka_event_error(ev) != RD_KAFKA_RESP_ERR_NO_ERROR) {
      const rd_kafka_resp_err_t err = rd_kafka_event_error(ev);
      const bool hint = err == RD_KAFKA_RESP_ERR__UNSUPPORTED_FEATURE ||
                        err == RD_KAFKA_RESP_ERR__TIMED_OUT;
      status = absl::Status(
          KafkaStatusCode(err),
          absl::StrCat("CreateTopics: ", rd_kafka_event_error_string(ev),
                       hint ? kHint : ""));
    } else {
      const rd_kafka_CreateTopics_result_t* result =
          rd_kafka_event_CreateTopics_result(ev);
      size_t n = 0;
      const rd_kafka_topic_result_t** results =
          rd_kafka_CreateTopics_result_topics(result, &n);
      for (size_t i = 0; i < n && status.ok(); ++i) {
        rd_kafka_resp_err_t err = rd_kafka_topic_result_error(results[i]);
        // Created concurrently by someone else: fine, the next EnsureTopics
        // checks its partition count.
        if (err == RD_KAFKA_RESP_ERR_NO_ERROR ||
            err == RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS) {
          continue;
        }
        const char* msg = rd_kafka_topic_result_error_string(results[i]);
        status = absl::Status(
            KafkaStatusCode(err),
            absl::StrCat("creating topic ",
                         rd_kafka_topic_result_name(results[i]), ": ",
                         rd_kafka_err2name(err), ": ",
                         msg != nullptr ? msg : rd_kafka_err2str(err)));
      }
    }
    if (ev != nullptr) rd_kafka_event_destroy(ev);
    rd_kafka_AdminOptions_destroy(options);
    rd_kafka_queue_destroy(queue);
    return status;
  }

  rd_kafka_t* rk_;
};

}  // namespace

absl::StatusOr<std::unique_ptr<Admin>> NewKafkaAdmin(rd_kafka_conf_t* conf) {
  auto rk = NewHandle(RD_KAFKA_PRODUCER, conf);
  if (!rk.ok()) return rk.status();
  return std::make_unique<KafkaAdmin>(*rk);
}

}  // namespace datarun::broker::kafka_internal
