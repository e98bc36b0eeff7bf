// Batches: the samples a model trains or is evaluated on, as a model takes
// them: one input tensor [B, D] per step and one label array per readout.
//   ImageBatches     a static image shown at every step, its label at every readout (experiment 1)
//   SequenceBatches  image p at step p, its label at readout p (experiment 2)
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "engine/tensor.hpp"
#include "train/prepared_data.hpp"
#include "train/sequence_data.hpp"

namespace fbnet {

class Batches {
 public:
  virtual ~Batches() = default;
  virtual int64_t count() const = 0;
  // Gathers samples order[begin, begin + batch); inputs() and labels() then
  // point at them until the next gather.
  virtual void gather(const std::vector<int64_t>& order, int64_t begin, int64_t batch) = 0;
  std::span<const Tensor<float>* const> inputs() const { return inputs_; }
  std::span<const int32_t* const> labels() const { return labels_; }

 protected:
  std::vector<const Tensor<float>*> inputs_;  // [step]
  std::vector<const int32_t*> labels_;        // [readout]
};

class ImageBatches final : public Batches {
 public:
  ImageBatches(const LabeledImages& set, int steps, int readouts);
  int64_t count() const override { return set_.count(); }
  void gather(const std::vector<int64_t>& order, int64_t begin, int64_t batch) override;

 private:
  const LabeledImages& set_;
  Tensor<float> images_;  // [batch, D]
  std::vector<int32_t> batch_labels_;
};

class SequenceBatches final : public Batches {
 public:
  explicit SequenceBatches(const SequenceSet& set);
  int64_t count() const override { return set_.count(); }
  void gather(const std::vector<int64_t>& order, int64_t begin, int64_t batch) override;

 private:
  const SequenceSet& set_;
  std::vector<Tensor<float>> images_;               // [position] of [batch, D]
  std::vector<std::vector<int32_t>> batch_labels_;  // [position] of [batch]
};

// 0, 1, ..., count - 1: the order in which evaluation visits samples.
std::vector<int64_t> identity_order(int64_t count);

}  // namespace fbnet
