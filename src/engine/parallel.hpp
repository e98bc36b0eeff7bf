// The element-wise loops' share of the cores: parallel_for splits [0, n) into
// one contiguous chunk per thread of the compute pool (compute.hpp: OpenMP's,
// which oneDNN's products use too). Every item is computed by exactly the code
// it would be computed by on one thread, so results do not depend on the
// thread count: a loop that sums must split over its outputs, never over the
// terms of one sum.
#pragma once

#ifdef _OPENMP
#include <omp.h>
#endif

#include <algorithm>
#include <cstdint>
#include <utility>

namespace fbnet {

// Below this many items (floats of work, about 32 KB) a loop runs on the
// calling thread: waking the pool costs more than the loop.
inline constexpr int64_t kMinParallelItems = 8192;

// body(begin, end) over chunks of [0, n), each a multiple of `align` items
// (16 floats, a cache line's worth: threads share at most the line at a chunk
// boundary) but the last.
// `work_items` (default n) is what the threshold compares: for a loop over
// rows, rows times row length. body must not throw.
// Without OpenMP (a clang build: CMakeLists.txt) every loop runs on the calling thread.
template <class Body>
void parallel_for(int64_t n, Body&& body, int64_t work_items = -1, int64_t align = 16) {
#ifdef _OPENMP
  const int64_t work = work_items < 0 ? n : work_items;
  const int threads = work >= kMinParallelItems ? omp_get_max_threads() : 1;
#else
  const int threads = 1;
  (void)work_items;
#endif
  if (threads <= 1 || n <= align) {
    if (n > 0) body(int64_t{0}, n);
    return;
  }
#ifdef _OPENMP
#pragma omp parallel num_threads(threads)
  {
    const int64_t count = omp_get_num_threads();
    const int64_t chunk = ((n + count - 1) / count + align - 1) / align * align;
    const int64_t begin = std::min(n, omp_get_thread_num() * chunk);
    const int64_t end = std::min(n, begin + chunk);
    if (begin < end) body(begin, end);
  }
#endif
}

// Rows of `row_size` items each: chunks of whole rows.
template <class Body>
void parallel_rows(int64_t rows, int64_t row_size, Body&& body) {
  parallel_for(rows, std::forward<Body>(body), rows * row_size, 1);
}

}  // namespace fbnet
