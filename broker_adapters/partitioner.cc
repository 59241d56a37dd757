#include "broker_adapters/partitioner.h"

namespace datarun::broker {

int32_t Murmur2Partition(absl::string_view key, int32_t partitions) {
  // Kafka's Utils.murmur2, byte for byte, in unsigned arithmetic.
  const uint32_t m = 0x5bd1e995;
  const int r = 24;
  const size_t length = key.size();
  const auto* data = reinterpret_cast<const uint8_t*>(key.data());
  uint32_t h = 0x9747b28c ^ static_cast<uint32_t>(length);
  const size_t length4 = length / 4;
  for (size_t i = 0; i < length4; ++i) {
    const size_t i4 = i * 4;
    uint32_t k = data[i4] | (data[i4 + 1] << 8) | (data[i4 + 2] << 16) |
                 (static_cast<uint32_t>(data[i4 + 3]) << 24);
    k *= m;
    k ^= k >> r;
    k *= m;
    h *= m;
    h ^= k;
  }
  const size_t tail = length & ~size_t{3};
  switch (length % 4) {
    case 3:
      h ^= static_cast<uint32_t>(data[tail + 2]) << 16;
      [[fallthrough]];
    case 2:
      h ^= static_cast<uint32_t>(data[tail + 1]) << 8;
      [[fallthrough]];
    case 1:
      h ^= data[tail];
      h *= m;
  }
  h ^= h >> 13;
  h *= m;
  h ^= h >> 15;
  return static_cast<int32_t>((h & 0x7fffffff) %
                              static_cast<uint32_t>(partitions));
}

}  // namespace datarun::broker
