// oneDNN's convolution primitives for NCHW tensors, with the layouts they
// choose (memory::format_tag::any) reached by reorders, and scale and
// accumulation done by the reorder back (output scale and a sum post-op).
#include "model/kernels/conv2d_onednn.hpp"

#include <algorithm>
#include <map>
#include <tuple>

#include <oneapi/dnnl/dnnl.hpp>

#include "engine/error.hpp"

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

// The primitives of one geometry at n samples, and buffers in the layouts they chose (made when first needed:
// a layout that is already the plain one needs none).
struct ConvPrimitives {
  memory::desc plain_src, plain_weights, bias, plain_dst;  // nchw, oihw, x, nchw
  dnnl::convolution_forward::primitive_desc forward_pd;
  dnnl::convolution_forward forward;
  dnnl::convolution_backward_data::primitive_desc backward_data_pd;
  dnnl::convolution_backward_data backward_data;
  dnnl::convolution_backward_weights::primitive_desc backward_weights_pd;
  dnnl::convolution_backward_weights backward_weights;
  memory forward_src, forward_weights, dst, data_weights, data_diff_dst, diff_src, weights_src, weights_diff_dst,
      diff_weights, diff_bias;
};

ConvPrimitives make_primitives(const ConvGeometry& g, int64_t n) {
  const memory::dims src = {n, g.channels, g.height, g.width};
  const memory::dims weights = {g.out_channels, g.channels, g.kernel, g.kernel};
  const memory::dims bias = {g.out_channels};
  const memory::dims dst = {n, g.out_channels, g.out_height(), g.out_width()};
  const memory::dims strides = {g.stride, g.stride}, padding = {g.padding, g.padding};
  // The padding below and right that PyTorch's symmetric padding leaves after the last whole stride.
  const memory::dims padding_right = {(g.out_height() - 1) * g.stride + g.kernel - g.height - g.padding,
                                      (g.out_width() - 1) * g.stride + g.kernel - g.width - g.padding};
  const memory::desc any_src(src, kF32, Tag::any), any_weights(weights, kF32, Tag::any),
      any_dst(dst, kF32, Tag::any);
  ConvPrimitives p;
  p.plain_src = memory::desc(src, kF32, Tag::nchw);
  p.plain_weights = memory::desc(weights, kF32, Tag::oihw);
  p.bias = memory::desc(bias, kF32, Tag::x);
  p.plain_dst = memory::desc(dst, kF32, Tag::nchw);
  const auto algorithm = dnnl::algorithm::convolution_direct;
  p.forward_pd = {{dnnl::prop_kind::forward_training, algorithm, any_src, any_weights, p.bias, any_dst, strides, padding,
                   padding_right},
                  cpu_engine()};
  p.forward = dnnl::convolution_forward(p.forward_pd);
  p.backward_data_pd = {{algorithm, any_src, any_weights, any_dst, strides, padding, padding_right}, cpu_engine(),
                        p.forward_pd};
  p.backward_data = dnnl::convolution_backward_data(p.backward_data_pd);
  p.backward_weights_pd = {{algorithm, any_src, any_weights, p.bias, any_dst, strides, padding, padding_right},
                           cpu_engine(), p.forward_pd};
  p.backward_weights = dnnl::convolution_backward_weights(p.backward_weights_pd);
  p.dst = memory(p.forward_pd.dst_desc(), cpu_engine());
  p.diff_src = memory(p.backward_data_pd.diff_src_desc(), cpu_engine());
  p.diff_weights = memory(p.backward_weights_pd.diff_weights_desc(), cpu_engine());
  p.diff_bias = memory(p.bias, cpu_engine());
  return p;
}

// Made once per thread (the primitives are not shared between threads that evaluate runs side by side).
ConvPrimitives& primitives(const ConvGeometry& g, int64_t n) {
  using Key = std::tuple<int64_t, int64_t, int64_t, int64_t, int64_t, int64_t, int64_t, int64_t>;
  thread_local std::map<Key, ConvPrimitives> cache;
  const Key key{g.channels, g.height, g.width, g.out_channels, g.kernel, g.stride, g.padding, n};
  auto it = cache.find(key);
  if (it == cache.end()) it = cache.emplace(key, make_primitives(g, n)).first;
  return it->second;
}

