// The .npy reader and writer on bytes NumPy wrote (kept here as literals) and
// on broken files, each refused with a message naming the file and what was
// wrong; and the `npy` dataset: its layouts, classes, and bad folders.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <filesystem>

#include "data/dataset.hpp"
#include "data/npy.hpp"
#include "engine/error.hpp"
#include "test_support.hpp"

namespace fbnet {
namespace {

using Bytes = std::vector<uint8_t>;

Bytes literal(const char* text, size_t size) { return Bytes(text, text + size); }

// A .npy file as NumPy lays it out: magic, version, header length (2 bytes
// in 1.0, 4 in 2.0 and 3.0), the dict padded with spaces so that the data
// starts at a multiple of 64 bytes and ended by a newline, then `data`.
Bytes npy_file(const std::string& dict, const Bytes& data, int major = 1) {
  const size_t preamble = major == 1 ? 10 : 12;
  std::string header = dict;
  header.append(63 - (preamble + header.size()) % 64, ' ');
  header += '\n';
  Bytes bytes = {0x93, 'N', 'U', 'M', 'P', 'Y', static_cast<uint8_t>(major), 0};
  for (size_t i = 0; i < preamble - 8; ++i) bytes.push_back(static_cast<uint8_t>(header.size() >> (8 * i)));
  bytes.insert(bytes.end(), header.begin(), header.end());
  bytes.insert(bytes.end(), data.begin(), data.end());
  return bytes;
}

std::string dict(const std::string& descr, const std::string& shape) {
  return "{'descr': '" + descr + "', 'fortran_order': False, 'shape': " + shape + ", }";
}

template <class Value>
Bytes bytes_of(const std::vector<Value>& values) {
  Bytes bytes(values.size() * sizeof(Value));
  std::memcpy(bytes.data(), values.data(), bytes.size());
  return bytes;
}

// What np.save wrote (NumPy 1.24) for np.arange(6, dtype=np.uint8).reshape(2, 3).
const Bytes kNumpyUint8 = literal(
    "\x93NUMPY\x01\x00v\x00{'descr': '|u1', 'fortran_order': False, 'shape': (2, 3), }"
    "                                                          \n\x00\x01\x02\x03\x04\x05", 134);
// np.array([[0, 0.5, 1]], dtype=np.float32).
const Bytes kNumpyFloat32 = literal(
    "\x93NUMPY\x01\x00v\x00{'descr': '<f4', 'fortran_order': False, 'shape': (1, 3), }"
    "                                                          \n\x00\x00\x00\x00\x00\x00\x00?\x00\x00\x80?", 140);
// np.array([2, 0, 1]) (int64, as torch.long saves).
const Bytes kNumpyInt64 = literal(
    "\x93NUMPY\x01\x00v\x00{'descr': '<i8', 'fortran_order': False, 'shape': (3,), }"
    "                                                            \n"
    "\x02\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x01\x00\x00\x00\x00\x00\x00\x00", 152);
// np.lib.format.write_array(f, np.arange(4, dtype='<u2'), version=(3, 0)).
const Bytes kNumpyVersion3 = literal(
    "\x93NUMPY\x03\x00t\x00\x00\x00{'descr': '<u2', 'fortran_order': False, 'shape': (4,), }"
    "                                                          \n\x00\x00\x01\x00\x02\x00\x03\x00", 136);

TEST(NpyReal, TheTestsLayoutIsNumpys) {
  EXPECT_EQ(npy_file(dict("|u1", "(2, 3)"), {0, 1, 2, 3, 4, 5}), kNumpyUint8);
  EXPECT_EQ(npy_file(dict("<u2", "(4,)"), bytes_of<uint16_t>({0, 1, 2, 3}), 3), kNumpyVersion3);
}

TEST(NpyReal, Uint8ImagesAsStored) {
  testing::TempDir dir;
  const std::string path = dir.file("a.npy");
  testing::write_bytes(path, kNumpyUint8);
  const NpyHeader header = read_npy_header(path);
  EXPECT_EQ(header.type, NpyType::kUint8);
  EXPECT_EQ(header.shape, (Shape{2, 3}));
  EXPECT_EQ(header.data_offset, 128);
  EXPECT_EQ(read_npy_pixels(path, header), (Bytes{0, 1, 2, 3, 4, 5}));
}

TEST(NpyReal, FloatImagesBecomeRoundedPixels) {
  testing::TempDir dir;
  const std::string path = dir.file("a.npy");
  testing::write_bytes(path, kNumpyFloat32);
  EXPECT_EQ(read_npy_pixels(path, read_npy_header(path)), (Bytes{0, 128, 255}));  // round(127.5) = 128
}

TEST(NpyReal, EveryByteSurvivesToTensorsDivisionBy255) {
  // torchvision's ToTensor gives u / 255 as float32; fbnet gives back u, in float32 and float64 alike.
  std::vector<float> as_float32(256);
  std::vector<double> as_float64(256);
  Bytes expected(256);
  for (int u = 0; u < 256; ++u) {
    as_float32[u] = static_cast<float>(u) / 255.0f;
    as_float64[u] = u / 255.0;
    expected[u] = static_cast<uint8_t>(u);
  }
  testing::TempDir dir;
  testing::write_bytes(dir.file("f4.npy"), npy_file(dict("<f4", "(16, 16)"), bytes_of(as_float32)));
  testing::write_bytes(dir.file("f8.npy"), npy_file(dict("<f8", "(256,)"), bytes_of(as_float64)));
  EXPECT_EQ(read_npy_pixels(dir.file("f4.npy"), read_npy_header(dir.file("f4.npy"))), expected);
  EXPECT_EQ(read_npy_pixels(dir.file("f8.npy"), read_npy_header(dir.file("f8.npy"))), expected);
}

TEST(NpyReal, IntegersOfEveryTypeAndVersion) {
  testing::TempDir dir;
  testing::write_bytes(dir.file("i8.npy"), kNumpyInt64);
  testing::write_bytes(dir.file("v3.npy"), kNumpyVersion3);
  testing::write_bytes(dir.file("v2.npy"), npy_file(dict("<i2", "(2,)"), bytes_of<int16_t>({-3, 300}), 2));
  testing::write_bytes(dir.file("i1.npy"), npy_file(dict("|i1", "(2,)"), bytes_of<int8_t>({-1, 7})));
  testing::write_bytes(dir.file("u4.npy"), npy_file(dict("<u4", "(1,)"), bytes_of<uint32_t>({4000000000u})));
  testing::write_bytes(dir.file("i4.npy"), npy_file(dict("<i4", "(1,)"), bytes_of<int32_t>({-5})));
  testing::write_bytes(dir.file("u8.npy"), npy_file(dict("<u8", "(1,)"), bytes_of<uint64_t>({1ull << 40})));
  auto read = [&](const char* name) { return read_npy_integers(dir.file(name), read_npy_header(dir.file(name))); };
  EXPECT_EQ(read("i8.npy"), (std::vector<int64_t>{2, 0, 1}));
  EXPECT_EQ(read("v3.npy"), (std::vector<int64_t>{0, 1, 2, 3}));
  EXPECT_EQ(read("v2.npy"), (std::vector<int64_t>{-3, 300}));
  EXPECT_EQ(read("i1.npy"), (std::vector<int64_t>{-1, 7}));
  EXPECT_EQ(read("u4.npy"), (std::vector<int64_t>{4000000000}));
  EXPECT_EQ(read("i4.npy"), (std::vector<int64_t>{-5}));
  EXPECT_EQ(read("u8.npy"), (std::vector<int64_t>{int64_t{1} << 40}));
}

TEST(NpyReal, HeaderSpellingsNumpyAccepts) {
  testing::TempDir dir;
  const std::string path = dir.file("a.npy");
  // Keys in another order, double quotes, no trailing comma, a scalar's empty shape.
  testing::write_bytes(path, npy_file("{\"shape\": (), \"fortran_order\": False, \"descr\": \"<f8\"}", bytes_of<double>({1.0})));
  const NpyHeader header = read_npy_header(path);
  EXPECT_EQ(header.shape, Shape{});
  EXPECT_EQ(header.type, NpyType::kFloat64);
}

TEST(NpyWriter, Float32BytesAreNumpys) {
  EXPECT_EQ(npy_float32_bytes({1, 3}, std::vector<float>{0.0f, 0.5f, 1.0f}),
            std::string(kNumpyFloat32.begin(), kNumpyFloat32.end()));
  testing::TempDir dir;
  const std::string bytes = npy_float32_bytes({4}, std::vector<float>{0.0f, 0.25f, 0.75f, 1.0f});
  testing::write_bytes(dir.file("v.npy"), Bytes(bytes.begin(), bytes.end()));
  const NpyHeader header = read_npy_header(dir.file("v.npy"));
  EXPECT_EQ(header.shape, Shape{4});
  EXPECT_EQ(header.data_offset % 64, 0);
  EXPECT_EQ(read_npy_pixels(dir.file("v.npy"), header), (Bytes{0, 64, 191, 255}));
}

// --- Broken files, table-driven: each names the file and what was expected. ---

struct BrokenCase {
  const char* name;
  Bytes bytes;
  const char* message;
};

void PrintTo(const BrokenCase& c, std::ostream* os) { *os << c.name; }

class NpyBroken : public ::testing::TestWithParam<BrokenCase> {};

TEST_P(NpyBroken, HeaderGivesAClearError) {
  testing::TempDir dir;
  const std::string path = dir.file("x.npy");
  testing::write_bytes(path, GetParam().bytes);
  testing::expect_error([&] { read_npy_header(path); }, {path, GetParam().message});
}

Bytes with_length(Bytes bytes, size_t at, std::initializer_list<uint8_t> length) {
  std::copy(length.begin(), length.end(), bytes.begin() + static_cast<std::ptrdiff_t>(at));
  return bytes;
}

Bytes truncated(Bytes bytes, size_t size) {
  bytes.resize(size);
  return bytes;
}

const Bytes kSixBytes = {0, 1, 2, 3, 4, 5};

INSTANTIATE_TEST_SUITE_P(
    Cases, NpyBroken,
    ::testing::Values(
        BrokenCase{"empty_file", {}, "not a .npy file"},
        BrokenCase{"wrong_magic", literal("\x93NUMPZ\x01\x00\x00\x00", 10), "not a .npy file"},
        BrokenCase{"gzip_instead", {0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0}, "expected the magic bytes"},
        BrokenCase{"version_4", with_length(kNumpyUint8, 6, {4, 0}), "format version 4.0 is not one fbnet reads"},
        BrokenCase{"version_1_1", with_length(kNumpyUint8, 6, {1, 1}), "format version 1.1"},
        BrokenCase{"short_length_field", truncated(npy_file(dict("|u1", "(1,)"), {0}, 2), 10), "inside the header's length"},
        BrokenCase{"header_past_the_end", with_length(kNumpyUint8, 8, {0xff, 0x00}), "truncated: the header needs 265"},
        BrokenCase{"huge_header_length", with_length(npy_file(dict("|u1", "(1,)"), {0}, 2), 8, {0, 0, 0x10, 0}),
                   "header length 1048576 is more than"},
        BrokenCase{"not_a_dict", npy_file("['descr', '|u1']", {}), "expected '{' opening the header dict"},
        BrokenCase{"missing_shape", npy_file("{'descr': '|u1', 'fortran_order': False}", {}), "lacks the key 'shape'"},
        BrokenCase{"missing_descr", npy_file("{'fortran_order': False, 'shape': (1,)}", {0}), "lacks the key 'descr'"},
        BrokenCase{"duplicate_key", npy_file("{'descr': '|u1', 'descr': '|u1', 'fortran_order': False, 'shape': ()}", {0}),
                   "gives the key 'descr' twice"},
        BrokenCase{"unknown_key", npy_file("{'descr': '|u1', 'order': 'C', 'fortran_order': False, 'shape': ()}", {0}),
                   "unknown key 'order'"},
        BrokenCase{"fortran_order", npy_file("{'descr': '|u1', 'fortran_order': True, 'shape': (2, 3), }", kSixBytes),
                   "Fortran order; fbnet reads C order only"},
        BrokenCase{"fortran_order_not_bool", npy_file("{'descr': '|u1', 'fortran_order': 0, 'shape': (6,)}", kSixBytes),
                   "fortran_order must be True or False"},
        BrokenCase{"big_endian", npy_file(dict(">i4", "(1,)"), {0, 0, 0, 1}), "'>i4' is big-endian"},
        BrokenCase{"complex", npy_file(dict("<c8", "(1,)"), Bytes(8)), "dtype '<c8' is not one fbnet reads"},
        BrokenCase{"object", npy_file(dict("|O", "(1,)"), Bytes(8)), "dtype '|O' is not one fbnet reads"},
        BrokenCase{"unclosed_string", npy_file("{'descr: |u1}", {}), "is not closed"},
        BrokenCase{"negative_dimension", npy_file(dict("|u1", "(-1,)"), {}), "expected a dimension of the shape"},
        BrokenCase{"shape_not_a_tuple", npy_file(dict("|u1", "[2, 3]"), kSixBytes), "expected '(' opening the shape"},
        BrokenCase{"unclosed_shape", npy_file("{'descr': '|u1', 'fortran_order': False, 'shape': (2, 3}", kSixBytes),
                   "expected ')' closing the shape tuple"},
        BrokenCase{"missing_comma", npy_file("{'descr': '|u1' 'fortran_order': False, 'shape': (6,)}", kSixBytes),
                   "expected ',' or '}' after a value of the header dict"},
        BrokenCase{"dimension_too_large", npy_file(dict("|u1", "(99999999999999999999,)"), {}), "too large"},
        BrokenCase{"element_count_overflows", npy_file(dict("|u1", "(4294967296, 4294967296, 4294967296)"), {}),
                   "more elements than fbnet can count"},
        BrokenCase{"byte_count_overflows", npy_file(dict("<f8", "(2305843009213693952,)"), {}),
                   "needs more bytes than fbnet can count"},
        BrokenCase{"short_data", npy_file(dict("|u1", "(2, 3)"), {0, 1, 2}), "holds 3 bytes of data, but shape [2, 3] "
                   "of '|u1' needs 6 (truncated)"},
        BrokenCase{"extra_data", npy_file(dict("|u1", "(2, 3)"), Bytes(7)), "holds 7 bytes of data, but shape [2, 3]"},
        BrokenCase{"promise_without_data", npy_file(dict("|u1", "(1000000000, 784)"), Bytes(16)),
                   "needs 784000000000 (truncated)"},
        BrokenCase{"text_after_dict", npy_file(dict("|u1", "(1,)") + " x", {0}), "unexpected text after the header"}),
    [](const ::testing::TestParamInfo<BrokenCase>& info) { return std::string(info.param.name); });

TEST(NpyBrokenShape, MoreDimensionsThanNumpyAllows) {
  std::string shape = "(";
  for (int d = 0; d < 65; ++d) shape += "1, ";
  shape += ")";
  testing::TempDir dir;
  testing::write_bytes(dir.file("x.npy"), npy_file(dict("|u1", shape), {0}));
  testing::expect_error([&] { read_npy_header(dir.file("x.npy")); }, "more than 64 dimensions");
}

TEST(NpyBrokenValues, FloatsOutsideTheUnitRangeAndWrongTypes) {
  testing::TempDir dir;
  auto write = [&](const char* name, const Bytes& bytes) {
    testing::write_bytes(dir.file(name), bytes);
    return dir.file(name);
  };
  auto pixels = [](const std::string& path) { return read_npy_pixels(path, read_npy_header(path)); };
  const std::string above = write("above.npy", npy_file(dict("<f4", "(2, 3)"), bytes_of<float>({0, 0, 0, 0, 0, 1.5f})));
  testing::expect_error([&] { pixels(above); }, above + ": value 1.5 at index [1, 2] is outside [0, 1]");
  const std::string negative = write("negative.npy", npy_file(dict("<f8", "(2,)"), bytes_of<double>({0.5, -0.25})));
  testing::expect_error([&] { pixels(negative); }, "value -0.25 at index [1]");
  const std::string nan = write("nan.npy", npy_file(dict("<f4", "(1,)"), bytes_of<float>({std::nanf("")})));
  testing::expect_error([&] { pixels(nan); }, "value nan at index [0]");
  const std::string int16 = write("int16.npy", npy_file(dict("<i2", "(1,)"), bytes_of<int16_t>({3})));
  testing::expect_error([&] { pixels(int16); }, int16 + ": images must be uint8 ('|u1') or float32/float64");
  const std::string float_labels = write("float_labels.npy", kNumpyFloat32);
  testing::expect_error([&] { read_npy_integers(float_labels, read_npy_header(float_labels)); },
                        "labels must be integers");
  const std::string huge = write("huge.npy", npy_file(dict("<u8", "(1,)"), bytes_of<uint64_t>({~0ull})));
  testing::expect_error([&] { read_npy_integers(huge, read_npy_header(huge)); }, "above the int64 range");
  testing::expect_error([&] { read_npy_header(dir.file("absent.npy")); }, dir.file("absent.npy") + ": no such file");
}

// --- The npy dataset. ---

// DIR/{train,test}-{images,labels}.npy of `train` and `test` images of `image_shape`, pixel value = index % 251.
void write_npy_dataset(const testing::TempDir& dir, const Shape& image_shape, const std::vector<int64_t>& train_labels,
                       const std::vector<int64_t>& test_labels) {
  for (const auto& [split, labels] : {std::pair{"train", &train_labels}, std::pair{"test", &test_labels}}) {
    Shape shape = image_shape;
    shape.insert(shape.begin(), static_cast<int64_t>(labels->size()));
    Bytes pixels(element_count(shape));
    for (size_t i = 0; i < pixels.size(); ++i) pixels[i] = static_cast<uint8_t>(i % 251);
    std::string tuple = "(";
    for (int64_t d : shape) tuple += std::to_string(d) + ", ";
    tuple += ")";
    testing::write_bytes(dir.file(std::string(split) + "-images.npy"), npy_file(dict("|u1", tuple), pixels));
    testing::write_bytes(dir.file(std::string(split) + "-labels.npy"),
                         npy_file(dict("<i8", "(" + std::to_string(labels->size()) + ",)"), bytes_of(*labels)));
  }
}

TEST(NpyDataset, ChannelFirstImagesAndClassesFromTheLabels) {
  testing::TempDir dir;
  write_npy_dataset(dir, {3, 4, 5}, {0, 1, 4, 1}, {2, 6});
  const DatasetPair pair = load_dataset("npy", dir.path(), 0);
  EXPECT_EQ(pair.train.count, 4);
  EXPECT_EQ(pair.test.count, 2);
  EXPECT_EQ(pair.train.image_shape(), (Shape{3, 4, 5}));
  EXPECT_EQ(pair.train.pixels_per_image(), 60);
  EXPECT_EQ(pair.train.classes, 7);  // 1 + the largest label, 6, which only the test split has
  EXPECT_EQ(pair.test.classes, 7);
  EXPECT_EQ(pair.train.labels, (std::vector<int32_t>{0, 1, 4, 1}));
  EXPECT_EQ(pair.test.image(1)[0], 60);
  // What info and validation read: the headers and labels only.
  const DatasetShape shape = dataset_shape("npy", dir.path());
  EXPECT_EQ(shape.image_shape, (Shape{3, 4, 5}));
  EXPECT_EQ(shape.classes, 7);
}

TEST(NpyDataset, GrayAndFlatImages) {
  testing::TempDir gray, flat, one_channel;
  write_npy_dataset(gray, {4, 5}, {0, 1}, {1});
  write_npy_dataset(flat, {20}, {0, 1}, {1});
  write_npy_dataset(one_channel, {1, 4, 5}, {0, 1}, {1});
  EXPECT_EQ(load_dataset("npy", gray.path(), 0).train.image_shape(), (Shape{4, 5}));
  EXPECT_EQ(load_dataset("npy", flat.path(), 0).train.image_shape(), (Shape{1, 20}));
  // One channel first is the same image as none.
  EXPECT_EQ(load_dataset("npy", one_channel.path(), 0).train.image_shape(), (Shape{4, 5}));
}

TEST(NpyDataset, TheNamedDatasetsKeepTheirShapesWithoutFiles) {
  const DatasetShape fashion = dataset_shape("fashion-mnist", "/nonexistent");
  EXPECT_EQ(fashion.image_shape, (Shape{28, 28}));
  EXPECT_EQ(fashion.classes, 10);
  EXPECT_EQ(dataset_shape("emnist-letters", "").classes, 26);
}

TEST(NpyDataset, BadFoldersNameTheFile) {
  testing::TempDir dir;
  testing::expect_error([&] { load_dataset("npy", "", 0); }, "dataset 'npy' has no default folder; give the folder "
                        "holding train-images.npy, train-labels.npy, test-images.npy and test-labels.npy");
  write_npy_dataset(dir, {2, 2}, {0, 1, 2}, {1});
  std::filesystem::remove(dir.file("test-labels.npy"));
  testing::expect_error([&] { load_dataset("npy", dir.path(), 0); }, dir.file("test-labels.npy") + ": no such file");
  testing::expect_error([&] { dataset_shape("npy", dir.path()); }, dir.file("test-labels.npy") + ": no such file");

  testing::TempDir mismatched;
  write_npy_dataset(mismatched, {2, 2}, {0, 1, 2}, {1});
  testing::write_bytes(mismatched.file("train-labels.npy"), npy_file(dict("<i8", "(2,)"), bytes_of<int64_t>({0, 1})));
  testing::expect_error([&] { load_dataset("npy", mismatched.path(), 0); },
                        mismatched.file("train-images.npy") + " holds 3 images but " +
                            mismatched.file("train-labels.npy") + " holds 2 labels");

  testing::TempDir negative;
  write_npy_dataset(negative, {2, 2}, {0, -1}, {1});
  testing::expect_error([&] { load_dataset("npy", negative.path(), 0); },
                        negative.file("train-labels.npy") + ": label -1 at index 1 is outside 0..65535");

  testing::TempDir shapes;
  write_npy_dataset(shapes, {2, 2}, {0, 1}, {1});
  testing::write_bytes(shapes.file("test-images.npy"), npy_file(dict("|u1", "(1, 2, 3)"), kSixBytes));
  testing::expect_error([&] { load_dataset("npy", shapes.path(), 0); },
                        "training images of shape [2, 2] but test images of shape [2, 3]");

  testing::TempDir rank;
  write_npy_dataset(rank, {2, 2}, {0, 1}, {1});
  testing::write_bytes(rank.file("train-images.npy"), npy_file(dict("|u1", "(6,)"), kSixBytes));
  testing::expect_error([&] { load_dataset("npy", rank.path(), 0); }, rank.file("train-images.npy") +
                        ": images of shape [6]; expected [N, H, W], [N, C, H, W]");

  testing::TempDir labels_2d;
  write_npy_dataset(labels_2d, {2, 2}, {0, 1}, {1});
  testing::write_bytes(labels_2d.file("train-labels.npy"), npy_file(dict("<i8", "(2, 1)"), bytes_of<int64_t>({0, 1})));
  testing::expect_error([&] { load_dataset("npy", labels_2d.path(), 0); }, "labels of shape [2, 1]; expected [N]");
}

}  // namespace
}  // namespace fbnet
