// Internal to broker_adapters/kafka: the librdkafka Producer, Consumer and
// Admin behind KafkaBroker. Each takes ownership of its rd_kafka_t handle.
// Thread-safety as broker.h.
#ifndef DATARUN_BROKER_ADAPTERS_KAFKA_KAFKA_CLIENTS_H_
#define DATARUN_BROKER_ADAPTERS_KAFKA_KAFKA_CLIENTS_H_

#include <librdkafka/rdkafka.h>

#include <memory>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "broker_adapters/broker.h"

namespace datarun::broker::kafka_internal {

// `conf` must not have a dr_msg_cb or opaque yet; the producer sets them.
// `sink` (may be null) receives the outcomes of SendRecord.
absl::StatusOr<std::unique_ptr<Producer>> NewKafkaProducer(
    rd_kafka_conf_t* conf, absl::Duration max_block, DeliverySink* sink);

// `conf` must not have a rebalance_cb or opaque yet.
absl::StatusOr<std::unique_ptr<Consumer>> NewKafkaConsumer(
    rd_kafka_conf_t* conf);

absl::StatusOr<std::unique_ptr<Admin>> NewKafkaAdmin(rd_kafka_conf_t* conf);

}  // namespace datarun::broker::kafka_internal

#endif  // DATARUN_BROKER_ADAPTERS_KAFKA_KAFKA_CLIENTS_H_
