// SubjectPartition must equal the partition the Kafka adapter's producers
// pick (Kafka's murmur2), or the resolver would read the wrong state
// partition: checked against Kafka's own test vectors here and against kcat
// in broker_adapters/kafka/kcat_interop_test.
#include "exchange/query/partitioner.h"

#include <cstdint>
#include <utility>

#include "gtest/gtest.h"

namespace datarun::query {
namespace {

TEST(SubjectPartition, KafkaTestVectors) {
  // Kafka's UtilsTest.testMurmur2 values; with INT32_MAX partitions the
  // partition is the positive hash itself.
  const std::pair<const char*, int32_t> vectors[] = {
      {"21", -973932308},
      {"foobar", -790332482},
      {"a-little-bit-long-string", -985981536},
      {"a-little-bit-longer-string", -1486304829},
      {"lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8", -58897971},
      {"abc", 479470107},
  };
  for (const auto& [key, hash] : vectors) {
    EXPECT_EQ(SubjectPartition(key, INT32_MAX),
              static_cast<int32_t>(static_cast<uint32_t>(hash) & 0x7fffffff))
        << key;
  }
}

}  // namespace
}  // namespace datarun::query
