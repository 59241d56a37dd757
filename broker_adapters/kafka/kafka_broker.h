// KafkaBroker: broker.h on librdkafka 2.0.2, for real Kafka clusters and for
// the embedded cluster (broker_adapters/embedded).
//
// Defaults, each overridable through KafkaConfig::properties (for example
// from a properties file with SSL/SASL settings) and then per client through
// ProducerOptions/ConsumerOptions::properties:
//  - producer: enable.idempotence=true and acks=all (an acknowledged record
//    is written once, in order, even across broker failures and retries);
//    compression lz4 (cheap on CPU, ~2x on protobuf records); linger.ms=5
//    and batch.size=1 MiB / batch.num.messages=10000 (a full batch per
//    partition per request at high rates, at most 5 ms added latency at low
//    ones); partitioner murmur2_random (same key->partition mapping as the
//    Java client, so every department's client co-partitions a subject);
//    no topic auto-creation (a typo fails fast instead of creating a topic
//    with the wrong partition count).
//  - consumer: no auto-commit and no offset store (the caller keeps offsets
//    in its own store); eager rebalancing with the range assignor, because
//    range is the only assignor that gives partition p of every
//    equal-sized topic to one member, which co-partitioned state needs
//    (cooperative-sticky balances each topic independently);
//    auto.offset.reset=earliest, so a position that does not exist (for
//    example stored against an older embedded cluster) restarts at the
//    beginning instead of skipping data.
//
// Create() checks that the bootstrap servers answer within
// KafkaConfig::connect_timeout, so a wrong address is a clear error at
// startup, not a hang later. librdkafka's log lines go to DR_LOG.
//
// When the bus goes away (or never answered), every call with a timeout
// returns within it: QueryWatermarks (kUnavailable naming the bootstrap
// servers; librdkafka 2.0.2's own watermark query ignored its timeout then,
// so the adapter uses ListOffsets through rd_kafka_offsets_for_times),
// Poll/PollBatch, Flush, ListTopics, ClusterId. Closing is bounded too: a
// consumer's Close and destruction do not wait for the lost brokers, and a
// producer's destructor waits up to 10 s for records in flight, but not once
// librdkafka reported every broker down; the records it gives up on fail
// with kCancelled in their callbacks (never silently).
//
// Thread-safety: as broker.h. Delivery callbacks run on one internal thread
// per producer.
#ifndef DATARUN_BROKER_ADAPTERS_KAFKA_KAFKA_BROKER_H_
#define DATARUN_BROKER_ADAPTERS_KAFKA_KAFKA_BROKER_H_

#include <map>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "broker_adapters/broker.h"

namespace datarun::broker {

struct KafkaConfig {
  std::string bootstrap;  // bootstrap.servers; may also come from properties
  // librdkafka properties applied to every client (SSL, SASL, tuning).
  std::map<std::string, std::string> properties;
  // Create() fails if no broker answers within this; zero skips the check.
  absl::Duration connect_timeout = absl::Seconds(10);
};

// Reads a Java-style properties file: `key=value` (or `key: value`) lines,
// '#' and '!' start comments, blank lines ignored. Errors name the file and
// line.
absl::StatusOr<std::map<std::string, std::string>> LoadProperties(
    const std::string& path);

absl::StatusOr<std::unique_ptr<Broker>> NewKafkaBroker(
    const KafkaConfig& config);

}  // namespace datarun::broker

#endif  // DATARUN_BROKER_ADAPTERS_KAFKA_KAFKA_BROKER_H_
