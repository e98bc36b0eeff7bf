// xoshiro256** (Blackman and Vigna), seeded with splitmix64.
#include "engine/random.hpp"

#include <array>
#include <bit>
#include <numbers>
#include <utility>
#include <vector>

#include "engine/error.hpp"

namespace fbnet {
namespace {

uint64_t splitmix64(uint64_t& x) {
  uint64_t z = (x += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

// A polynomial over GF(2) below degree 256, reduced modulo the characteristic
// polynomial P(x) = x^256 + low(x) of xoshiro256's state transition T: bit k of
// word k / 64 is the coefficient of x^k.
using Polynomial = std::array<uint64_t, 4>;

// low(x), found once from the generator itself: Berlekamp-Massey on 512 steps
// of one state bit gives the bit sequence's shortest linear recurrence. T's
// period is 2^256 - 1, so P is primitive, hence irreducible, and every state
// bit of every non-zero start has P itself as its recurrence: any non-zero
// start and any bit serve, and 512 = 2 x 256 bits determine it.
Polynomial characteristic_low() {
  constexpr int kBits = 512;
  std::vector<uint8_t> bit(kBits);
  uint64_t state[4] = {0x9e3779b97f4a7c15ULL, 1, 2, 3};
  for (int i = 0; i < kBits; ++i) {
    bit[i] = state[0] & 1;
    Rng::advance(state);
  }
  // Berlekamp-Massey: bit[i] = sum_{j=1..length} c[j] bit[i - j].
  std::vector<uint8_t> c(kBits + 1, 0), previous(kBits + 1, 0);
  c[0] = previous[0] = 1;
  int length = 0, shift = 1;
  for (int i = 0; i < kBits; ++i) {
    uint8_t discrepancy = bit[i];
    for (int j = 1; j <= length; ++j) discrepancy ^= c[j] & bit[i - j];
    if (discrepancy == 0) {
      ++shift;
      continue;
    }
    std::vector<uint8_t> before = c;
    for (int j = 0; j + shift <= kBits; ++j) c[j + shift] ^= previous[j];
    if (2 * length <= i) {
      length = i + 1 - length;
      previous = std::move(before);
      shift = 1;
    } else {
      ++shift;
    }
  }
  FBNET_ASSERT(length == 256, "Rng: xoshiro256's recurrence has length {}, expected 256", length);
  // P(x) = x^256 + sum_j c[j] x^(256 - j).
  Polynomial low{};
  for (int j = 1; j <= 256; ++j)
    if (c[j]) low[(256 - j) / 64] |= uint64_t{1} << ((256 - j) % 64);
  return low;
}

Polynomial times_x(Polynomial a, const Polynomial& low) {
  const uint64_t overflow = a[3] >> 63;
  for (int w = 3; w > 0; --w) a[w] = (a[w] << 1) | (a[w - 1] >> 63);
  a[0] <<= 1;
  if (overflow)
    for (int w = 0; w < 4; ++w) a[w] ^= low[w];  // x^256 = low(x) mod P
  return a;
}

// a * b mod P, Horner's rule over b's coefficients from the highest.
Polynomial times(const Polynomial& a, const Polynomial& b, const Polynomial& low) {
  Polynomial product{};
  for (int k = 255; k >= 0; --k) {
    product = times_x(product, low);
    if ((b[k / 64] >> (k % 64)) & 1)
      for (int w = 0; w < 4; ++w) product[w] ^= a[w];
  }
  return product;
}

// x^n mod P, by squaring; each thread keeps the last few it computed (dropout asks for the same offsets every batch).
Polynomial power_of_x(uint64_t n) {
  static const Polynomial low = characteristic_low();
  thread_local std::vector<std::pair<uint64_t, Polynomial>> recent;
  for (const auto& [power, polynomial] : recent)
    if (power == n) return polynomial;
  Polynomial result{1, 0, 0, 0};
  for (int bit = 63 - std::countl_zero(n); bit >= 0; --bit) {
    result = times(result, result, low);
    if ((n >> bit) & 1) result = times_x(result, low);
  }
  if (recent.size() == 16) recent.erase(recent.begin());
  recent.emplace_back(n, result);
  return result;
}

}  // namespace

// T^n = (x^n mod P)(T), since P(T) = 0: the state n steps on is the sum of T^k state over x^n mod P's terms.
Rng Rng::jumped(uint64_t n) const {
  const Polynomial steps = power_of_x(n);
  uint64_t state[4] = {state_[0], state_[1], state_[2], state_[3]};
  uint64_t sum[4] = {0, 0, 0, 0};
  for (int k = 0; k < 256; ++k) {
    if ((steps[k / 64] >> (k % 64)) & 1)
      for (int w = 0; w < 4; ++w) sum[w] ^= state[w];
    advance(state);
  }
  Rng later = *this;
  for (int w = 0; w < 4; ++w) later.state_[w] = sum[w];
  return later;
}

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
