// Datasets: named image-classification sets (Fashion-MNIST, MNIST, the EMNIST
// splits) read from gzip IDX files, as raw uint8 images with int32 labels.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "engine/tensor.hpp"

namespace fbnet {

// The random stream of a single-file dataset's train/test split (engine/random.hpp lists every stream).
inline constexpr uint64_t kHoldoutSplitStream = 8;

// One split (train or test) of a dataset.
struct Dataset {
  int64_t count = 0;
  int64_t rows = 0;
  int64_t cols = 0;
  int classes = 0;
  std::vector<uint8_t> pixels;  // [count, rows * cols], upright
  std::vector<int32_t> labels;  // [count], 0..classes-1

  int64_t pixels_per_image() const { return rows * cols; }
  const uint8_t* image(int64_t i) const { return pixels.data() + i * pixels_per_image(); }
  // The images at `indices`, in that order.
  Dataset subset(const std::vector<int64_t>& indices) const;
};

// How a named dataset is stored.
struct DatasetSpec {
  std::string name;
  std::string file_prefix;  // before "train-images-idx3-ubyte.gz" etc.
  std::string default_dir;  // empty: --data-dir is required
  int classes = 0;
  int label_offset = 0;     // subtracted from stored labels (EMNIST letters: 1)
  bool transposed = false;  // EMNIST stores images transposed
  // > 0: the set is one images/labels pair ("PREFIXimages-idx3-ubyte.gz"),
  // split (seeded) into train and this fraction of test images.
  double holdout_test_fraction = 0;
  // The images' [rows, cols] in the official files: what `info` describes a net
  // by without reading them (a loaded Dataset has the files' own rows and cols).
  Shape image_shape = {28, 28};
  // Training images held out for validation unless --validation-size says
  // otherwise: 10,000 (the report's), or what a small set can spare.
  int64_t default_validation_size = 10000;
};

// Whether `name`'s classes are the letters a..z (the EMNIST letters sets).
bool is_letter_dataset(const std::string& name);
// How a class is shown to a reader: its letter for a letter dataset, else its number.
std::string class_name(const std::string& dataset, int label);

// Throws fbnet::Error listing the known names for an unknown one.
const DatasetSpec& dataset_spec(const std::string& name);
std::vector<std::string> dataset_names();

struct DatasetPair {
  Dataset train;
  Dataset test;
};

// Reads `name` from `data_dir` (or the dataset's default folder when empty);
// `holdout_seed` draws the train/test split of a single-file dataset.
DatasetPair load_dataset(const std::string& name, const std::string& data_dir, uint64_t holdout_seed);

// Reads one images/labels file pair, then makes the images upright and the
// labels 0-based as `spec` says.
Dataset load_idx_pair(const std::string& images_path, const std::string& labels_path, const DatasetSpec& spec);

}  // namespace fbnet
