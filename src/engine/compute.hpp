// Where fbnet's arithmetic runs (as gemma.cpp's ThreadingArgs): the product
// engine behind every matrix product of gemm() (blas.hpp), and the threads
// that products and fbnet's own element-wise loops (parallel.hpp) share.
//
// One pool of threads does all of it: OpenMP's. oneDNN runs its products on
// that pool, and so do the element-wise loops, so they never compete for a
// core. OpenBLAS is linked in its OpenMP build for the same reason (CMakeLists.txt;
// "blas_threading" in config.json says which one a binary loaded).
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace fbnet {

enum class ProductEngine {
  kOpenBlas,  // cblas_sgemm: OpenBLAS's kernels for the CPU it recognises
  kOneDnn,    // dnnl_sgemm: oneDNN's kernels, generated for the CPU it finds
};

// The default: the environment variable FBNET_ENGINE where set (so that a whole
// test suite, or every run of a script, can take the other engine), else
// oneDNN where fbnet was built with it (the faster one here: docs/BENCHMARKS.md).
// Throws fbnet::Error naming FBNET_ENGINE when it names no engine of this build.
ProductEngine default_product_engine();
ProductEngine built_in_default_engine();  // the default without FBNET_ENGINE
bool product_engine_available(ProductEngine engine);
// Throws fbnet::Error naming `source` (a flag, a variable) when this build lacks `engine`.
void check_product_engine_available(ProductEngine engine, const std::string& source);
std::vector<ProductEngine> available_product_engines();  // openblas first

// How float32 convolutions run (model/kernels/conv2d.hpp): im2col, the receptive fields as the columns of one
// matrix and one product through gemm() on the product engine; or oneDNN's convolution primitives, whose products
// happen inside oneDNN. Float64 convolutions (gradient checks, the float64 peer) always take im2col.
enum class ConvolutionEngine {
  kIm2col,
  kOneDnn,       // oneDNN's primitives, the activations between them kept in its channel blocks where they can be
                 // (model/activation_layouts.hpp)
  kOneDnnNchw,  // the same primitives on plain NCHW activations, reordered at each call: the same results, slower
};
bool uses_onednn(ConvolutionEngine engine);
// The engine whose results `engine` gives bit for bit (onednn-nchw: onednn's), which a run's id names.
ConvolutionEngine same_results_as(ConvolutionEngine engine);
// oneDNN's primitives where fbnet was built with oneDNN (1.6-2.3x faster than im2col on BLT here:
// docs/BENCHMARKS.md), else im2col.
ConvolutionEngine default_convolution_engine();

struct ComputeSettings {
  ProductEngine engine = default_product_engine();
  int threads = 0;  // 0: one per core
  ConvolutionEngine convolution = default_convolution_engine();
};

// Makes `settings` the process's: every later product runs on its engine, and
// products and element-wise loops on its threads. Throws fbnet::Error naming
// --engine when fbnet was built without that engine.
void use_compute_settings(const ComputeSettings& settings);
// OpenMP's thread count belongs to each thread: a thread that the process started itself runs its loops and
// products on compute_threads() threads only after calling this.
void use_compute_threads_on_this_thread();
ProductEngine current_product_engine();  // before use_compute_settings(): the default
ConvolutionEngine current_convolution_engine();
// The cores this process may run on (a Slurm job's or taskset's share), not all the machine's.
int available_cores();
int compute_threads();  // the threads in use (settings.threads resolved)

// What a result depends on, for config.json: {"engine": "onednn", "engine_version":
// "oneDNN 2.6.3 (avx512_core_amx, OpenMP)", "convolution": "im2col", "threads": 2, "blas": "OpenBLAS 0.3.21 ...",
// "blas_threading": "openmp"}.
nlohmann::ordered_json compute_description();

// The settings machinery (config/settings.hpp) reads and writes the enums.
void parse_value(const std::string& setting, const std::string& text, ProductEngine& field);
nlohmann::json json_value(ProductEngine field);
const char* product_engine_name(ProductEngine engine);
void parse_value(const std::string& setting, const std::string& text, ConvolutionEngine& field);
nlohmann::json json_value(ConvolutionEngine field);
const char* convolution_engine_name(ConvolutionEngine engine);

}  // namespace fbnet
