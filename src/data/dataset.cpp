// The table of known datasets and their loading.
#include "data/dataset.hpp"

#include <algorithm>
#include <filesystem>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "data/idx.hpp"
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
  };
  return specs;
}

}  // namespace

Dataset Dataset::subset(const std::vector<int64_t>& indices) const {
  Dataset out;
  out.count = static_cast<int64_t>(indices.size());
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

DatasetPair load_dataset(const std::string& name, const std::string& data_dir, uint64_t holdout_seed) {
  const DatasetSpec& spec = dataset_spec(name);
  const std::string dir = data_dir.empty() ? spec.default_dir : data_dir;
  FBNET_CHECK_FIELD(!dir.empty(), "data", "data_dir", "dataset '{}' has no default folder; give the folder holding {}train-images-idx3-ubyte.gz",
              name, spec.file_prefix);
  std::error_code error;
  FBNET_CHECK_FIELD(std::filesystem::is_directory(dir, error), "data", "data_dir", "'{}' is not a folder (dataset '{}')", dir, name);
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
