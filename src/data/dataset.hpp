// Datasets: named image-classification sets (Fashion-MNIST, MNIST, the EMNIST
// splits) read from gzip IDX files, and a user's own from NumPy .npy files
// (`npy`), as raw uint8 images with int32 labels.
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
  int64_t channels = 1;
  int64_t rows = 0;
  int64_t cols = 0;
  int classes = 0;
  std::vector<uint8_t> pixels;  // [count, channels * rows * cols], upright
  std::vector<int32_t> labels;  // [count], 0..classes-1

  int64_t pixels_per_image() const { return channels * rows * cols; }
  // [rows, cols], or [channels, rows, cols] for more than one channel.
  Shape image_shape() const { return channels == 1 ? Shape{rows, cols} : Shape{channels, rows, cols}; }
  const uint8_t* image(int64_t i) const { return pixels.data() + i * pixels_per_image(); }
  // The images at `indices`, in that order.
  Dataset subset(const std::vector<int64_t>& indices) const;
};

enum class DatasetFormat {
  kIdx,  // the official gzip IDX files of a named set
  kNpy,  // DIR/{train,test}-{images,labels}.npy: shapes and classes come from the files
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
  DatasetFormat format = DatasetFormat::kIdx;
};

// Whether `name`'s classes are the letters a..z (the EMNIST letters sets).
bool is_letter_dataset(const std::string& name);
// How a class is shown to a reader: its letter for a letter dataset, else its number.
std::string class_name(const std::string& dataset, int label);

// Throws fbnet::Error listing the known names for an unknown one.
const DatasetSpec& dataset_spec(const std::string& name);
std::vector<std::string> dataset_names();

// What a net trained on a dataset takes and gives.
struct DatasetShape {
  Shape image_shape;  // per image: [rows, cols], or [channels, rows, cols]
  int classes = 0;
};
// The spec's, without reading files, for an IDX set; for `npy`, from the image
// files' headers and the labels in `data_dir` (never the pixels).
DatasetShape dataset_shape(const std::string& name, const std::string& data_dir);

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

// Images from a .npy file of shape [N, H, W], [N, C, H, W] (PyTorch's
// channel-first layout) or [N, D] (read as 1 x D), uint8 or float in [0, 1]
// (data/npy.hpp), without labels.
Dataset read_npy_images(const std::string& path);

}  // namespace fbnet
