// Internal to broker_adapters/kafka: builds librdkafka handles from layered
// properties (adapter defaults < KafkaConfig < per-client options), with
// errors that name the offending property and where it came from, and routes
// librdkafka's logs to DR_LOG. Stateless; thread-safe.
#ifndef DATARUN_BROKER_ADAPTERS_KAFKA_CLIENT_CONFIG_H_
#define DATARUN_BROKER_ADAPTERS_KAFKA_CLIENT_CONFIG_H_

#include <librdkafka/rdkafka.h>

#include <map>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace datarun::broker::kafka_internal {

// One layer of properties and the name of where it came from.
struct PropertyLayer {
  std::string source;  // e.g. "adapter defaults", "ProducerOptions"
  std::map<std::string, std::string> properties;
};

// A new conf with every layer applied in order (later wins), plus the log
// callback. kInvalidArgument names the property, its value and its layer.
absl::StatusOr<rd_kafka_conf_t*> BuildConf(
    const std::vector<PropertyLayer>& layers);

// rd_kafka_new; takes ownership of `conf` in every case.
absl::StatusOr<rd_kafka_t*> NewHandle(rd_kafka_type_t type,
                                      rd_kafka_conf_t* conf);

}  // namespace datarun::broker::kafka_internal

#endif  // DATARUN_BROKER_ADAPTERS_KAFKA_CLIENT_CONFIG_H_