memory plain_memory(const memory::desc& desc, const float* values) {
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

// to (+)= scale * from, in to's layout, by one reorder.
void scaled_into(memory from, memory to, float scale, bool accumulate) {
  dnnl::primitive_attr attributes;
  attributes.set_output_scales(0, {scale});
  if (accumulate) {
    dnnl::post_ops sum;
    sum.append_sum(1.0f);
    attributes.set_post_ops(sum);
  }
  dnnl::reorder(dnnl::reorder::primitive_desc(from, to, attributes)).execute(thread_stream(), from, to);
}

// body(first, count) over chunks of at most kOneDnnConvChunk samples.
template <class Body>
void for_each_chunk(int64_t batch, Body&& body) {
  for (int64_t first = 0; first < batch; first += kOneDnnConvChunk) body(first, std::min(kOneDnnConvChunk, batch - first));
}

}  // namespace

void onednn_conv2d_forward(const ConvGeometry& g, int64_t batch, const float* x, const float* weight, const float* bias,
                           float* y, float scale, bool accumulate) {
  for_each_chunk(batch, [&](int64_t first, int64_t count) {
    ConvPrimitives& p = primitives(g, count);
    const dnnl::convolution_forward::primitive_desc& pd = p.forward_pd;
    p.forward.execute(
        thread_stream(),
        {{DNNL_ARG_SRC, in_layout(plain_memory(p.plain_src, x + first * g.input_size()), pd.src_desc(), p.forward_src)},
         {DNNL_ARG_WEIGHTS, in_layout(plain_memory(p.plain_weights, weight), pd.weights_desc(), p.forward_weights)},
         {DNNL_ARG_BIAS, plain_memory(p.bias, bias)},
         {DNNL_ARG_DST, p.dst}});
    scaled_into(p.dst, plain_memory(p.plain_dst, y + first * g.output_size()), scale, accumulate);
  });
  thread_stream().wait();
}

void onednn_conv2d_backward_input(const ConvGeometry& g, int64_t batch, const float* weight, const float* dy, float* dx,
                                  float scale, bool accumulate) {
  for_each_chunk(batch, [&](int64_t first, int64_t count) {
    ConvPrimitives& p = primitives(g, count);
    const dnnl::convolution_backward_data::primitive_desc& pd = p.backward_data_pd;
    p.backward_data.execute(
        thread_stream(),
        {{DNNL_ARG_DIFF_DST,
          in_layout(plain_memory(p.plain_dst, dy + first * g.output_size()), pd.diff_dst_desc(), p.data_diff_dst)},
         {DNNL_ARG_WEIGHTS, in_layout(plain_memory(p.plain_weights, weight), pd.weights_desc(), p.data_weights)},
         {DNNL_ARG_DIFF_SRC, p.diff_src}});
    scaled_into(p.diff_src, plain_memory(p.plain_src, dx + first * g.input_size()), scale, accumulate);
  });
  thread_stream().wait();
}

void onednn_conv2d_backward_parameters(const ConvGeometry& g, int64_t batch, const float* x, const float* dy,
                                       float* weight_grad, float* bias_grad, float scale, bool accumulate) {
  for_each_chunk(batch, [&](int64_t first, int64_t count) {
    ConvPrimitives& p = primitives(g, count);
    const dnnl::convolution_backward_weights::primitive_desc& pd = p.backward_weights_pd;
    p.backward_weights.execute(
        thread_stream(),
        {{DNNL_ARG_SRC, in_layout(plain_memory(p.plain_src, x + first * g.input_size()), pd.src_desc(), p.weights_src)},
         {DNNL_ARG_DIFF_DST,
          in_layout(plain_memory(p.plain_dst, dy + first * g.output_size()), pd.diff_dst_desc(), p.weights_diff_dst)},
         {DNNL_ARG_DIFF_WEIGHTS, p.diff_weights},
         {DNNL_ARG_DIFF_BIAS, p.diff_bias}});
    const bool add = accumulate || first > 0;  // later chunks add to the first's
    scaled_into(p.diff_weights, plain_memory(p.plain_weights, weight_grad), scale, add);
    thread_stream().wait();
    const float* db = static_cast<const float*>(p.diff_bias.get_data_handle());
    for (int64_t oc = 0; oc < g.out_channels; ++oc) bias_grad[oc] = (add ? bias_grad[oc] : 0.0f) + scale * db[oc];
  });
}

}  // namespace fbnet
