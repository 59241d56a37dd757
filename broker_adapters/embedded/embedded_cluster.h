// EmbeddedCluster: an in-process Kafka-protocol cluster (librdkafka's mock
// cluster, rdkafka_mock.h) for single-node mode and tests. Any Kafka client
// (the Kafka adapter, kcat, Java, Python) connects to bootstrap() as to a
// real broker.
//
// Callers: `datarund --embedded_kafka` (keeps one for the life of the
// daemon), the standalone `kafka_embedded` binary (crash tests keep the
// cluster in another process), and tests, which also use the fault hooks.
//
// Limits of librdkafka 2.0.2's mock cluster (see docs/operations.md):
// everything is in memory and lost at exit; each partition keeps at most
// ~5 MiB or 100k message sets (older ones are dropped, the log start offset
// moves up); brokers listen on random 127.0.0.1 ports; the cluster id is new
// on every start; topics are created through this class, not CreateTopics;
// topics a producer names that do not exist are auto-created with 4
// partitions (our Kafka adapter turns auto-creation off on its side).
//
// Thread-safety: all methods are thread-safe (the mock cluster runs its own
// thread and serialises commands).
#ifndef DATARUN_BROKER_ADAPTERS_EMBEDDED_EMBEDDED_CLUSTER_H_
#define DATARUN_BROKER_ADAPTERS_EMBEDDED_EMBEDDED_CLUSTER_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "broker_adapters/broker.h"

// librdkafka's opaque types, so that callers need not include rdkafka.h.
typedef struct rd_kafka_s rd_kafka_t;
typedef struct rd_kafka_mock_cluster_s rd_kafka_mock_cluster_t;

namespace datarun::broker {

class EmbeddedCluster {
 public:
  // Starts `brokers` brokers (ids 1..brokers) and waits until they answer.
  static absl::StatusOr<std::unique_ptr<EmbeddedCluster>> Start(
      int brokers = 1);
  ~EmbeddedCluster();
  EmbeddedCluster(const EmbeddedCluster&) = delete;
  EmbeddedCluster& operator=(const EmbeddedCluster&) = delete;

  // "127.0.0.1:port[,127.0.0.1:port...]".
  const std::string& bootstrap() const { return bootstrap_; }
  // Fetched once at Start; new for every cluster.
  const std::string& cluster_id() const { return cluster_id_; }
  int broker_count() const { return broker_count_; }

  // Creates `name` with `partitions` partitions (replication factor
  // min(3, brokers)). OK if it already exists with that partition count;
  // kFailedPrecondition if it exists with another one.
  absl::Status CreateTopic(const std::string& name, int32_t partitions);
  // The same for each name: what the daemon calls for the catalog's dr.*
  // topics, all with one partition count (co-partitioning).
  absl::Status CreateTopics(const std::vector<std::string>& names,
                            int32_t partitions);

  // An Admin on this cluster: EnsureTopics goes through CreateTopic,
  // ListTopics and ClusterId through the Kafka protocol. Valid while the
  // cluster lives.
  std::unique_ptr<Admin> NewAdmin();

  // Fault hooks for tests. Broker ids are 1..broker_count().
  absl::Status SetBrokerDown(int32_t broker_id);
  absl::Status SetBrokerUp(int32_t broker_id);
  absl::Status SetBrokerRtt(int32_t broker_id, absl::Duration rtt);
  // The next requests with Kafka API key `api_key` (0 Produce, 1 Fetch,
  // 3 Metadata, 11 JoinGroup, ...) fail, in order, with these Kafka error
  // codes (e.g. 6 NOT_LEADER_OR_FOLLOWER, 7 REQUEST_TIMED_OUT).
  void PushRequestErrors(int16_t api_key, const std::vector<int>& errors);
  void ClearRequestErrors(int16_t api_key);
  // Makes `broker_id` the leader of `topic`[`partition`] (-1: no leader).
  absl::Status SetPartitionLeader(const std::string& topic, int32_t partition,
                                  int32_t broker_id);

 private:
  EmbeddedCluster() = default;

  rd_kafka_t* handle_ = nullptr;  // owns the mock cluster
  rd_kafka_mock_cluster_t* mock_ = nullptr;
  rd_kafka_t* metadata_client_ = nullptr;  // a client of the cluster
  std::string bootstrap_;
  std::string cluster_id_;
  int broker_count_ = 0;
};

}  // namespace datarun::broker

#endif  // DATARUN_BROKER_ADAPTERS_EMBEDDED_EMBEDDED_CLUSTER_H_
