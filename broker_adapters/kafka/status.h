// The one place where librdkafka error codes become absl::Status.
//
// Retriable conditions map to kUnavailable (broker or leader not reachable,
// rebalance in progress), kDeadlineExceeded (timeouts) and
// kResourceExhausted (local queue full), so broker::IsRetriable() tells
// them apart from fatal ones (configuration, authorisation, fatal
// idempotent-producer state -> kInternal, unknown topic -> kNotFound).
// Used by broker_adapters/kafka and broker_adapters/embedded only.
// Stateless; thread-safe.
#ifndef DATARUN_BROKER_ADAPTERS_KAFKA_STATUS_H_
#define DATARUN_BROKER_ADAPTERS_KAFKA_STATUS_H_

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "broker_adapters/broker.h"

typedef struct rd_kafka_s rd_kafka_t;

namespace datarun::broker {

// `err` is an rd_kafka_resp_err_t (RdKafka::ErrorCode has the same values).
// The message reads "<context>: <ERROR_NAME>: <description>".
absl::Status KafkaStatus(int err, absl::string_view context);

// The canonical code alone (exposed for tests).
absl::StatusCode KafkaStatusCode(int err);

// Every topic of the cluster `client` is connected to with its partition
// count, sorted, internal ("__*") topics left out.
absl::StatusOr<std::vector<TopicSpec>> ListTopicsWithClient(
    rd_kafka_t* client, absl::Duration timeout);

// The cluster id as seen by `client`.
absl::StatusOr<std::string> ClusterIdWithClient(rd_kafka_t* client,
                                                absl::Duration timeout);

}  // namespace datarun::broker

#endif  // DATARUN_BROKER_ADAPTERS_KAFKA_STATUS_H_
