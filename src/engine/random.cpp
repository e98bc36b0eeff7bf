// xoshiro256** (Blackman and Vigna), seeded with splitmix64.
#include "engine/random.hpp"

#include <numbers>

namespace fbnet {
namespace {

uint64_t splitmix64(uint64_t& x) {
  uint64_t z = (x += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

}  // namespace

Rng::Rng(uint64_t seed, uint64_t stream, uint64_t substream) {
  uint64_t mix = seed;
  mix = splitmix64(mix) ^ (stream * 0xd1b54a32d192ed03ULL);
  mix = splitmix64(mix) ^ (substream * 0xabc98388fb8fac03ULL);
  for (uint64_t& word : state_) word = splitmix64(mix);
}

uint64_t Rng::below(uint64_t n) {
  // Lemire's nearly divisionless method, with rejection for exact uniformity.
  __uint128_t product = static_cast<__uint128_t>(next()) * n;
  uint64_t low = static_cast<uint64_t>(product);
  if (low < n) {
    const uint64_t threshold = -n % n;
    while (low < threshold) {
      product = static_cast<__uint128_t>(next()) * n;
      low = static_cast<uint64_t>(product);
    }
  }
  return static_cast<uint64_t>(product >> 64);
}

double Rng::normal() {
  if (has_spare_normal_) {
    has_spare_normal_ = false;
    return spare_normal_;
  }
  double u1 = uniform();
  while (u1 <= 0.0) u1 = uniform();
  const double u2 = uniform();
  const double radius = std::sqrt(-2.0 * std::log(u1));
  const double angle = 2.0 * std::numbers::pi * u2;
  spare_normal_ = radius * std::sin(angle);
  has_spare_normal_ = true;
  return radius * std::cos(angle);
}

std::vector<int64_t> random_permutation(int64_t n, Rng& rng) {
  std::vector<int64_t> order(n);
  std::iota(order.begin(), order.end(), int64_t{0});
  rng.shuffle(std::span<int64_t>(order));
  return order;
}

}  // namespace fbnet
