// Checkpoints: a round trip keeps every bit, another architecture is refused
// by name, and malformed or hostile safetensors files are refused before any
// large allocation.
#include <gtest/gtest.h>

#include <memory>

#include <cstring>
#include <filesystem>
#include <fstream>

#include "config/config.hpp"
#include "engine/error.hpp"
#include "formats/model_file.hpp"
#include "test_support.hpp"

namespace fbnet {
namespace {

std::unique_ptr<Network<float>> make_network(const char* model, uint64_t seed) {
  auto network = std::make_unique<Network<float>>(architecture_from(resolve_config({{"model", model}}), Shape{28, 28}, 10));
  network->initialize(seed);
  return network;
}

void write_raw_safetensors(const std::string& path, const std::string& header, size_t data_bytes) {
  std::ofstream out(path, std::ios::binary);
  const uint64_t size = header.size();
  out.write(reinterpret_cast<const char*>(&size), 8);
  out << header;
  out << std::string(data_bytes, '\0');
}

TEST(Checkpoint, RoundTripKeepsWeightsMomentumAndMetadata) {
  testing::TempDir dir;
  const auto network_owner = make_network("fb", 1);
  Network<float>& network = *network_owner;
  std::vector<float> velocity(network.parameters().values().size());
  for (size_t i = 0; i < velocity.size(); ++i) velocity[i] = static_cast<float>(i % 97) * 0.5f;
  Optimizer<float> optimizer({.learning_rate = 0.1, .momentum = 0.9}, network.parameters().values().size());
  *optimizer.find_state("momentum") = velocity;
  save_checkpoint(dir.file("c.safetensors"), network, &optimizer, 7, {{"seed", 3}});
  const Checkpoint checkpoint = read_checkpoint(dir.file("c.safetensors"));
  EXPECT_EQ(checkpoint.epoch, 7);
  EXPECT_EQ(checkpoint.config["seed"], 3);
  EXPECT_EQ(architecture_to_json(checkpoint.architecture), architecture_to_json(network.architecture()));
  Network<float> loaded(checkpoint.architecture);
  load_weights(checkpoint, loaded);
  Optimizer<float> loaded_optimizer({.learning_rate = 0.1, .momentum = 0.9}, velocity.size());
  load_optimizer_state(checkpoint, loaded.parameters().infos(), loaded_optimizer);
  EXPECT_EQ(loaded.parameters().values(), network.parameters().values());
  EXPECT_EQ(*loaded_optimizer.find_state("momentum"), velocity);
  EXPECT_NE(checkpoint.file.find("layers.0.weight"), nullptr);
  EXPECT_EQ(checkpoint.file.find("feedback.0.weight")->shape, (Shape{784, 500}));
  // No temporary file is left behind.
  int files = 0;
  for ([[maybe_unused]] const auto& entry : std::filesystem::directory_iterator(dir.path())) ++files;
  EXPECT_EQ(files, 1);
}

// --gradient-accumulation running-sum: G travels with the momentum buffer.
TEST(Checkpoint, RoundTripKeepsTheRunningGradientSum) {
  testing::TempDir dir;
  const auto network_owner = make_network("fb", 1);
  Network<float>& network = *network_owner;
  const size_t count = network.parameters().values().size();
  const OptimizerSettings running_sum = {
      .learning_rate = 0.1, .momentum = 0.5, .accumulation = GradientAccumulation::kRunningSum};
  Optimizer<float> optimizer(running_sum, count);
  for (size_t i = 0; i < count; ++i) {
    (*optimizer.find_state("momentum"))[i] = static_cast<float>(i % 89) * 0.25f;
    (*optimizer.find_state("gradient_sum"))[i] = static_cast<float>(i % 83) * -0.5f;
  }
  save_checkpoint(dir.file("c.safetensors"), network, &optimizer, 2, nlohmann::json::object());
  const Checkpoint checkpoint = read_checkpoint(dir.file("c.safetensors"));
  const NamedTensor* gradient_sum = checkpoint.file.find("optimizer.gradient_sum.feedback.0.weight");
  ASSERT_NE(gradient_sum, nullptr);
  EXPECT_EQ(gradient_sum->shape, (Shape{784, 500}));
  EXPECT_EQ(checkpoint.file.metadata.at("format"), "fbnet-checkpoint-2");  // older binaries refuse it
  Optimizer<float> loaded(running_sum, count);
  load_optimizer_state(checkpoint, network.parameters().infos(), loaded);
  EXPECT_EQ(*loaded.find_state("momentum"), *optimizer.find_state("momentum"));
  EXPECT_EQ(*loaded.find_state("gradient_sum"), *optimizer.find_state("gradient_sum"));
  // A checkpoint of a zeroed run has no G to resume a running sum from.
  Optimizer<float> zeroed({.learning_rate = 0.1, .momentum = 0.5}, count);
  save_checkpoint(dir.file("z.safetensors"), network, &zeroed, 2, nlohmann::json::object());
  EXPECT_EQ(read_checkpoint(dir.file("z.safetensors")).file.find("optimizer.gradient_sum.layers.0.weight"), nullptr);
  EXPECT_THROW(load_optimizer_state(read_checkpoint(dir.file("z.safetensors")), network.parameters().infos(), loaded), Error);
}

TEST(Checkpoint, AnotherArchitectureIsRefusedByName) {
  testing::TempDir dir;
  save_checkpoint(dir.file("ff.safetensors"), *make_network("ff", 1), nullptr, 1, nlohmann::json::object());
  const Checkpoint checkpoint = read_checkpoint(dir.file("ff.safetensors"));
  const auto large_owner = make_network("ff-large", 1);
  Network<float>& large = *large_owner;
  try {
    load_weights(checkpoint, large);
    ADD_FAILURE() << "no error";
  } catch (const Error& error) {
    const std::string message = error.what();
    EXPECT_NE(message.find("layers.0.weight"), std::string::npos) << message;
    EXPECT_NE(message.find("different architecture"), std::string::npos) << message;
  }
  const auto fb_owner = make_network("fb", 1);
  Network<float>& fb = *fb_owner;
  EXPECT_THROW(load_weights(checkpoint, fb), Error);  // has no feedback.0.weight
  const auto ff_owner = make_network("ff", 2);
  Network<float>& ff = *ff_owner;
  Optimizer<float> optimizer({.learning_rate = 0.1, .momentum = 0.9}, ff.parameters().values().size());
  EXPECT_THROW(load_optimizer_state(checkpoint, ff.parameters().infos(), optimizer), Error);  // weights-only file
}

// Adam's two moments and its step count t travel in the checkpoint, whose format older binaries refuse.
TEST(Checkpoint, RoundTripKeepsAdamsMomentsAndStepCount) {
  testing::TempDir dir;
  const auto network_owner = make_network("ff", 1);
  Network<float>& network = *network_owner;
  const size_t count = network.parameters().values().size();
  const OptimizerSettings adam = {.kind = OptimizerKind::kAdamW, .learning_rate = 0.001, .weight_decay = 0.01};
  Optimizer<float> optimizer(adam, count);
  for (size_t i = 0; i < count; ++i) {
    (*optimizer.find_state("exp_avg"))[i] = static_cast<float>(i % 89) * 0.25f;
    (*optimizer.find_state("exp_avg_sq"))[i] = static_cast<float>(i % 83) * 0.5f;
  }
  optimizer.set_steps(1234);
  save_checkpoint(dir.file("c.safetensors"), network, &optimizer, 2, nlohmann::json::object());
  const Checkpoint checkpoint = read_checkpoint(dir.file("c.safetensors"));
  EXPECT_EQ(checkpoint.file.metadata.at("format"), "fbnet-checkpoint-3");
  EXPECT_EQ(checkpoint.file.find("optimizer.momentum.layers.0.weight"), nullptr);
  Optimizer<float> loaded(adam, count);
  load_optimizer_state(checkpoint, network.parameters().infos(), loaded);
  EXPECT_EQ(*loaded.find_state("exp_avg"), *optimizer.find_state("exp_avg"));
  EXPECT_EQ(*loaded.find_state("exp_avg_sq"), *optimizer.find_state("exp_avg_sq"));
  EXPECT_EQ(loaded.steps(), 1234);
  // An SGD checkpoint holds no moments for Adam to resume from.
  Optimizer<float> sgd({.learning_rate = 0.1, .momentum = 0.9}, count);
  save_checkpoint(dir.file("s.safetensors"), network, &sgd, 2, nlohmann::json::object());
  EXPECT_THROW(load_optimizer_state(read_checkpoint(dir.file("s.safetensors")), network.parameters().infos(), loaded), Error);
}

// An fbnet-looking checkpoint whose metadata is edited after the fact.
void write_with_metadata(const std::string& path, const std::string& key, const std::string& value) {
  testing::TempDir dir;
  save_checkpoint(dir.file("c.safetensors"), *make_network("ff", 1), nullptr, 3, nlohmann::json::object());
  SafetensorsFile file = read_safetensors(dir.file("c.safetensors"));
  file.metadata[key] = value;
  write_safetensors(path, file);
}

// The FF net's architecture metadata with one field replaced.
std::string architecture_with(const char* key, const nlohmann::json& value) {
  nlohmann::json json = architecture_to_json(make_network("ff", 1)->architecture());
  json[key] = value;
  return json.dump();
}

TEST(Checkpoint, HostileMetadataIsRefusedBeforeAllocating) {
  testing::TempDir dir;
  const struct {
    const char* name;
    const char* key;
    std::string value;
    const char* message;
  } cases[] = {
      // Claims a 2^20-wide net: refused because the file lacks its tensors, not after allocating them.
      {"huge_architecture", "architecture", architecture_with("hidden_sizes", {1 << 20}), "has with another shape"},
      {"too_wide", "architecture", architecture_with("hidden_sizes", {int64_t{1} << 32}), "field 'hidden_sizes': sizes must be in"},
      {"float_size", "architecture", architecture_with("input_size", 1e30), "must be an integer"},
      {"unknown_combine", "architecture", architecture_with("feedback_combine", "multiply"), "'multiply' is not one of"},
      {"epoch_with_suffix", "epoch", "7abc", "epoch '7abc'"},
      {"negative_epoch", "epoch", "-1", "epoch '-1'"},
      {"config_not_object", "config", "[1, 2]", "must be an object"},
  };
  for (const auto& c : cases) {
    const std::string path = dir.file(std::string(c.name) + ".safetensors");
    write_with_metadata(path, c.key, c.value);
    try {
      read_checkpoint(path);
      ADD_FAILURE() << c.name << ": no error";
    } catch (const Error& error) {
      EXPECT_NE(std::string(error.what()).find(c.message), std::string::npos) << c.name << ": " << error.what();
    }
  }
}

TEST(Checkpoint, MalformedFilesGiveClearErrors) {
  testing::TempDir dir;
  const struct {
    const char* name;
    std::function<void(const std::string&)> make;
    const char* message;
  } cases[] = {
      {"empty", [](const std::string& p) { std::ofstream(p) << ""; }, "not a safetensors file"},
      {"huge_header_length", [](const std::string& p) { write_raw_safetensors(p, "{}", 0); std::fstream f(p, std::ios::in | std::ios::out | std::ios::binary); const uint64_t n = uint64_t{1} << 62; f.write(reinterpret_cast<const char*>(&n), 8); }, "header length"},
      {"not_json", [](const std::string& p) { write_raw_safetensors(p, "{nope", 0); }, "not valid JSON"},
      {"bad_dtype", [](const std::string& p) { write_raw_safetensors(p, R"({"w":{"dtype":"F16","shape":[2],"data_offsets":[0,4]}})", 4); }, "dtype"},
      {"offsets_past_end", [](const std::string& p) { write_raw_safetensors(p, R"({"w":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}})", 8); }, "data_offsets"},
      {"absurd_shape", [](const std::string& p) { write_raw_safetensors(p, R"({"w":{"dtype":"F32","shape":[2147483648,2147483648],"data_offsets":[0,16]}})", 16); }, "larger than the file"},
      {"shape_offsets_mismatch", [](const std::string& p) { write_raw_safetensors(p, R"({"w":{"dtype":"F32","shape":[3],"data_offsets":[0,16]}})", 16); }, "do not match"},
      {"overlapping", [](const std::string& p) { write_raw_safetensors(p, R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}})", 12); }, "overlap"},
      {"not_fbnet", [](const std::string& p) { write_raw_safetensors(p, R"({"w":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}})", 4); }, "not an fbnet model file"},
      {"missing", [](const std::string&) {}, "no such checkpoint"},
  };
  for (const auto& c : cases) {
    const std::string path = dir.file(std::string(c.name) + ".safetensors");
    c.make(path);
    try {
      read_checkpoint(path);
      ADD_FAILURE() << c.name << ": no error";
    } catch (const Error& error) {
      const std::string message = error.what();
      EXPECT_NE(message.find(c.message), std::string::npos) << c.name << ": " << message;
      EXPECT_NE(message.find(path), std::string::npos) << c.name << ": " << message;
    }
  }
}

}  // namespace
}  // namespace fbnet
