// The process's product engine and threads, and their descriptions.
#include "engine/compute.hpp"

#include <cblas.h>
#include <sched.h>
#ifdef _OPENMP
#include <omp.h>
#endif

#include <algorithm>
#include <cstdlib>
#include <optional>
#include <thread>

#include <fmt/format.h>

#include "engine/enum_names.hpp"
#include "engine/error.hpp"

#ifdef FBNET_WITH_ONEDNN
#include <oneapi/dnnl/dnnl.h>
#endif

namespace fbnet {
namespace {

constexpr EnumName<ProductEngine> kEngineNames[] = {{ProductEngine::kOpenBlas, "openblas"},
                                                    {ProductEngine::kOneDnn, "onednn"}};
constexpr EnumName<ConvolutionEngine> kConvolutionNames[] = {{ConvolutionEngine::kIm2col, "im2col"},
                                                             {ConvolutionEngine::kOneDnn, "onednn"},
                                                             {ConvolutionEngine::kOneDnnNchw, "onednn-nchw"}};

// Unset until use_compute_settings(), which the runs' main thread calls before any worker thread starts;
// until then a product takes the default, read once (a function-local static: safe from any thread).
std::optional<ProductEngine> engine_in_use;
ConvolutionEngine convolution_in_use = default_convolution_engine();
int threads_in_use = 0;  // 0: not set; then the libraries' own defaults (one per core)


#ifdef FBNET_WITH_ONEDNN
const char* isa_name(dnnl_cpu_isa_t isa) {
  switch (isa) {
    case dnnl_cpu_isa_sse41: return "sse41";
    case dnnl_cpu_isa_avx: return "avx";
    case dnnl_cpu_isa_avx2: return "avx2";
    case dnnl_cpu_isa_avx2_vnni: return "avx2_vnni";
    case dnnl_cpu_isa_avx512_core: return "avx512_core";
    case dnnl_cpu_isa_avx512_core_vnni: return "avx512_core_vnni";
    case dnnl_cpu_isa_avx512_core_bf16: return "avx512_core_bf16";
    case dnnl_cpu_isa_avx512_core_amx: return "avx512_core_amx";
    default: return "other";
  }
}

std::string onednn_description() {
  const dnnl_version_t* version = dnnl_version();
  // The threading runtime it was built with: OpenMP is the pool fbnet's loops share (compute.hpp).
  const char* runtime = version->cpu_runtime == DNNL_RUNTIME_OMP ? "OpenMP" : "not OpenMP";
  return fmt::format("oneDNN {}.{}.{} ({}, {})", version->major, version->minor, version->patch,
                     isa_name(dnnl_get_effective_cpu_isa()), runtime);
}
#endif

}  // namespace

ProductEngine built_in_default_engine() {
#ifdef FBNET_WITH_ONEDNN
  return ProductEngine::kOneDnn;
#else
  return ProductEngine::kOpenBlas;
#endif
}

ProductEngine default_product_engine() {
  const char* variable = std::getenv("FBNET_ENGINE");
  if (variable == nullptr || *variable == '\0') return built_in_default_engine();
  const ProductEngine engine = parse_enum(kEngineNames, "environment variable FBNET_ENGINE", variable);
  check_product_engine_available(engine, "environment variable FBNET_ENGINE");
  return engine;
}

bool product_engine_available(ProductEngine engine) {
  return engine == ProductEngine::kOpenBlas || engine == built_in_default_engine();
}

void check_product_engine_available(ProductEngine engine, const std::string& source) {
  FBNET_CHECK(product_engine_available(engine), "{}: this fbnet was built without {} (install libdnnl-dev, configure "
              "with -DFBNET_WITH_ONEDNN=ON and rebuild); openblas is always there", source, product_engine_name(engine));
}

std::vector<ProductEngine> available_product_engines() {
  std::vector<ProductEngine> engines;
  for (const auto& entry : kEngineNames)
    if (product_engine_available(entry.value)) engines.push_back(entry.value);
  return engines;
}

void use_compute_settings(const ComputeSettings& settings) {
  check_product_engine_available(settings.engine, "--engine");
  FBNET_CHECK(!uses_onednn(settings.convolution) || product_engine_available(ProductEngine::kOneDnn),
              "--conv-engine: this fbnet was built without oneDNN (install libdnnl-dev, configure again); use im2col");
  engine_in_use = settings.engine;
  convolution_in_use = settings.convolution;
  threads_in_use = settings.threads > 0 ? settings.threads : available_cores();
  openblas_set_num_threads(threads_in_use);
  use_compute_threads_on_this_thread();
}

void use_compute_threads_on_this_thread() {
#ifdef _OPENMP
  // An OpenBLAS on pthreads of its own (not Debian's OpenMP build, CMakeLists.txt) would fight OpenMP's
  // threads for the cores; its products then get them all, and fbnet's loops run on the calling thread.
  const bool openblas_owns_threads = current_product_engine() == ProductEngine::kOpenBlas && openblas_get_parallel() == 1;
  omp_set_num_threads(openblas_owns_threads ? 1 : compute_threads());
#endif
}

ProductEngine current_product_engine() {
  static const ProductEngine default_engine = default_product_engine();
  return engine_in_use ? *engine_in_use : default_engine;
}

int available_cores() {
  cpu_set_t cpus;
  if (sched_getaffinity(0, sizeof(cpus), &cpus) == 0) return std::max(1, CPU_COUNT(&cpus));
  return static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
}

ConvolutionEngine default_convolution_engine() {
  return built_in_default_engine() == ProductEngine::kOneDnn ? ConvolutionEngine::kOneDnn : ConvolutionEngine::kIm2col;
}

ConvolutionEngine current_convolution_engine() { return convolution_in_use; }

bool uses_onednn(ConvolutionEngine engine) {
  return engine == ConvolutionEngine::kOneDnn || engine == ConvolutionEngine::kOneDnnNchw;
}

ConvolutionEngine same_results_as(ConvolutionEngine engine) {
  return engine == ConvolutionEngine::kOneDnnNchw ? ConvolutionEngine::kOneDnn : engine;
}

int compute_threads() { return threads_in_use > 0 ? threads_in_use : available_cores(); }

nlohmann::ordered_json compute_description() {
  const ProductEngine engine = current_product_engine();
  nlohmann::ordered_json description = {{"engine", product_engine_name(engine)}};
#ifdef FBNET_WITH_ONEDNN
  if (engine == ProductEngine::kOneDnn || uses_onednn(convolution_in_use))
    description["engine_version"] = onednn_description();
#endif
  description["convolution"] = convolution_engine_name(convolution_in_use);
  description["threads"] = compute_threads();
  description["blas"] = openblas_get_config();  // float64 products, and float32 ones with --engine openblas
  // OpenMP: OpenBLAS shares the pool; pthreads: an OpenBLAS other than the one CMakeLists.txt links (fbnet's
  // loops then stay on one thread under --engine openblas).
  description["blas_threading"] = openblas_get_parallel() == 2 ? "openmp" : openblas_get_parallel() == 1 ? "pthreads" : "none";
  return description;
}

void parse_value(const std::string& setting, const std::string& text, ProductEngine& field) {
  field = parse_enum(kEngineNames, "--" + setting, text);
}
nlohmann::json json_value(ProductEngine field) { return product_engine_name(field); }
const char* product_engine_name(ProductEngine engine) { return enum_name(kEngineNames, engine); }

void parse_value(const std::string& setting, const std::string& text, ConvolutionEngine& field) {
  field = parse_enum(kConvolutionNames, setting, text);
}
nlohmann::json json_value(ConvolutionEngine field) { return convolution_engine_name(field); }
const char* convolution_engine_name(ConvolutionEngine engine) { return enum_name(kConvolutionNames, engine); }

}  // namespace fbnet
