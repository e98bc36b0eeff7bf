// oneDNN's convolution primitives for fbnet's tensors (plain NCHW or channel
// blocks), with the layouts they choose (memory::format_tag::any) reached by
// reorders where a tensor lies otherwise, and scale and accumulation done by
// the reorder back (output scale and a sum post-op), or where the result is
// already in the tensor's layout by a loop with the reorder's arithmetic.
#include "model/kernels/conv2d_onednn.hpp"

#include <algorithm>
#include <map>
#include <optional>
#include <tuple>

#ifdef _OPENMP
#include <omp.h>
#endif

#include <oneapi/dnnl/dnnl.hpp>

#include "engine/compute.hpp"
#include "engine/error.hpp"
#include "engine/parallel.hpp"

namespace fbnet {
namespace {

using dnnl::memory;
using Tag = memory::format_tag;
constexpr memory::data_type kF32 = memory::data_type::f32;

dnnl::engine& cpu_engine() {
  static dnnl::engine engine(dnnl::engine::kind::cpu, 0);
  return engine;
}

dnnl::stream& thread_stream() {
  thread_local dnnl::stream stream(cpu_engine());
  return stream;
}

// The primitives of one geometry at n samples, and buffers in the layouts they chose. Each is made when first
// needed: evaluation never makes the backward ones, and a layout that is already the plain one needs no buffer.
struct ConvPrimitives {
  static constexpr dnnl::algorithm kAlgorithm = dnnl::algorithm::convolution_direct;
  memory::desc plain_weights, bias;  // oihw, x
  memory::desc tensor_src[2], tensor_dst[2];  // x and y as fbnet holds them, by ActivationLayout: nchw, nChw16c
  memory::desc any_src, any_weights, any_dst;
  memory::dims strides, padding, padding_right;
  dnnl::convolution_forward::primitive_desc forward_pd;
  dnnl::convolution_forward forward;
  memory forward_src, forward_weights, dst;
  struct BackwardData {
    dnnl::convolution_backward_data::primitive_desc pd;
    dnnl::convolution_backward_data primitive;
    memory weights, diff_dst, diff_src;
  };
  struct BackwardWeights {
    dnnl::convolution_backward_weights::primitive_desc pd;
    dnnl::convolution_backward_weights primitive;
    memory src, diff_dst, diff_weights, diff_bias;
  };
  std::optional<BackwardData> backward_data;
  std::optional<BackwardWeights> backward_weights;

  const memory::desc& src_in(ActivationLayout layout) const { return tensor_src[static_cast<int>(layout)]; }
  const memory::desc& dst_in(ActivationLayout layout) const { return tensor_dst[static_cast<int>(layout)]; }

