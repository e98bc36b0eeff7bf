// Seeded random numbers that give the same stream on every platform and
// compiler (the <random> distributions do not): xoshiro256** seeded through
// splitmix64, with our own uniform, normal (Box-Muller) and shuffle.
#pragma once

#include <cmath>
#include <cstdint>
#include <numeric>
#include <span>
#include <vector>

namespace fbnet {

class Rng {
 public:
  // A stream is named by a seed and any number of stream ids, e.g.
  // Rng(seed, kShuffleStream, epoch): streams with different ids are independent.
  explicit Rng(uint64_t seed, uint64_t stream = 0, uint64_t substream = 0);

  // Inline: dropout draws one number per hidden unit per sample.
  uint64_t next() {
    const uint64_t result = rotl(state_[1] * 5, 7) * 9;
    const uint64_t t = state_[1] << 17;
    state_[2] ^= state_[0];
    state_[3] ^= state_[1];
    state_[1] ^= state_[2];
    state_[0] ^= state_[3];
    state_[2] ^= t;
    state_[3] = rotl(state_[3], 45);
    return result;
  }
  // Uniform in [0, 1) with 53 random bits.
  double uniform() { return static_cast<double>(next() >> 11) * 0x1.0p-53; }
  double uniform(double low, double high) { return low + (high - low) * uniform(); }
  // Uniform integer in [0, n).
  uint64_t below(uint64_t n);
  double normal();
  template <class T>
  void shuffle(std::span<T> items) {
    for (size_t i = items.size(); i > 1; --i) std::swap(items[i - 1], items[below(i)]);
  }

 private:
  static uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
  uint64_t state_[4];
  bool has_spare_normal_ = false;
  double spare_normal_ = 0.0;
};

// Stream ids, so that each consumer of randomness draws from its own stream.
enum RandomStream : uint64_t {
  kInitStream = 1,
  kShuffleStream = 2,
  kDropoutStream = 3,
  kValidationSplitStream = 4,
  kNoiseStream = 5,
  kAllowedSequenceStream = 6,  // which K sequences are allowed
  kTrainSequenceStream = 7,    // which training image fills each position of sample i
  kHoldoutSplitStream = 8,     // a single-file dataset's train/test split
  kTestSequenceStream = 9,     // the same for test samples
  kValidationSequenceStream = 10,  // the same for validation samples (held-out training images)
};

std::vector<int64_t> random_permutation(int64_t n, Rng& rng);

}  // namespace fbnet
