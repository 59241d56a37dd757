// The partition of a subject id on dr.query.req, the data topics and
// dr.audit: Kafka's default partitioner (murmur2 of the key, positive, mod
// the partition count), which every producer of every department uses, so
// the resolver reads the state partition that holds the subject and the
// auditor reads the dr.audit partition that holds its events.
//
// Pure function; safe from any thread.
#ifndef DATARUN_EXCHANGE_QUERY_PARTITIONER_H_
#define DATARUN_EXCHANGE_QUERY_PARTITIONER_H_

#include <cstdint>

#include "absl/strings/string_view.h"

namespace datarun::query {

// `partitions` must be at least 1.
int32_t SubjectPartition(absl::string_view subject_id, int32_t partitions);

}  // namespace datarun::query

#endif  // DATARUN_EXCHANGE_QUERY_PARTITIONER_H_
