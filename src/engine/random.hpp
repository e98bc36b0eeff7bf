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
    advance(state_);
    return result;
  }
  // This stream n draws later: the generator that next() called n times would
  // leave (the state moves by a linear map over GF(2), so n steps are a
  // polynomial in one step: see random.cpp). The first jump by n on a thread
  // costs about a microsecond per bit of n, later ones under a microsecond
  // (each thread keeps its last 16). Lets threads draw their own parts of one
  // stream, as dropout's masks do.
  Rng jumped(uint64_t n) const;
  // xoshiro256's state transition, linear over GF(2) (next()'s output scrambles the state; this does not).
  static void advance(uint64_t (&state)[4]) {
    const uint64_t t = state[1] << 17;
    state[2] ^= state[0];
    state[3] ^= state[1];
    state[1] ^= state[2];
    state[0] ^= state[3];
    state[2] ^= t;
    state[3] = rotl(state[3], 45);
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

// Each consumer of randomness draws from a stream of its own, named beside
// the code that draws it; the ids in use (tests/unit/random_stream_test.cpp
// checks they are distinct; a new consumer takes the next free one):
//   1 kInitStream                           model/model.hpp
//   2 kShuffleStream, 3 kDropoutStream      train/training_loop.hpp
//   4 kValidationSplitStream, 5 kNoiseStream   data/transforms.hpp
//   6, 7, 9, 10 the sequence streams        data/sequences.hpp
//   8 kHoldoutSplitStream                   data/dataset.hpp
//   11 kSwapPartnerStream                   train/interventions.hpp
//   12 kOcclusionStream                     data/transforms.hpp

std::vector<int64_t> random_permutation(int64_t n, Rng& rng);

}  // namespace fbnet
