#include "broker_adapters/embedded/embedded_cluster.h"

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "broker_adapters/kafka/status.h"

namespace datarun::broker {
namespace {

constexpr absl::Duration kStartTimeout = absl::Seconds(10);

absl::Status SetConf(rd_kafka_conf_t* conf, const char* name,
                     const std::string& value) {
  char errstr[512];
  if (rd_kafka_conf_set(conf, name, value.c_str(), errstr, sizeof(errstr)) !=
      RD_KAFKA_CONF_OK) {
    return absl::InvalidArgumentError(
        absl::StrCat("embedded cluster: ", name, "=", value, ": ", errstr));
  }
  return absl::OkStatus();
}

absl::StatusOr<rd_kafka_t*> NewHandle(
    const std::vector<std::pair<const char*, std::string>>& props) {
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  for (const auto& [name, value] : props) {
    absl::Status s = SetConf(conf, name, value);
    if (!s.ok()) {
      rd_kafka_conf_destroy(conf);
      return s;
    }
  }
  char errstr[512];
  rd_kafka_t* rk =
      rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof(errstr));
  if (rk == nullptr) {
    rd_kafka_conf_destroy(conf);
    return absl::InternalError(
        absl::StrCat("embedded cluster: rd_kafka_new: ", errstr));
  }
  return rk;
}

class EmbeddedAdmin : public Admin {
 public:
  explicit EmbeddedAdmin(EmbeddedCluster* cluster, rd_kafka_t* client)
      : cluster_(cluster), client_(client) {}

  absl::Status EnsureTopics(const std::vector<TopicSpec>& topics,
                            absl::Duration) override {
    for (const TopicSpec& t : topics) {
      absl::Status s = cluster_->CreateTopic(t.name, t.partitions);
      if (!s.ok()) return s;
    }
    return absl::OkStatus();
  }
  absl::StatusOr<std::vector<TopicSpec>> ListTopics(
      absl::Duration timeout) override {
    return ListTopicsWithClient(client_, timeout);
  }
  absl::StatusOr<std::string> ClusterId(absl::Duration) override {
    return cluster_->cluster_id();
  }

 private:
  EmbeddedCluster* cluster_;
  rd_kafka_t* client_;
};

}  // namespace

absl::StatusOr<std::unique_ptr<EmbeddedCluster>> EmbeddedCluster::Start(
    int brokers) {
  if (brokers < 1 || brokers > 64) {
    return absl::InvalidArgumentError(absl::StrCat(
        "embedded cluster: broker count must be 1..64, got ", brokers));
  }
  std::unique_ptr<EmbeddedCluster> c(new EmbeddedCluster());
  c->broker_count_ = brokers;
  // The handle only hosts the mock cluster's thread; it connects nowhere,
  // so its "no bootstrap.servers" notice is silenced.
  auto handle = NewHandle({{"log_level", "3"}});
  if (!handle.ok()) return handle.status();
  c->handle_ = *handle;
  c->mock_ = rd_kafka_mock_cluster_new(c->handle_, brokers);
  if (c->mock_ == nullptr) {
    return absl::InternalError(
        "embedded cluster: rd_kafka_mock_cluster_new failed (could not "
        "listen on 127.0.0.1?)");
  }
  c->bootstrap_ = rd_kafka_mock_cluster_bootstraps(c->mock_);
  auto client = NewHandle({{"bootstrap.servers", c->bootstrap_},
                           {"client.id", "datarun-embedded-admin"},
                           {"log.connection.close", "false"},
                           {"log_level", "3"}});
  if (!client.ok()) return client.status();
  c->metadata_client_ = *client;
  auto id = ClusterIdWithClient(c->metadata_client_, kStartTimeout);
  if (!id.ok()) {
    return absl::Status(
        id.status().code(),
        absl::StrCat("embedded cluster at ", c->bootstrap_,
                     " did not answer: ", id.status().message()));
  }
  c->cluster_id_ = *std::move(id);
  return c;
}

EmbeddedCluster::~EmbeddedCluster() {
  if (metadata_client_ != nullptr) rd_kafka_destroy(metadata_client_);
  if (mock_ != nullptr) rd_kafka_mock_cluster_destroy(mock_);
  if (handle_ != nullptr) rd_kafka_destroy(handle_);
}

