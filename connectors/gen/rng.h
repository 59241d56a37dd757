// Deterministic random numbers for the synthetic data generator.
//
// std::*_distribution differs between standard libraries, so ranges are
// mapped by multiply-shift on a fixed engine; the same seed gives the same
// data everywhere. Rng::ForItem derives an independent stream per (seed,
// stream, index) so records can be generated in any order or in parallel
// and still be byte-identical.
//
// Thread-safety: an Rng is a value; one per thread.
#ifndef DATARUN_CONNECTORS_GEN_RNG_H_
#define DATARUN_CONNECTORS_GEN_RNG_H_

#include <cstdint>

namespace datarun::gen {

inline uint64_t SplitMix64(uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

// xoshiro256** seeded through SplitMix64: small state, fast, good quality.
class Rng {
 public:
  explicit Rng(uint64_t seed) {
    for (uint64_t& s : s_) s = seed = SplitMix64(seed);
  }
  static Rng ForItem(uint64_t seed, uint64_t stream, uint64_t index) {
    return Rng(SplitMix64(
        seed ^ SplitMix64(stream * 0x100000001b3ULL ^ SplitMix64(index))));
  }

  uint64_t Next() {
    const uint64_t result = Rotl(s_[1] * 5, 7) * 9;
    const uint64_t t = s_[1] << 17;
    s_[2] ^= s_[0];
    s_[3] ^= s_[1];
    s_[1] ^= s_[2];
    s_[0] ^= s_[3];
    s_[2] ^= t;
    s_[3] = Rotl(s_[3], 45);
    return result;
  }
  // In [0, n); n > 0.
  uint64_t Uniform(uint64_t n) {
    return static_cast<uint64_t>((static_cast<unsigned __int128>(Next()) * n) >>
                                 64);
  }
  // In [lo, hi]; lo <= hi.
  int64_t Between(int64_t lo, int64_t hi) {
    return lo +
           static_cast<int64_t>(Uniform(static_cast<uint64_t>(hi - lo) + 1));
  }
  // True with probability per_mille / 1000.
  bool Chance(int per_mille) {
    return Uniform(1000) < static_cast<uint64_t>(per_mille);
  }

 private:
  static uint64_t Rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
  uint64_t s_[4];
};

}  // namespace datarun::gen

#endif  // DATARUN_CONNECTORS_GEN_RNG_H_
