#include "exchange/query/partitioner.h"

#include "broker_adapters/partitioner.h"

namespace datarun::query {

int32_t SubjectPartition(absl::string_view subject_id, int32_t partitions) {
  return broker::Murmur2Partition(subject_id, partitions);
}

}  // namespace datarun::query
