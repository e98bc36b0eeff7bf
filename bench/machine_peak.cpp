// The machine's float32 peak: what the CPU could do if every cycle of every
// core issued fused multiply-adds on full vectors. bench/benchmark.py divides
// the product floors and fbnet's epochs by it, so "% of peak" says how much of
// the silicon a matrix product (or a whole epoch) actually uses.
//
//   peak per core = lanes (float32 per vector) x 2 (an FMA is 2 FLOP)
//                   x FMA units per core x nominal clock
//   peak          = cores this process may use x peak per core
//
// Lanes come from the CPU's features, the clock from /proc/cpuinfo, and the
// FMA units from a measurement: independent FMA chains on one core, whose
// FLOP per cycle at the nominal clock, divided by lanes x 2, rounds to the
// number of FMA pipes (1 or 2 on every x86 core so far; clamped to that, as a
// turbo clock above the nominal one inflates the ratio: 2.7 on the project's
// VM). The same loop on every core at once is reported too.
//
// usage: fbnet_machine_peak      prints one JSON object.
#include <sched.h>
#include <pthread.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <latch>
#include <string>
#include <thread>
#include <vector>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#if defined(__x86_64__)
#include <immintrin.h>
#endif

namespace {

using Clock = std::chrono::steady_clock;
volatile float sink;  // the kernels' results go here, so that no loop is optimised away

// Independent accumulators: more than FMA latency (4-5 cycles) x pipes (2),
// so no FMA ever waits for the one before it. 12 fit in the 16 registers of
// AVX2 and SSE with room for the two constants.
constexpr int kChains = 12;

// Each kernel runs `iterations` x kChains vector FMAs, acc = acc * a + b,
// which converges to 1: no overflow, no denormals. The accumulators start at
// 2, 3, ..., not at 1, a fixed point GCC sees and drops from the loop; a sum of
// them is returned so that the loop cannot be dropped either. The project
// builds for x86-64-v2, so the wider kernels are enabled per function.
#if defined(__x86_64__)
__attribute__((target("avx512f"))) float chains_avx512(int64_t iterations) {
  __m512 acc[kChains];
  for (int c = 0; c < kChains; ++c) acc[c] = _mm512_set1_ps(2.0f + c);
  const __m512 a = _mm512_set1_ps(0.999f), b = _mm512_set1_ps(0.001f);
  for (int64_t i = 0; i < iterations; ++i)
#pragma GCC unroll 16
    for (int c = 0; c < kChains; ++c) acc[c] = _mm512_fmadd_ps(acc[c], a, b);
  float out[16], sum = 0;
  for (int c = 0; c < kChains; ++c) {
    _mm512_storeu_ps(out, acc[c]);
    sum += out[0];
  }
  return sum;
}

__attribute__((target("avx2,fma"))) float chains_avx2(int64_t iterations) {
  __m256 acc[kChains];
  for (int c = 0; c < kChains; ++c) acc[c] = _mm256_set1_ps(2.0f + c);
  const __m256 a = _mm256_set1_ps(0.999f), b = _mm256_set1_ps(0.001f);
  for (int64_t i = 0; i < iterations; ++i)
#pragma GCC unroll 16
    for (int c = 0; c < kChains; ++c) acc[c] = _mm256_fmadd_ps(acc[c], a, b);
  float out[8], sum = 0;
  for (int c = 0; c < kChains; ++c) {
    _mm256_storeu_ps(out, acc[c]);
    sum += out[0];
  }
  return sum;
}
#endif

// Without FMA: a multiply and an add, the same 2 FLOP per lane (SSE, or any
// other CPU through the compiler's 16-byte vectors).
float chains_4_lanes(int64_t iterations) {
  typedef float v4 __attribute__((vector_size(16)));
  v4 acc[kChains];
  for (int c = 0; c < kChains; ++c) acc[c] = v4{} + (2.0f + c);
  const v4 a = v4{} + 0.999f, b = v4{} + 0.001f;
  for (int64_t i = 0; i < iterations; ++i)
#pragma GCC unroll 16
    for (int c = 0; c < kChains; ++c) acc[c] = acc[c] * a + b;
  float sum = 0;
  for (int c = 0; c < kChains; ++c) sum += acc[c][0];
  return sum;
}

struct Simd {
  const char* name;  // the feature flag that chose it
  int lanes;
  float (*kernel)(int64_t);
};

Simd detect_simd() {
#if defined(__x86_64__)
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx512f")) return {"avx512f", 16, chains_avx512};
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return {"avx2+fma", 8, chains_avx2};
  return {"sse (no avx2+fma: multiply and add)", 4, chains_4_lanes};
#else
  return {"no x86 features: 16-byte vectors, multiply and add", 4, chains_4_lanes};
#endif
}

// The CPUs this process may run on (a Slurm job's or taskset's share).
std::vector<int> allowed_cpus() {
  cpu_set_t set;
  std::vector<int> cpus;
  if (sched_getaffinity(0, sizeof(set), &set) == 0)
    for (int cpu = 0; cpu < CPU_SETSIZE; ++cpu)
      if (CPU_ISSET(cpu, &set)) cpus.push_back(cpu);
  if (cpus.empty()) cpus.push_back(0);
  return cpus;
}

struct CpuInfo {
  std::string model;   // "model name", as printed
  double ghz = 0;      // nominal clock
  std::string source;  // where the clock came from
};

// The nominal clock: Intel's "model name" ends in "@ 2.60GHz"; where it does
// not (AMD, many VMs), the first core's "cpu MHz".
CpuInfo read_cpuinfo() {
  CpuInfo info;
  std::ifstream file("/proc/cpuinfo");
  double mhz = 0;
  for (std::string line; std::getline(file, line);) {
    const auto colon = line.find(':');
    if (colon == std::string::npos) continue;
    const std::string key = line.substr(0, line.find_last_not_of(" \t", colon - 1) + 1);
    const std::string value = colon + 2 <= line.size() ? line.substr(colon + 2) : "";
    if (key == "model name" && info.model.empty()) info.model = value;
    if (key == "cpu MHz" && mhz == 0) mhz = std::atof(value.c_str());
  }
  const auto at = info.model.rfind('@');
  if (at != std::string::npos && info.model.find("GHz", at) != std::string::npos) {
    info.ghz = std::atof(info.model.c_str() + at + 1);
    info.source = fmt::format("/proc/cpuinfo model name \"{}\"", info.model.substr(at));
  }
  if (info.ghz <= 0 && mhz > 0) {
    info.ghz = std::round(mhz) / 1000;
    info.source = fmt::format("/proc/cpuinfo \"cpu MHz\" {} (the model name has no \"@ X.XXGHz\")", mhz);
  }
  return info;
}

void pin_to(int cpu) {
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(cpu, &set);
  pthread_setaffinity_np(pthread_self(), sizeof(set), &set);  // best effort: unpinned still measures
}

// GFLOP/s of the kernel on `cpus` (one thread each, started together), the
// best of `trials`: on a shared machine interference only ever slows it.
double measure(const Simd& simd, const std::vector<int>& cpus, int64_t iterations, int trials) {
  const double flop = double(iterations) * kChains * simd.lanes * 2 * cpus.size();
  double best = 0;
  for (int trial = 0; trial < trials; ++trial) {
    std::latch ready(int(cpus.size()) + 1);
    std::vector<std::thread> threads;
    std::vector<float> sums(cpus.size());
    for (size_t t = 0; t < cpus.size(); ++t)
      threads.emplace_back([&, t] {
        pin_to(cpus[t]);
        ready.arrive_and_wait();
        sums[t] = simd.kernel(iterations);
      });
    ready.arrive_and_wait();
    const auto start = Clock::now();
    for (std::thread& thread : threads) thread.join();
    const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
    for (float sum : sums) sink = sink + sum;
    best = std::max(best, flop / seconds * 1e-9);
  }
  return best;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc > 1) {
    std::fprintf(stderr, "fbnet_machine_peak: takes no arguments, got %s\nusage: fbnet_machine_peak  (prints one JSON object)\n", argv[1]);
    return 2;
  }
  const Simd simd = detect_simd();
  const std::vector<int> cpus = allowed_cpus();
  const int cores = int(cpus.size());
  const CpuInfo cpu = read_cpuinfo();
  if (cpu.ghz <= 0) {
    std::fprintf(stderr, "fbnet_machine_peak: no clock in /proc/cpuinfo (neither \"@ X.XXGHz\" nor \"cpu MHz\")\n");
    return 2;
  }