  BackwardData& data() {
    if (!backward_data) {
      BackwardData b;
      b.pd = {{kAlgorithm, any_src, any_weights, any_dst, strides, padding, padding_right}, cpu_engine(), forward_pd};
      b.primitive = dnnl::convolution_backward_data(b.pd);
      b.diff_src = memory(b.pd.diff_src_desc(), cpu_engine());
      backward_data = std::move(b);
    }
    return *backward_data;
  }
  BackwardWeights& weights() {
    if (!backward_weights) {
      BackwardWeights b;
      b.pd = {{kAlgorithm, any_src, any_weights, bias, any_dst, strides, padding, padding_right}, cpu_engine(),
              forward_pd};
      b.primitive = dnnl::convolution_backward_weights(b.pd);
      b.diff_weights = memory(b.pd.diff_weights_desc(), cpu_engine());
      b.diff_bias = memory(bias, cpu_engine());
      backward_weights = std::move(b);
    }
    return *backward_weights;
  }
};

ConvPrimitives make_primitives(const ConvGeometry& g, int64_t n) {
  const memory::dims src = {n, g.channels, g.height, g.width};
  const memory::dims weights = {g.out_channels, g.channels, g.kernel, g.kernel};
  const memory::dims bias = {g.out_channels};
  const memory::dims dst = {n, g.out_channels, g.out_height(), g.out_width()};
  ConvPrimitives p;
  p.strides = {g.stride, g.stride};
  p.padding = {g.padding, g.padding};
  // The padding below and right that PyTorch's symmetric padding leaves after the last whole stride.
  p.padding_right = {(g.out_height() - 1) * g.stride + g.kernel - g.height - g.padding,
                     (g.out_width() - 1) * g.stride + g.kernel - g.width - g.padding};
  p.any_src = memory::desc(src, kF32, Tag::any);
  p.any_weights = memory::desc(weights, kF32, Tag::any);
  p.any_dst = memory::desc(dst, kF32, Tag::any);
  for (const ActivationLayout layout : {ActivationLayout::kPlain, ActivationLayout::kChannelBlocks}) {
    const Tag tag = layout == ActivationLayout::kPlain ? Tag::nchw : Tag::nChw16c;
    p.tensor_src[static_cast<int>(layout)] = memory::desc(src, kF32, tag);
    p.tensor_dst[static_cast<int>(layout)] = memory::desc(dst, kF32, tag);
  }
  p.plain_weights = memory::desc(weights, kF32, Tag::oihw);
  p.bias = memory::desc(bias, kF32, Tag::x);
  p.forward_pd = {{dnnl::prop_kind::forward_training, ConvPrimitives::kAlgorithm, p.any_src, p.any_weights, p.bias,
                   p.any_dst, p.strides, p.padding, p.padding_right},
                  cpu_engine()};
  p.forward = dnnl::convolution_forward(p.forward_pd);
  p.dst = memory(p.forward_pd.dst_desc(), cpu_engine());
  return p;
}

// Made once per thread (the primitives are not shared between threads that evaluate runs side by side) and
// per thread count: a primitive keeps the OpenMP team size it was made for (oneDNN's threading rule).
ConvPrimitives& primitives(const ConvGeometry& g, int64_t n) {
#ifdef _OPENMP
  const int64_t threads = omp_get_max_threads();
#else
  const int64_t threads = 1;
#endif
  using Key = std::tuple<int64_t, int64_t, int64_t, int64_t, int64_t, int64_t, int64_t, int64_t, int64_t>;
  thread_local std::map<Key, ConvPrimitives> cache;
  const Key key{g.channels, g.height, g.width, g.out_channels, g.kernel, g.stride, g.padding, n, threads};
  auto it = cache.find(key);
  if (it == cache.end()) it = cache.emplace(key, make_primitives(g, n)).first;
  return it->second;
}

// fbnet's buffer `values` as a oneDNN memory in the layout `desc` describes.
memory user_memory(const memory::desc& desc, const float* values) {
  return memory(desc, cpu_engine(), const_cast<float*>(values));
}

// (Handles by value: a reorder takes them non-const.)
// `from` in the layout `want`: `from` itself when the layouts agree, else a reorder into `buffer`.
memory in_layout(memory from, const memory::desc& want, memory& buffer) {
  if (from.get_desc() == want) return from;
  if (!buffer) buffer = memory(want, cpu_engine());
  dnnl::reorder(from, buffer).execute(thread_stream(), from, buffer);
  return buffer;
}

// to (+)= scale * from, in to's layout: by one reorder, or where both lie alike by a loop with a reorder's
// arithmetic (scale * from, rounded, then + to; fbnet builds with -ffp-contract=off), which gives its bits.
void scaled_into(memory from, memory to, float scale, bool accumulate) {
  if (from.get_desc() == to.get_desc()) {
    thread_stream().wait();  // `from` is a primitive's result
    const auto* __restrict in = static_cast<const float*>(from.get_data_handle());
    auto* __restrict out = static_cast<float*>(to.get_data_handle());
    parallel_for(static_cast<int64_t>(to.get_desc().get_size() / sizeof(float)), [&](int64_t begin, int64_t end) {
      if (accumulate) {
        for (int64_t i = begin; i < end; ++i) out[i] = scale * in[i] + out[i];
      } else {
        for (int64_t i = begin; i < end; ++i) out[i] = scale * in[i];
      }
    });
    return;
  }
  dnnl::primitive_attr attributes;
  attributes.set_output_scales(0, {scale});
  if (accumulate) {
    dnnl::post_ops sum;
    sum.append_sum(1.0f);
    attributes.set_post_ops(sum);
  }
  dnnl::reorder(dnnl::reorder::primitive_desc(from, to, attributes)).execute(thread_stream(), from, to);
}

// Where a primitive writes a result bound for `target`: `target` itself when it lies in the primitive's layout and
// takes the result as it is, else the primitive's buffer, to be scaled into `target` after (finish_result).
memory result_memory(const memory& target, const memory& buffer, float scale, bool accumulate) {
  return !accumulate && scale == 1.0f && target.get_desc() == buffer.get_desc() ? target : buffer;
}
void finish_result(const memory& written, const memory& target, float scale, bool accumulate) {
  if (written != target) scaled_into(written, target, scale, accumulate);
}

// body(first, count) over chunks of at most kOneDnnConvChunk samples. A failure of oneDNN's (out of memory, a
// geometry it refuses) becomes an Error that says which setting chose it.
template <class Body>
void for_each_chunk(const ConvGeometry& g, int64_t batch, Body&& body) {
  try {
    for (int64_t first = 0; first < batch; first += kOneDnnConvChunk)
      body(first, std::min(kOneDnnConvChunk, batch - first));
    thread_stream().wait();
  } catch (const dnnl::error& e) {
    fail("--conv-engine {}: oneDNN failed on a {}x{}x{} -> {} convolution (kernel {}, stride {}, padding {}): {}; "
         "--conv-engine im2col runs it without oneDNN",
         convolution_engine_name(current_convolution_engine()), g.channels, g.height, g.width, g.out_channels, g.kernel,
         g.stride, g.padding, e.what());
  }
}

// Channel blocks hold whole blocks only: a padded block would reach past fbnet's buffers.
void check_blocks(const ConvGeometry& g, const ConvLayouts& layouts) {
  FBNET_ASSERT((layouts.input == ActivationLayout::kPlain || g.channels % kChannelBlock == 0) &&
                   (layouts.output == ActivationLayout::kPlain || g.out_channels % kChannelBlock == 0),
               "onednn conv2d: {} -> {} channels are not whole blocks of {}", g.channels, g.out_channels, kChannelBlock);
}

}  // namespace

void onednn_conv2d_forward(const ConvGeometry& g, int64_t batch, const float* x, const float* weight, const float* bias,
                           float* y, float scale, bool accumulate, ConvLayouts layouts) {
  check_blocks(g, layouts);
  for_each_chunk(g, batch, [&](int64_t first, int64_t count) {
    ConvPrimitives& p = primitives(g, count);
    const dnnl::convolution_forward::primitive_desc& pd = p.forward_pd;
    const memory x_memory = user_memory(p.src_in(layouts.input), x + first * g.input_size());
    const memory y_memory = user_memory(p.dst_in(layouts.output), y + first * g.output_size());
    const memory dst = result_memory(y_memory, p.dst, scale, accumulate);
    p.forward.execute(
        thread_stream(),
        {{DNNL_ARG_SRC, in_layout(x_memory, pd.src_desc(), p.forward_src)},
         {DNNL_ARG_WEIGHTS, in_layout(user_memory(p.plain_weights, weight), pd.weights_desc(), p.forward_weights)},
         {DNNL_ARG_BIAS, user_memory(p.bias, bias)},
         {DNNL_ARG_DST, dst}});
    finish_result(dst, y_memory, scale, accumulate);
  });
}

void onednn_conv2d_backward(const ConvGeometry& g, int64_t batch, const float* x, const float* weight, const float* dy,
                            float* weight_grad, float* bias_grad, bool accumulate_parameters, float* dx,
                            bool accumulate_input, float scale, ConvLayouts layouts) {
  check_blocks(g, layouts);
  for_each_chunk(g, batch, [&](int64_t first, int64_t count) {
    ConvPrimitives& p = primitives(g, count);
    // dy in the layout each half wants: one reorder serves both where they want the same (nChw16c on AVX-512).
    const memory dy_memory = user_memory(p.dst_in(layouts.output), dy + first * g.output_size());
    memory dy_reordered;
    auto dy_in = [&](const memory::desc& layout, memory& buffer) {
      if (!dy_reordered || dy_reordered.get_desc() != layout) dy_reordered = in_layout(dy_memory, layout, buffer);
      return dy_reordered;
    };
    if (weight_grad != nullptr) {
      ConvPrimitives::BackwardWeights& b = p.weights();
      b.primitive.execute(
          thread_stream(),
          {{DNNL_ARG_SRC, in_layout(user_memory(p.src_in(layouts.input), x + first * g.input_size()),
                                    b.pd.src_desc(), b.src)},
           {DNNL_ARG_DIFF_DST, dy_in(b.pd.diff_dst_desc(), b.diff_dst)},
           {DNNL_ARG_DIFF_WEIGHTS, b.diff_weights},
           {DNNL_ARG_DIFF_BIAS, b.diff_bias}});
      const bool add = accumulate_parameters || first > 0;  // later chunks add to the first's
      scaled_into(b.diff_weights, user_memory(p.plain_weights, weight_grad), scale, add);
      thread_stream().wait();
      const float* db = static_cast<const float*>(b.diff_bias.get_data_handle());
      for (int64_t oc = 0; oc < g.out_channels; ++oc) bias_grad[oc] = (add ? bias_grad[oc] : 0.0f) + scale * db[oc];
    }
    if (dx != nullptr) {
      ConvPrimitives::BackwardData& b = p.data();
      const memory dx_memory = user_memory(p.src_in(layouts.input), dx + first * g.input_size());
      const memory diff_src = result_memory(dx_memory, b.diff_src, scale, accumulate_input);
      b.primitive.execute(
          thread_stream(),
          {{DNNL_ARG_DIFF_DST, dy_in(b.pd.diff_dst_desc(), b.diff_dst)},
           {DNNL_ARG_WEIGHTS, in_layout(user_memory(p.plain_weights, weight), b.pd.weights_desc(), b.weights)},
           {DNNL_ARG_DIFF_SRC, diff_src}});
      finish_result(diff_src, dx_memory, scale, accumulate_input);
    }
  });
}

bool onednn_uses_channel_blocks() {
  // A 3x3 convolution of whole blocks: where oneDNN picks another layout for it (nChw8c on AVX2) or refuses it,
  // nets stay plain.
  static const bool blocks = [] {
    const ConvGeometry probe{.channels = kChannelBlock, .height = 8, .width = 8, .out_channels = kChannelBlock,
                             .kernel = 3, .stride = 1, .padding = 1};
    try {
      const ConvPrimitives p = make_primitives(probe, 1);
      return p.forward_pd.src_desc() == p.src_in(ActivationLayout::kChannelBlocks) &&
             p.forward_pd.dst_desc() == p.dst_in(ActivationLayout::kChannelBlocks);
    } catch (const dnnl::error&) {
      return false;
    }
  }();
  return blocks;
}

}  // namespace fbnet