absl::Status EmbeddedCluster::CreateTopic(const std::string& name,
                                          int32_t partitions) {
  if (name.empty() || name.size() > 249) {
    return absl::InvalidArgumentError(
        absl::StrCat("topic name must be 1..249 characters: \"", name, "\""));
  }
  for (char ch : name) {
    if (!(isalnum(static_cast<unsigned char>(ch)) || ch == '.' || ch == '_' ||
          ch == '-')) {
      return absl::InvalidArgumentError(
          absl::StrCat("topic name \"", name, "\" has '", std::string(1, ch),
                       "'; Kafka allows only [a-zA-Z0-9._-]"));
    }
  }
  if (partitions < 1) {
    return absl::InvalidArgumentError(absl::StrCat(
        "topic ", name, ": partition count must be >= 1, got ", partitions));
  }
  const int rf = std::min(3, broker_count_);
  rd_kafka_resp_err_t err =
      rd_kafka_mock_topic_create(mock_, name.c_str(), partitions, rf);
  if (err == RD_KAFKA_RESP_ERR_NO_ERROR) return absl::OkStatus();
  if (err != RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS) {
    return KafkaStatus(err, absl::StrCat("creating topic ", name));
  }
  auto topics = ListTopicsWithClient(metadata_client_, kStartTimeout);
  if (!topics.ok()) return topics.status();
  for (const TopicSpec& t : *topics) {
    if (t.name != name) continue;
    if (t.partitions != partitions) {
      return absl::FailedPreconditionError(
          absl::StrCat("topic ", name, " exists with ", t.partitions,
                       " partitions, wanted ", partitions));
    }
    return absl::OkStatus();
  }
  return absl::InternalError(absl::StrCat(
      "topic ", name, " reported as existing but missing from metadata"));
}

absl::Status EmbeddedCluster::CreateTopics(
    const std::vector<std::string>& names, int32_t partitions) {
  for (const std::string& name : names) {
    absl::Status s = CreateTopic(name, partitions);
    if (!s.ok()) return s;
  }
  return absl::OkStatus();
}

std::unique_ptr<Admin> EmbeddedCluster::NewAdmin() {
  return std::make_unique<EmbeddedAdmin>(this, metadata_client_);
}

absl::Status EmbeddedCluster::SetBrokerDown(int32_t broker_id) {
  return KafkaStatus(rd_kafka_mock_broker_set_down(mock_, broker_id),
                     absl::StrCat("setting broker ", broker_id, " down"));
}

absl::Status EmbeddedCluster::SetBrokerUp(int32_t broker_id) {
  return KafkaStatus(rd_kafka_mock_broker_set_up(mock_, broker_id),
                     absl::StrCat("setting broker ", broker_id, " up"));
}

absl::Status EmbeddedCluster::SetBrokerRtt(int32_t broker_id,
                                           absl::Duration rtt) {
  return KafkaStatus(
      rd_kafka_mock_broker_set_rtt(
          mock_, broker_id, static_cast<int>(absl::ToInt64Milliseconds(rtt))),
      absl::StrCat("setting rtt of broker ", broker_id));
}

void EmbeddedCluster::PushRequestErrors(int16_t api_key,
                                        const std::vector<int>& errors) {
  std::vector<rd_kafka_resp_err_t> errs;
  errs.reserve(errors.size());
  for (int e : errors) errs.push_back(static_cast<rd_kafka_resp_err_t>(e));
  rd_kafka_mock_push_request_errors_array(mock_, api_key, errs.size(),
                                          errs.data());
}

void EmbeddedCluster::ClearRequestErrors(int16_t api_key) {
  rd_kafka_mock_clear_request_errors(mock_, api_key);
}

absl::Status EmbeddedCluster::SetPartitionLeader(const std::string& topic,
                                                 int32_t partition,
                                                 int32_t broker_id) {
  return KafkaStatus(
      rd_kafka_mock_partition_set_leader(mock_, topic.c_str(), partition,
                                         broker_id),
      absl::StrCat("setting leader of ", topic, "[", partition, "]"));
}

}  // namespace datarun::broker
