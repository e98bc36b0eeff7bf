// The table of known datasets and their loading.
#include "data/dataset.hpp"

#include <algorithm>
#include <filesystem>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "data/idx.hpp"
#include "data/npy.hpp"
#include "engine/error.hpp"
#include "engine/random.hpp"

namespace fbnet {
namespace {

const std::vector<DatasetSpec>& known_datasets() {
  static const std::vector<DatasetSpec> specs = {
      {"fashion-mnist", "", "/usr/share/datasets/fashion-mnist", 10, 0, false},
      {"mnist", "", "", 10, 0, false},
      {"emnist-letters", "emnist-letters-", "", 26, 1, true},
      {"emnist-digits", "emnist-digits-", "", 10, 0, true},
      {"emnist-mnist", "emnist-mnist-", "", 10, 0, true},
      {"emnist-balanced", "emnist-balanced-", "", 47, 0, true},
      {"emnist-bymerge", "emnist-bymerge-", "", 47, 0, true},
      {"emnist-byclass", "emnist-byclass-", "", 62, 0, true},
      // The first 10,000 official EMNIST letters test images (a..l and half of m),
      // all of EMNIST these machines hold: ../shared/data/emnist-letters-partial.
      // 8,000 training images: 1,000 held out for validation by default.
      {"emnist-letters-partial", "emnist-letters-test-first10000-", "", 26, 1, true, 0.2, {28, 28}, 1000},
      // The user's own: shapes and classes are read from the files.
      {"npy", "", "", 0, 0, false, 0, {}, 10000, DatasetFormat::kNpy},
  };
  return specs;
}

// More classes than any classifier fbnet builds is a label file's mistake (a
// float or a pixel saved as labels), not a class count.
constexpr int64_t kMaxNpyClasses = 65536;

std::string npy_path(const std::string& dir, const char* split, const char* kind) {
  return (std::filesystem::path(dir) / fmt::format("{}-{}.npy", split, kind)).string();
}

// The count and per-image layout of the images a header describes.
Dataset npy_image_layout(const std::string& path, const NpyHeader& header) {
  const Shape& shape = header.shape;
  FBNET_CHECK(shape.size() >= 2 && shape.size() <= 4, "{}: images of shape {}; expected [N, H, W], [N, C, H, W] "
              "(channels first, as PyTorch) or [N, D]", path, shape_string(shape));
  FBNET_CHECK(element_count(shape) > 0, "{}: shape {} holds no pixels", path, shape_string(shape));
  Dataset layout;
  layout.count = shape[0];
  layout.channels = shape.size() == 4 ? shape[1] : 1;
  layout.rows = shape.size() == 2 ? 1 : shape[shape.size() - 2];
  layout.cols = shape.back();
  return layout;
}

// Labels [count] of any integer type, each in 0..kMaxNpyClasses-1.
std::vector<int32_t> read_npy_labels(const std::string& path, int64_t count, const std::string& images_path) {
  const NpyHeader header = read_npy_header(path);
  FBNET_CHECK(header.shape.size() == 1, "{}: labels of shape {}; expected [N], one class index per image", path,
              shape_string(header.shape));
  FBNET_CHECK(header.shape[0] == count, "{} holds {} images but {} holds {} labels; they must match", images_path,
              count, path, header.shape[0]);
  const std::vector<int64_t> values = read_npy_integers(path, header);
  std::vector<int32_t> labels(values.size());
  for (size_t i = 0; i < values.size(); ++i) {
    FBNET_CHECK(values[i] >= 0 && values[i] < kMaxNpyClasses, "{}: label {} at index {} is outside 0..{} (labels "
                "are class indices)", path, values[i], i, kMaxNpyClasses - 1);
    labels[i] = static_cast<int32_t>(values[i]);
  }
  return labels;
}

// 1 + the largest label of either split.
int npy_classes(const std::vector<int32_t>& train_labels, const std::vector<int32_t>& test_labels) {
  int largest = 0;
  for (const auto* labels : {&train_labels, &test_labels})
    for (int32_t label : *labels) largest = std::max(largest, label);
  return largest + 1;
}

// One split's images and labels; with `with_pixels` false, of the images only their header is read.
Dataset read_npy_split(const std::string& dir, const char* split, bool with_pixels) {
  const std::string images_path = npy_path(dir, split, "images");
  Dataset dataset = with_pixels ? read_npy_images(images_path)
                                : npy_image_layout(images_path, read_npy_header(images_path));
  dataset.labels = read_npy_labels(npy_path(dir, split, "labels"), dataset.count, images_path);
  return dataset;
}

DatasetPair load_npy_dataset(const std::string& dir) {
  DatasetPair pair{read_npy_split(dir, "train", true), read_npy_split(dir, "test", true)};
  FBNET_CHECK_FIELD(pair.train.image_shape() == pair.test.image_shape(), "data", "data_dir",
                    "{} has training images of shape {} but test images of shape {}; they must match", dir,
                    shape_string(pair.train.image_shape()), shape_string(pair.test.image_shape()));
  pair.train.classes = pair.test.classes = npy_classes(pair.train.labels, pair.test.labels);
  return pair;
}

// The folder a dataset is read from: --data-dir, or the dataset's default.
std::string dataset_dir(const DatasetSpec& spec, const std::string& data_dir) {
  const std::string dir = data_dir.empty() ? spec.default_dir : data_dir;
  const std::string files = spec.format == DatasetFormat::kNpy
                                ? "train-images.npy, train-labels.npy, test-images.npy and test-labels.npy"
                                : spec.file_prefix + "train-images-idx3-ubyte.gz";
  FBNET_CHECK_FIELD(!dir.empty(), "data", "data_dir", "dataset '{}' has no default folder; give the folder holding {}",
                    spec.name, files);
  std::error_code error;
  FBNET_CHECK_FIELD(std::filesystem::is_directory(dir, error), "data", "data_dir", "'{}' is not a folder (dataset '{}')",
                    dir, spec.name);
  return dir;
}

}  // namespace

Dataset Dataset::subset(const std::vector<int64_t>& indices) const {
  Dataset out;
  out.count = static_cast<int64_t>(indices.size());
  out.channels = channels;
  out.rows = rows;
  out.cols = cols;
  out.classes = classes;
  out.pixels.resize(out.count * pixels_per_image());
  out.labels.resize(out.count);
  for (int64_t i = 0; i < out.count; ++i) {
    FBNET_CHECK(indices[i] >= 0 && indices[i] < count, "subset index {} outside 0..{}", indices[i], count - 1);
    std::copy_n(image(indices[i]), pixels_per_image(), out.pixels.data() + i * pixels_per_image());
    out.labels[i] = labels[indices[i]];
  }
  return out;
}

const DatasetSpec& dataset_spec(const std::string& name) {
  for (const DatasetSpec& spec : known_datasets())
    if (spec.name == name) return spec;
  fail_field("data", "dataset", "unknown dataset '{}'; expected one of: {}", name, fmt::join(dataset_names(), ", "));
}

bool is_letter_dataset(const std::string& name) { return name.rfind("emnist-letters", 0) == 0; }

std::string class_name(const std::string& dataset, int label) {
  return is_letter_dataset(dataset) ? std::string(1, static_cast<char>('a' + label)) : std::to_string(label);
}

std::vector<std::string> dataset_names() {
  std::vector<std::string> names;
  for (const DatasetSpec& spec : known_datasets()) names.push_back(spec.name);
  return names;
}

Dataset load_idx_pair(const std::string& images_path, const std::string& labels_path, const DatasetSpec& spec) {
  IdxImages images = read_idx_images(images_path);
  std::vector<uint8_t> raw_labels = read_idx_labels(labels_path);
  FBNET_CHECK(static_cast<int64_t>(raw_labels.size()) == images.count,
              "{} holds {} images but {} holds {} labels; they must match", images_path, images.count, labels_path,
              raw_labels.size());
  Dataset dataset;
  dataset.count = images.count;
  dataset.classes = spec.classes;
  dataset.rows = spec.transposed ? images.cols : images.rows;
  dataset.cols = spec.transposed ? images.rows : images.cols;
  if (spec.transposed) {
    dataset.pixels.resize(images.pixels.size());
    for (int64_t n = 0; n < images.count; ++n) {
      const uint8_t* stored = images.pixels.data() + n * images.rows * images.cols;
      uint8_t* upright = dataset.pixels.data() + n * images.rows * images.cols;
      for (int64_t r = 0; r < images.rows; ++r)
        for (int64_t c = 0; c < images.cols; ++c) upright[c * images.rows + r] = stored[r * images.cols + c];
    }
  } else {
    dataset.pixels = std::move(images.pixels);
  }
  dataset.labels.resize(raw_labels.size());
  for (size_t i = 0; i < raw_labels.size(); ++i) {
    const int label = int{raw_labels[i]} - spec.label_offset;
    FBNET_CHECK(label >= 0 && label < spec.classes, "{}: label {} at index {} is outside {}..{} for {}", labels_path,
                int{raw_labels[i]}, i, spec.label_offset, spec.label_offset + spec.classes - 1, spec.name);
    dataset.labels[i] = label;
  }
  return dataset;
}

Dataset read_npy_images(const std::string& path) {
  const NpyHeader header = read_npy_header(path);
  Dataset images = npy_image_layout(path, header);
  images.pixels = read_npy_pixels(path, header);
  return images;
}

DatasetShape dataset_shape(const std::string& name, const std::string& data_dir) {
  const DatasetSpec& spec = dataset_spec(name);
  if (spec.format == DatasetFormat::kIdx) return {spec.image_shape, spec.classes};
  const std::string dir = dataset_dir(spec, data_dir);
  const Dataset train = read_npy_split(dir, "train", false), test = read_npy_split(dir, "test", false);
  return {train.image_shape(), npy_classes(train.labels, test.labels)};
}

DatasetPair load_dataset(const std::string& name, const std::string& data_dir, uint64_t holdout_seed) {
  const DatasetSpec& spec = dataset_spec(name);
  const std::string dir = dataset_dir(spec, data_dir);
  if (spec.format == DatasetFormat::kNpy) return load_npy_dataset(dir);
  auto path = [&](const char* part) { return (std::filesystem::path(dir) / (spec.file_prefix + part)).string(); };
  if (spec.holdout_test_fraction > 0) {
    const Dataset all = load_idx_pair(path("images-idx3-ubyte.gz"), path("labels-idx1-ubyte.gz"), spec);
    Rng rng(holdout_seed, kHoldoutSplitStream);
    std::vector<int64_t> order = random_permutation(all.count, rng);
    const auto test_count = static_cast<int64_t>(spec.holdout_test_fraction * static_cast<double>(all.count));
    std::vector<int64_t> test(order.begin(), order.begin() + test_count), train(order.begin() + test_count, order.end());
    std::sort(test.begin(), test.end());
    std::sort(train.begin(), train.end());
    return {all.subset(train), all.subset(test)};
  }
  // MNIST and Fashion-MNIST name their test files t10k-, EMNIST names them test-.
  const bool emnist = spec.transposed;
  DatasetPair pair{load_idx_pair(path("train-images-idx3-ubyte.gz"), path("train-labels-idx1-ubyte.gz"), spec),
                   load_idx_pair(path(emnist ? "test-images-idx3-ubyte.gz" : "t10k-images-idx3-ubyte.gz"),
                                 path(emnist ? "test-labels-idx1-ubyte.gz" : "t10k-labels-idx1-ubyte.gz"), spec)};
  FBNET_CHECK_FIELD(pair.train.rows == pair.test.rows && pair.train.cols == pair.test.cols, "data", "data_dir",
              "{} has {}x{} training images but {}x{} test images", dir, pair.train.rows, pair.train.cols,
              pair.test.rows, pair.test.cols);
  return pair;
}

}  // namespace fbnet
