// Gathering batches of images and of image sequences.
#include "train/batches.hpp"

#include <algorithm>
#include <numeric>

#include "engine/parallel.hpp"

namespace fbnet {

ImageBatches::ImageBatches(const LabeledImages& set, int steps, int readouts) : set_(set) {
  inputs_.assign(steps, &images_);
  labels_.assign(readouts, nullptr);
}

void ImageBatches::gather(const std::vector<int64_t>& order, int64_t begin, int64_t batch) {
  const int64_t width = set_.images.cols();
  images_.resize({batch, width});
  batch_labels_.resize(batch);
  // Rows from all over the training set: memory latency, which two threads overlap.
  parallel_rows(batch, width, [&](int64_t from, int64_t to) {
    for (int64_t i = from; i < to; ++i) {
      const int64_t index = order[begin + i];
      std::copy_n(set_.images.row(index), width, images_.row(i));
      batch_labels_[i] = set_.labels[index];
    }
  });
  std::fill(labels_.begin(), labels_.end(), batch_labels_.data());
}

SequenceBatches::SequenceBatches(const SequenceSet& set) : set_(set) {
  inputs_.resize(set.samples.length);
  labels_.resize(set.samples.length);
}

void SequenceBatches::gather(const std::vector<int64_t>& order, int64_t begin, int64_t batch) {
  gather_sequence_batch(set_, order, begin, batch, images_, batch_labels_);
  for (size_t p = 0; p < inputs_.size(); ++p) {
    inputs_[p] = &images_[p];
    labels_[p] = batch_labels_[p].data();
  }
}

std::vector<int64_t> identity_order(int64_t count) {
  std::vector<int64_t> order(count);
  std::iota(order.begin(), order.end(), int64_t{0});
  return order;
}

}  // namespace fbnet
