// Settings: presets and precedence, config files in JSON and TOML, paths
// resolved against the config file's folder, and the errors that name the
// flag or key at fault.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include <nlohmann/json.hpp>

#include "config/config.hpp"
#include "config/saved_run_settings.hpp"
#include "config/sequence_config.hpp"
#include "data/dataset.hpp"
#include "engine/error.hpp"
#include "test_support.hpp"
#include "train/image_run.hpp"

namespace fbnet {
namespace {

using testing::expect_error;

TEST(Config, PresetsCarryTheReportsChosenHyperparameters) {
  const RunConfig ff = resolve_config({{"model", "ff"}});
  EXPECT_EQ(ff.training.optimizer.learning_rate, 0.02);
  EXPECT_EQ(ff.training.optimizer.momentum, 0.7);
  EXPECT_EQ(ff.training.batch_size, 128);
  const RunConfig large = resolve_config({{"model", "ff-large"}});
  EXPECT_EQ(large.hidden, (std::vector<int64_t>{1000}));
  EXPECT_EQ(large.training.optimizer.learning_rate, 0.04);
  EXPECT_EQ(large.training.optimizer.momentum, 0.5);
  const RunConfig fb = resolve_config({{"model", "fb"}});
  EXPECT_EQ(fb.feedback, "h1->x");
  EXPECT_EQ(fb.steps, 2);
  EXPECT_EQ(fb.feedback_alpha, 0.3);
  EXPECT_EQ(fb.training.optimizer.learning_rate, 0.02);
  EXPECT_EQ(fb.training.optimizer.momentum, 0.3);
  EXPECT_EQ(fb.training.batch_size, 64);
  // The depth control, with the hyperparameters of the deeper net the authors ran by accident (NOTES.md).
  const RunConfig deep = resolve_config({{"model", "ff-deep"}});
  EXPECT_EQ(deep.hidden, (std::vector<int64_t>{500, 500}));
  EXPECT_EQ(deep.feedback, "");
  EXPECT_EQ(deep.steps, 1);
  EXPECT_EQ(deep.training.optimizer.learning_rate, 0.04);
  EXPECT_EQ(deep.training.optimizer.momentum, 0.5);
  EXPECT_EQ(deep.training.batch_size, 128);
  // Learned or random feedback: fb-fixed is FB with its feedback edge frozen.
  const RunConfig fixed = resolve_config({{"model", "fb-fixed"}});
  EXPECT_EQ(fixed.feedback, "h1->x");
  EXPECT_EQ(fixed.steps, 2);
  EXPECT_EQ(fixed.frozen, "feedback.0");
  EXPECT_EQ(split_names(fixed.frozen), (std::vector<std::string>{"feedback.0"}));
  EXPECT_EQ(fixed.training.optimizer.momentum, 0.3);
  // Compute against parameters: fb-untied is FB with its first layer untied across the two passes.
  const RunConfig untied = resolve_config({{"model", "fb-untied"}});
  EXPECT_EQ(untied.feedback, "h1->x");
  EXPECT_EQ(untied.untied, "layers.0");
  EXPECT_EQ(architecture_from(untied, Shape{28, 28}, 26).untied_layers, (std::vector<int>{0}));
  EXPECT_EQ(untied.training.optimizer.learning_rate, 0.02);
}

// emnist-letters-partial has 8,000 training images: 10,000 for validation
// cannot work, so its default is 1,000, unless a value is given. Its nets keep
// EMNIST letters' 26 outputs (13 letters present), so they have the shape of
// nets trained on all letters.
TEST(Config, DatasetsHaveDefaultsThatWork) {
  EXPECT_EQ(resolve_config({}).data.validation_size, 10000);
  EXPECT_EQ(resolve_config({{"dataset", "emnist-letters-partial"}}).data.validation_size, 1000);
  EXPECT_EQ(resolve_config({{"dataset", "emnist-letters-partial"}, {"validation-size", "500"}}).data.validation_size, 500);
  EXPECT_EQ(resolve_sequence_config({{"dataset", "emnist-letters-partial"}}).data.validation_size, 1000);
  EXPECT_EQ(dataset_spec("emnist-letters-partial").classes, 26);
}

TEST(Config, FeedbackEdgesSpelledWithAColonNeedNoShellQuoting) {
  auto edges = [](const char* text) {
    return architecture_from(resolve_config({{"model", "custom"}, {"hidden", "50,30"}, {"feedback", text}, {"steps", "3"}}),
                             Shape{28, 28}, 10).feedback;
  };
  EXPECT_EQ(edges("h2:h1,h1:x"), edges("h2->h1,h1->x"));
  EXPECT_EQ(edges("h2:h1, h1->x"), edges("h2->h1,h1->x"));
  testing::expect_error([&] { edges("h2:h1->x"); }, "must look like SOURCE->TARGET or SOURCE:TARGET");
}

TEST(Config, ExplicitSettingsOverrideThePresetWhateverTheirOrder) {
  const RunConfig config = resolve_config({{"batch-size", "32"}, {"model", "fb"}, {"feedback-alpha", "0.7"}});
  EXPECT_EQ(config.training.batch_size, 32);
  EXPECT_EQ(config.feedback_alpha, 0.7);
  EXPECT_EQ(config.training.optimizer.momentum, 0.3);
}

TEST(Config, JsonAndTomlFilesGiveTheSameConfig) {
  testing::TempDir dir;
  std::ofstream(dir.file("c.json")) << R"({"model": "custom", "hidden": [500, 300], "feedback": "h2->h1,h1->x", "steps": 3, "learning-rate": 0.01})";
  std::ofstream(dir.file("c.toml")) << "model = \"custom\"\nhidden = [500, 300]\nfeedback = \"h2->h1,h1->x\"\nsteps = 3\nlearning-rate = 0.01\n";
  const RunConfig from_json = resolve_config(read_config_file<RunConfig>(dir.file("c.json")));
  const RunConfig from_toml = resolve_config(read_config_file<RunConfig>(dir.file("c.toml")));
  EXPECT_EQ(config_to_json(from_json), config_to_json(from_toml));
  EXPECT_EQ(from_json.hidden, (std::vector<int64_t>{500, 300}));
  EXPECT_EQ(from_json.steps, 3);
  validate(from_json);
}

// Default run folders: the preset's name while the architecture is the preset's,
// and a digest of the settings that differ from the preset's defaults.
TEST(Config, DefaultRunFoldersAreDistinctAndStable) {
  const std::string fb = default_run_folder(resolve_config({{"model", "fb"}}));
  EXPECT_EQ(fb.rfind("runs/fb-seed0-", 0), 0u) << fb;
  // A default given explicitly, or a setting that cannot change the result, keeps the name.
  EXPECT_EQ(default_run_folder(resolve_config({{"model", "fb"}, {"optimizer", "sgd"}, {"learning-rate", "0.02"}})), fb);
  EXPECT_EQ(default_run_folder(resolve_config({{"model", "fb"}, {"progress", "never"}, {"memory-limit", "100"}})), fb);
  // Other settings, seeds and architectures get other folders.
  const std::string adam = default_run_folder(resolve_config({{"model", "fb"}, {"optimizer", "adam"}}));
  EXPECT_NE(adam, fb);
  EXPECT_EQ(adam.rfind("runs/fb-seed0-", 0), 0u) << adam;
  EXPECT_EQ(default_run_folder(resolve_config({{"model", "fb"}, {"seed", "3"}})).rfind("runs/fb-seed3-", 0), 0u);
  EXPECT_EQ(default_run_folder(resolve_config({{"model", "fb"}, {"steps", "3"}})).rfind("runs/custom-seed0-", 0), 0u);
}

TEST(Config, ResolvedConfigRoundTripsThroughJson) {
  const RunConfig config = resolve_config({{"model", "fb"}, {"seed", "17"}, {"hidden", "300"}});
  const RunConfig again = resolve_config(settings_from_json<RunConfig>(config_to_json(config), "test"));
  EXPECT_EQ(config_to_json(config), config_to_json(again));
}

TEST(Config, ASavedRunWithoutALaterSettingGetsTheValueThatComputedIt) {
  // A conv run saved before --conv-engine ran on im2col, whatever today's default.
  nlohmann::json saved = config_to_json(resolve_config({{"model", "blt"}, {"conv-engine", "onednn"}}));
  EXPECT_EQ(resolve_config(saved_run_settings<RunConfig>(saved, "saved")).training.compute.convolution,
            ConvolutionEngine::kOneDnn);
  saved.erase("conv-engine");
  SettingList settings = saved_run_settings<RunConfig>(saved, "saved");
  EXPECT_EQ(resolve_config(settings).training.compute.convolution, ConvolutionEngine::kIm2col);
  settings.emplace_back("conv-engine", "onednn");  // what the user asks for now still wins
  EXPECT_EQ(resolve_config(settings).training.compute.convolution, ConvolutionEngine::kOneDnn);
  // A run saved before --engine ran its products on OpenBLAS.
  saved = config_to_json(resolve_config({{"model", "ff"}}));
  saved.erase("engine");
  EXPECT_EQ(resolve_config(saved_run_settings<RunConfig>(saved, "saved")).training.compute.engine,
            ProductEngine::kOpenBlas);
}

TEST(Config, BadFilesNameTheFileAndKey) {
  testing::TempDir dir;
  std::ofstream(dir.file("unknown.json")) << R"({"learning_rate": 0.1})";
  std::ofstream(dir.file("broken.json")) << R"({"epochs": )";
  std::ofstream(dir.file("broken.toml")) << "epochs = = 3\n";
  std::ofstream(dir.file("c.yaml")) << "epochs: 3\n";
  std::ofstream(dir.file("nested.json")) << R"({"epochs": {"a": 1}})";
  expect_error([&] { read_config_file<RunConfig>(dir.file("unknown.json")); }, "unknown setting 'learning_rate'");
  expect_error([&] { read_config_file<RunConfig>(dir.file("broken.json")); }, "broken.json: invalid JSON");
  expect_error([&] { read_config_file<RunConfig>(dir.file("broken.toml")); }, "broken.toml: invalid TOML");
  expect_error([&] { read_config_file<RunConfig>(dir.file("c.yaml")); }, ".json or .toml");
  expect_error([&] { read_config_file<RunConfig>(dir.file("nested.json")); }, "'epochs'");
  expect_error([&] { read_config_file<RunConfig>(dir.file("absent.json")); }, "no such file");
}

TEST(Config, PathSettingsAreOneKindOfSetting) {
  EXPECT_EQ(path_settings<RunConfig>(), (std::vector<std::string>{"data-dir", "graph", "out"}));
  EXPECT_EQ(path_settings<SequenceConfig>(), (std::vector<std::string>{"data-dir", "words", "ff-model", "out"}));
}

TEST(Config, PathsInAConfigFileAreRelativeToItsFolder) {
  testing::TempDir dir;
  const std::filesystem::path root = std::filesystem::path(dir.path()).lexically_normal();
  std::filesystem::create_directories(root / "sub");
  std::ofstream(dir.file("sub/run.toml")) << "data-dir = \"data\"\nout = \"../runs/./a\"\n";
  std::ofstream(dir.file("sub/run.json")) << R"({"data-dir": "/srv//data/../idx", "out": ""})";
  std::ofstream(dir.file("sub/sequences.toml")) << "words = \"words.txt\"\nff-model = \"ff/model.safetensors\"\n";
  // Read from another folder: the current one must not matter.
  const std::filesystem::path cwd = std::filesystem::current_path();
  ASSERT_NE(cwd, root / "sub");
  const RunConfig relative = resolve_config(read_config_file<RunConfig>(dir.file("sub/run.toml")));
  EXPECT_EQ(relative.data.data_dir.path, (root / "sub" / "data").string());
  EXPECT_EQ(relative.output.out.path, (root / "runs" / "a").string());
  // Absolute paths stay where they point, normalised; empty ones stay the default.
  const RunConfig absolute = resolve_config(read_config_file<RunConfig>(dir.file("sub/run.json")));
  EXPECT_EQ(absolute.data.data_dir.path, "/srv/idx");
  EXPECT_EQ(absolute.output.out.path, "");
  EXPECT_EQ(resolve_config({}).data.data_dir.path, "");
  const SequenceConfig sequences = resolve_sequence_config(read_config_file<SequenceConfig>(dir.file("sub/sequences.toml")));
  EXPECT_EQ(sequences.words.path, (root / "sub" / "words.txt").string());
  EXPECT_EQ(sequences.ff_model.path, (root / "sub" / "ff" / "model.safetensors").string());
  EXPECT_EQ(resolve_sequence_config({}).words.path, "/usr/share/dict/words");
  // The resolved config, as config.json records it, holds the absolute paths.
  EXPECT_EQ(config_to_json(relative)["data-dir"], (root / "sub" / "data").string());
}

TEST(Config, PathsGivenAsFlagsAreRelativeToTheCurrentFolder) {
  // What SettingFlags::given() does with a flag's text; a flag given after the file overrides it.
  const std::filesystem::path cwd = std::filesystem::current_path();
  EXPECT_EQ(absolute_path("data/../idx", cwd, "--data-dir"), (cwd / "idx").string());
  EXPECT_EQ(absolute_path("/srv/idx", cwd, "--data-dir"), "/srv/idx");
  EXPECT_EQ(absolute_path("/srv/idx/", cwd, "--data-dir"), "/srv/idx");  // one setting with or without the slash
  EXPECT_EQ(absolute_path("idx/.", cwd, "--data-dir"), (cwd / "idx").string());
  EXPECT_EQ(absolute_path("/", cwd, "--data-dir"), "/");
  EXPECT_EQ(absolute_path("", cwd, "--data-dir"), "");
  testing::TempDir dir;
  std::ofstream(dir.file("run.toml")) << "data-dir = \"data\"\n";
  SettingList settings = read_config_file<RunConfig>(dir.file("run.toml"));
  settings.emplace_back("data-dir", absolute_path("flag-data", cwd, "--data-dir"));
  EXPECT_EQ(resolve_config(settings).data.data_dir.path, (cwd / "flag-data").string());
}

TEST(Config, BadPathsNameTheSettingAndTheFile) {
  testing::TempDir dir;
  std::ofstream(dir.file("home.toml")) << "data-dir = \"~/emnist\"\n";
  std::ofstream(dir.file("number.json")) << R"({"out": 3})";
  std::ofstream(dir.file("nul.json")) << R"({"data-dir": "a\u0000b"})";
  expect_error([&] { read_config_file<RunConfig>(dir.file("home.toml")); },
               dir.file("home.toml") + ": setting 'data-dir': '~/emnist': fbnet does not expand '~'");
  expect_error([&] { read_config_file<RunConfig>(dir.file("number.json")); },
               dir.file("number.json") + ": setting 'out' is a path; expected a string, got number");
  expect_error([&] { read_config_file<RunConfig>(dir.file("nul.json")); }, "nul.json: setting 'data-dir': a path cannot hold");
  expect_error([] { absolute_path("~/x", "/", "--data-dir"); }, "--data-dir: '~/x'");
}

TEST(Config, ShippedConfigFilesAreValid) {
  int files = 0;
  for (const auto& entry : std::filesystem::directory_iterator(std::string(FBNET_SOURCE_DIR) + "/configs")) {
    if (entry.path().filename().string().starts_with("grid-")) continue;  // grid files: grid_test.cpp
    SCOPED_TRACE(entry.path().string());
    if (entry.path().filename().string().starts_with("sequences")) {
      // Experiment 2's settings; reproduce figure1 supplies each run's --ff-model.
      SequenceConfig config = resolve_sequence_config(read_config_file<SequenceConfig>(entry.path().string()));
      config.ff_model.path = "ff/model.safetensors";
      validate(config);
      continue;
    }
    const RunConfig config = resolve_config(read_config_file<RunConfig>(entry.path().string()));
    validate(config);
    ++files;
  }
  EXPECT_GE(files, 3);
  // The EMNIST config names the shared data relative to configs/, wherever fbnet runs.
  if (!testing::emnist_partial_dir().empty())
    EXPECT_EQ(std::filesystem::path(
                  resolve_sequence_config(read_config_file<SequenceConfig>(std::string(FBNET_SOURCE_DIR) +
                                                                          "/configs/sequences-emnist-letters-partial.toml"))
                      .data.data_dir.path),
              std::filesystem::path(testing::emnist_partial_dir()).lexically_normal());
  // The report's three files say exactly what the presets say.
  for (const char* model : {"ff", "ff-large", "fb"}) {
    const RunConfig from_file = resolve_config(read_config_file<RunConfig>(std::string(FBNET_SOURCE_DIR) + "/configs/" + model + ".toml"));
    EXPECT_EQ(config_to_json(from_file), config_to_json(resolve_config({{"model", model}}))) << model;
  }
}

TEST(SequenceConfig, DefaultsAreTheReportsAndBadValuesNameTheFlag) {
  const SequenceConfig defaults;
  EXPECT_EQ(defaults.length, 5);
  EXPECT_EQ(defaults.allowed, 50);
  EXPECT_EQ(defaults.train_sequences, 50000);
  EXPECT_EQ(defaults.test_sequences, 10000);
  EXPECT_EQ(defaults.noisy_positions, (std::vector<int64_t>{4, 5}));
  EXPECT_EQ(defaults.data.noise_scale, 4.0);
  EXPECT_EQ(defaults.feedback_alpha, 0.5);
  EXPECT_EQ(defaults.training.optimizer.learning_rate, 0.00001);
  EXPECT_EQ(defaults.training.optimizer.momentum, 0.5);
  EXPECT_EQ(defaults.training.batch_size, 64);
  const struct {
    const char* name;
    const char* value;
    const char* message;
  } cases[] = {{"noisy-positions", "0", "--noisy-positions"}, {"noisy-positions", "6", "--noisy-positions"},
               {"length", "0", "--length"},                  {"allowed", "0", "--allowed"},
               {"feedback-alpha", "2", "--feedback-alpha"},  {"lstm-hidden", "0", "--lstm-hidden"},
               {"train-sequences", "0", "--train-sequences"}, {"net", "gru", "--net"},
               {"missing-letters", "keep", "--missing-letters"}};
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    expect_error([&] {
      SequenceConfig config = resolve_sequence_config({{"ff-model", "x"}, {c.name, c.value}});
      validate(config);
    }, c.message);
  }
  expect_error([] { validate(resolve_sequence_config({{"net", "fb"}})); }, "--ff-model");
  EXPECT_NO_THROW(validate(resolve_sequence_config({{"net", "lstm"}})));
  const nlohmann::ordered_json json = config_to_json(resolve_sequence_config({{"net", "lstm"}, {"noisy-positions", "2,3"}}));
  EXPECT_EQ(config_to_json(resolve_sequence_config(settings_from_json<SequenceConfig>(json, "test"))), json);
}

TEST(Config, InvalidValuesNameTheFlag) {
  const struct {
    const char* name;
    const char* value;
    const char* message;
  } cases[] = {
      {"learning-rate", "0", "--learning-rate"},   {"learning-rate", "-0.1", "--learning-rate"},
      {"batch-size", "0", "--batch-size"},         {"batch-size", "-64", "--batch-size"},
      {"epochs", "0", "--epochs"},                 {"epochs", "-3", "--epochs"},
      {"feedback-alpha", "1.5", "--feedback-alpha"}, {"feedback-alpha", "-0.1", "--feedback-alpha"},
      {"momentum", "1", "--momentum"},             {"dropout", "1", "--dropout"},
      {"threads", "-1", "--threads"},               {"epochs", "ten", "--epochs: expected an integer"},
      {"learning-rate", "0.1x", "--learning-rate: expected a number"},
      {"feedback-combine", "multiply", "--feedback-combine"},
      {"model", "resnet", "--model"},              {"feedback", "h1->h2", "--feedback"},
      {"hidden", "500,abc", "--hidden"},           {"hidden", "0", "--hidden"},
      {"frozen", "h1", "--frozen: 'h1' is not a node or edge with weights"},  // a ReLU has none
      {"frozen", "feedback.1", "--frozen: 'feedback.1'"},
  };
  for (const auto& c : cases)
    expect_error([&] { validate(resolve_config({{"model", "fb"}, {c.name, c.value}})); }, c.message);
}

}  // namespace
}  // namespace fbnet