  // Iterations for >= 0.1 s on one core, so a trial is long against timer and thread start-up.
  int64_t iterations = 1 << 16;
  for (;; iterations *= 2) {
    const auto start = Clock::now();
    sink = simd.kernel(iterations);
    if (std::chrono::duration<double>(Clock::now() - start).count() > 0.1) break;
  }
  const double one_core = measure(simd, {cpus[0]}, iterations, 5);
  const double all_cores = measure(simd, cpus, iterations, 3);

  // FMA pipes: the measured FLOP per cycle over what one pipe does per cycle.
  // A turbo clock above the nominal one inflates the ratio, so it is clamped
  // to 2, the most any x86 core has.
  const double flop_per_cycle = one_core / cpu.ghz;
  const double per_pipe = simd.lanes * 2.0;
  const int fma_units = std::clamp(int(std::lround(flop_per_cycle / per_pipe)), 1, 2);
  const double per_core = simd.lanes * 2.0 * fma_units * cpu.ghz;
  const double peak = cores * per_core;

  std::string derivation = fmt::format(
      "lanes {}: __builtin_cpu_supports {}. clock {:.3f} GHz: {}. cores {}: sched_getaffinity. "
      "Measured on 1 core: {} independent {}-lane multiply-add chains, best of 5 trials of {} iterations, {:.1f} GFLOP/s "
      "= {:.2f} FLOP/cycle at {:.3f} GHz = {:.2f} x ({} lanes x 2 FLOP); rounded to {} FMA unit(s) (clamped to 1..2). "
      "Peak per core {} x 2 x {} x {:.3f} = {:.1f} GFLOP/s; peak {} x {:.1f} = {:.1f} GFLOP/s. "
      "Measured on all {} cores at once (one pinned thread each, best of 3): {:.1f} GFLOP/s = {:.0f} % of peak.",
      simd.lanes, simd.name, cpu.ghz, cpu.source, cores, kChains, simd.lanes, iterations, one_core, flop_per_cycle,
      cpu.ghz, flop_per_cycle / per_pipe, simd.lanes, fma_units, simd.lanes, fma_units, cpu.ghz, per_core, cores,
      per_core, peak, cores, all_cores, 100 * all_cores / peak);
  if (flop_per_cycle > 1.1 * per_pipe * fma_units)
    derivation += fmt::format(
        " The measured {:.2f} FLOP/cycle exceeds {} unit(s) x {} by {:.0f} %: the core runs above its nominal clock "
        "(turbo, common in VMs), so the measured throughput exceeds this nominal peak.",
        flop_per_cycle, fma_units, per_pipe, 100 * (flop_per_cycle / (per_pipe * fma_units) - 1));
  else if (flop_per_cycle < 0.9 * per_pipe * fma_units)
    derivation += fmt::format(
        " The measured {:.2f} FLOP/cycle is {:.0f} % below {} unit(s) x {}: a lower clock under this load "
        "(e.g. an AVX-512 licence), or other work on the core.",
        flop_per_cycle, 100 * (1 - flop_per_cycle / (per_pipe * fma_units)), fma_units, per_pipe);

  const nlohmann::ordered_json result = {
      {"cpu", cpu.model},
      {"cores", cores},
      {"simd", simd.name},
      {"lanes", simd.lanes},
      {"clock_ghz", cpu.ghz},
      {"clock_source", cpu.source},
      {"measured_gflops_1_core", one_core},
      {"measured_gflops_all_cores", all_cores},
      {"measured_flop_per_cycle_1_core", flop_per_cycle},
      {"fma_units", fma_units},
      {"peak_gflops_per_core", per_core},
      {"peak_gflops", peak},
      {"derivation", derivation}};
  fmt::print("{}\n", result.dump());
  return 0;
}
