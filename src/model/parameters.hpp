// ParameterStore: every trainable tensor of a network in one flat buffer, with
// its gradient in a second buffer of the same layout. One buffer makes the
// optimiser a single loop and a checkpoint a list of (name, shape, offset).
// Names follow PyTorch's state_dict convention ("layers.0.weight").
#pragma once

#include <string>
#include <vector>

#include "engine/tensor.hpp"

namespace fbnet {

struct ParameterInfo {
  std::string name;
  Shape shape;
  int64_t offset = 0;
  int64_t size() const { return element_count(shape); }
};

// A Linear layer's weight [out, in] and bias [out], with their gradients.
template <class Scalar>
struct LinearParameters {
  MatrixView<Scalar> weight;
  Scalar* bias;
  MatrixView<Scalar> weight_grad;
  Scalar* bias_grad;
};

template <class Scalar>
class ParameterStore {
 public:
  // Declares a tensor; all declarations come before allocate().
  int declare(std::string name, Shape shape);
  void allocate();

  const std::vector<ParameterInfo>& infos() const { return infos_; }
  const ParameterInfo& info(const std::string& name) const;
  std::vector<Scalar>& values() { return values_; }
  const std::vector<Scalar>& values() const { return values_; }
  std::vector<Scalar>& grads() { return grads_; }
  const std::vector<Scalar>& grads() const { return grads_; }
  void zero_grads() { std::fill(grads_.begin(), grads_.end(), Scalar{0}); }

  std::span<Scalar> values_of(int index) { return {values_.data() + infos_[index].offset, size_t(infos_[index].size())}; }
  std::span<Scalar> grads_of(int index) { return {grads_.data() + infos_[index].offset, size_t(infos_[index].size())}; }
  // A weight of rank > 2 (a conv's [OC, C, K, K]) is viewed as [shape[0], the rest].
  LinearParameters<Scalar> linear(int weight_index, int bias_index);
  // The name of the first parameter holding a NaN or an infinity, or "".
  std::string first_non_finite() const;

 private:
  std::vector<ParameterInfo> infos_;
  std::vector<Scalar> values_;
  std::vector<Scalar> grads_;
};

// Copies the parameters named in `which` from `from` into `to`, each found
// by name in both; throws fbnet::Error naming one that either lacks or that
// has two shapes.
template <class Scalar>
void copy_parameters_by_name(const ParameterStore<Scalar>& from, ParameterStore<Scalar>& to,
                             const std::vector<ParameterInfo>& which);

}  // namespace fbnet
