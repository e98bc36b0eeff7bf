// Layout of the flat parameter and gradient buffers.
#include "model/parameters.hpp"

#include <algorithm>
#include <cmath>

namespace fbnet {

template <class Scalar>
int ParameterStore<Scalar>::declare(std::string name, Shape shape) {
  FBNET_ASSERT(values_.empty(), "parameter '{}' declared after allocation", name);
  const int64_t offset = infos_.empty() ? 0 : infos_.back().offset + infos_.back().size();
  infos_.push_back({std::move(name), std::move(shape), offset});
  return static_cast<int>(infos_.size()) - 1;
}

template <class Scalar>
void ParameterStore<Scalar>::allocate() {
  const int64_t total = infos_.empty() ? 0 : infos_.back().offset + infos_.back().size();
  values_.assign(total, Scalar{0});
  grads_.assign(total, Scalar{0});
}

template <class Scalar>
const ParameterInfo& ParameterStore<Scalar>::info(const std::string& name) const {
  for (const ParameterInfo& info : infos_)
    if (info.name == name) return info;
  fail("no parameter named '{}'", name);
}

template <class Scalar>
LinearParameters<Scalar> ParameterStore<Scalar>::linear(int weight_index, int bias_index) {
  const ParameterInfo& weight = infos_[weight_index];
  FBNET_ASSERT(weight.shape.size() >= 2, "parameter '{}' is not a matrix", weight.name);
  const int64_t cols = weight.size() / weight.shape[0];  // a conv weight [OC, C, K, K] as [OC, C*K*K]
  return {{values_.data() + weight.offset, weight.shape[0], cols},
          values_.data() + infos_[bias_index].offset,
          {grads_.data() + weight.offset, weight.shape[0], cols},
          grads_.data() + infos_[bias_index].offset};
}

template <class Scalar>
std::string ParameterStore<Scalar>::first_non_finite() const {
  for (const ParameterInfo& info : infos_)
    for (int64_t i = info.offset; i < info.offset + info.size(); ++i)
      if (!std::isfinite(values_[i])) return info.name;
  return "";
}

template <class Scalar>
void copy_parameters_by_name(const ParameterStore<Scalar>& from, ParameterStore<Scalar>& to,
                             const std::vector<ParameterInfo>& which) {
  for (const ParameterInfo& wanted : which) {
    const ParameterInfo& source = from.info(wanted.name);
    const ParameterInfo& target = to.info(wanted.name);
    FBNET_CHECK(target.shape == source.shape, "parameter '{}' has shape {} in one net and {} in the other", wanted.name,
                shape_string(source.shape), shape_string(target.shape));
    std::copy_n(from.values().begin() + source.offset, source.size(), to.values().begin() + target.offset);
  }
}

template class ParameterStore<float>;
template class ParameterStore<double>;
template void copy_parameters_by_name(const ParameterStore<float>&, ParameterStore<float>&,
                                      const std::vector<ParameterInfo>&);
template void copy_parameters_by_name(const ParameterStore<double>&, ParameterStore<double>&,
                                      const std::vector<ParameterInfo>&);

}  // namespace fbnet
