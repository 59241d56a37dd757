// Kafka's default key partitioner (the Java client's): murmur2 of the key,
// made positive, modulo the partition count. Every producer of every
// department partitions subject ids this way (the Kafka adapter configures
// librdkafka's "murmur2_random", the fake broker calls this), so partition p
// of every data topic, of dr.query.req and of dr.audit holds the same
// subjects: co-partitioning rests on this one function.
//
// Pure function; safe from any thread.
#ifndef DATARUN_BROKER_ADAPTERS_PARTITIONER_H_
#define DATARUN_BROKER_ADAPTERS_PARTITIONER_H_

#include <cstdint>

#include "absl/strings/string_view.h"

namespace datarun::broker {

// `partitions` must be at least 1.
int32_t Murmur2Partition(absl::string_view key, int32_t partitions);

}  // namespace datarun::broker

#endif  // DATARUN_BROKER_ADAPTERS_PARTITIONER_H_
