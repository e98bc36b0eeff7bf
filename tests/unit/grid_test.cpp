// Grid expansion: axes, sub-grids over shared settings, ids from resolved
// settings, sizes counted before anything is built, paths relative to the
// grid file, claims on runs, Slurm options, and errors.
#include <gtest/gtest.h>

#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>

#include "config/config.hpp"
#include "engine/error.hpp"
#include "engine/hash.hpp"
#include "experiments/grid.hpp"
#include "experiments/grid_claim.hpp"
#include "experiments/grid_slurm.hpp"
#include "experiments/grid_space.hpp"
#include "experiments/process_pool.hpp"
#include "experiments/statistics.hpp"
#include "experiments/table1.hpp"
#include "test_support.hpp"

namespace fbnet {
namespace {

TEST(Grid, TheReportsGridHas120Configurations) {
  const auto runs = expand_grid(read_settings_document(std::string(FBNET_SOURCE_DIR) + "/configs/grid-table1.toml"),
                                "grid-table1.toml");
  ASSERT_EQ(runs.size(), 120u);
  std::map<std::string, int> per_model;
  std::set<std::string> ids;
  for (const auto& run : runs) {
    per_model[run.settings["model"].get<std::string>()]++;
    ids.insert(run.id);
    EXPECT_EQ(run.settings["epochs"], 30);
  }
  EXPECT_EQ(per_model["ff"], 24);
  EXPECT_EQ(per_model["ff-large"], 24);
  EXPECT_EQ(per_model["fb"], 72);
  EXPECT_EQ(ids.size(), 120u);
  // The last axis varies fastest: FB runs step through alpha first.
  EXPECT_EQ(runs[48].settings["feedback-alpha"], 0.3);
  EXPECT_EQ(runs[49].settings["feedback-alpha"], 0.5);
  EXPECT_EQ(runs[48].settings["batch-size"], runs[49].settings["batch-size"]);
}

TEST(Grid, TheBuiltInReportGridIsTheShippedFile) {
  // reproduce table1 and `fbnet grid configs/grid-table1.toml` share run ids, hence runs.
  const auto shipped = expand_grid(read_settings_document(std::string(FBNET_SOURCE_DIR) + "/configs/grid-table1.toml"), "f");
  const auto built_in = expand_grid(report_grid(), "built-in");
  ASSERT_EQ(shipped.size(), built_in.size());
  for (size_t i = 0; i < shipped.size(); ++i) EXPECT_EQ(shipped[i].id, built_in[i].id) << i;
}

TEST(Statistics, MeanStdAndConfidenceInterval) {
  const Summary s = summarize({-3.77, -3.71, -4.20});
  EXPECT_NEAR(s.mean, -3.8933, 1e-4);
  EXPECT_NEAR(s.std, 0.2673, 1e-4);
  EXPECT_NEAR(s.ci95_half, 4.303 * 0.2673 / std::sqrt(3.0), 1e-3);
  EXPECT_EQ(summarize({1.5}).std, 0.0);
  EXPECT_EQ(summarize({1.5}).ci95_half, 0.0);
  EXPECT_DOUBLE_EQ(student_t_975(1), 12.706);
  EXPECT_DOUBLE_EQ(student_t_975(1000), 1.960);
}

TEST(Grid, IdsDependOnSettingsAndHiddenListsOfListsAreAxes) {
  nlohmann::json grid = {{"model", "custom"}, {"hidden", {{100}, {50, 20}}}, {"feedback", "h1->x"}, {"steps", 2}};
  const auto runs = expand_grid(grid, "test");
  ASSERT_EQ(runs.size(), 2u);
  EXPECT_EQ(runs[1].settings["hidden"], nlohmann::ordered_json({50, 20}));
  const auto again = expand_grid(grid, "test");
  EXPECT_EQ(runs[0].id, again[0].id);
  grid["steps"] = 3;
  EXPECT_NE(expand_grid(grid, "test")[0].id, runs[0].id);
  // A flat hidden list is one value, not an axis.
  EXPECT_EQ(expand_grid({{"model", "custom"}, {"hidden", {100, 50}}}, "test").size(), 1u);
}

TEST(Grid, PathsAreRelativeToTheGridFile) {
  const nlohmann::json grid = {{"data-dir", "data"}, {"learning-rate", {0.01, 0.02}}};
  const auto here = expand_grid(grid, "/srv/grids/g.toml");
  const auto elsewhere = expand_grid(grid, "/home/me/g.toml");
  ASSERT_EQ(here.size(), 2u);
  EXPECT_EQ(here[1].settings["data-dir"], "/srv/grids/data");
  EXPECT_EQ(elsewhere[1].settings["data-dir"], "/home/me/data");
  // Other data, other runs: the id hashes the resolved, absolute path.
  EXPECT_NE(here[1].id, elsewhere[1].id);
  EXPECT_EQ(here[1].id, grid_run_id(resolve_config({{"data-dir", "/srv/grids/data"}, {"learning-rate", "0.02"}})));
  // Each value of a path axis is resolved.
  const auto axis = expand_grid({{"data-dir", {"a", "/b"}}}, "/srv/g.toml");
  EXPECT_EQ(axis[0].settings["data-dir"], "/srv/a");
  EXPECT_EQ(axis[1].settings["data-dir"], "/b");
}

std::set<std::string> ids_of(const std::vector<GridRun>& runs) {
  std::set<std::string> ids;
  for (const auto& run : runs) ids.insert(run.id);
  return ids;
}

TEST(Grid, IdsComeFromTheResolvedSettingsNotTheirSpelling) {
  const auto plain = expand_grid(nlohmann::ordered_json{{"model", "fb"}, {"learning-rate", {0.02, 0.04}}}, "a.toml");
  ASSERT_EQ(plain.size(), 2u);
  EXPECT_EQ(plain[0].id.rfind("fb-", 0), 0u) << plain[0].id;
  // fb's own defaults given explicitly, the dataset's default and its default folder, settings that cannot change
  // a run, and keys in another order: the same runs.
  const auto spelled_out = expand_grid(nlohmann::ordered_json{{"momentum", 0.3},
                                                              {"learning-rate", {0.04, 0.02}},
                                                              {"dataset", "fashion-mnist"},
                                                              {"data-dir", "/usr/share/datasets/fashion-mnist"},
                                                              {"batch-size", 64},
                                                              {"progress", "never"},
                                                              {"threads", 2},
                                                              {"model", "fb"}},
                                       "b.json");
  EXPECT_EQ(ids_of(spelled_out), ids_of(plain));
  EXPECT_EQ(spelled_out[0].id, plain[1].id);  // its list is in the other order
  // Any setting that changes the run changes the id; so does another model with the same settings.
  for (const auto& [key, value] : std::vector<std::pair<std::string, nlohmann::json>>{
           {"momentum", 0.5}, {"seed", 1}, {"epochs", 29}, {"dataset", "mnist"}, {"feedback-alpha", 0.5}}) {
    nlohmann::ordered_json other = {{"model", "fb"}, {"learning-rate", {0.02, 0.04}}, {key, value}};
    EXPECT_TRUE(std::ranges::none_of(expand_grid(other, "c.toml"),
                                     [&](const GridRun& run) { return ids_of(plain).count(run.id) > 0; }))
        << key;
  }
  EXPECT_NE(expand_grid({{"model", "ff"}}, "d.toml")[0].id, expand_grid({{"model", "ff-deep"}}, "d.toml")[0].id);
}

TEST(Grid, TomlAndJsonSpellingsOfOneGridShareTheirRuns) {
  testing::TempDir dir;
  std::ofstream(dir.file("g.toml")) << "epochs = 30\nlearning-rate = [0.01, 0.02]\n\n[[grid]]\nmodel = \"ff\"\n\n"
                                       "[[grid]]\nmodel = \"fb\"\nfeedback-alpha = [0.3, 0.5]\n";
  std::ofstream(dir.file("g.json")) << R"({"grid": [{"feedback-alpha": [0.5, 0.3], "model": "fb"}, {"model": "ff"}],
                                           "learning-rate": [0.02, 0.01], "dataset": "fashion-mnist"})";
  const auto toml = expand_grid(read_settings_document(dir.file("g.toml")), dir.file("g.toml"));
  const auto json = expand_grid(read_settings_document(dir.file("g.json")), dir.file("g.json"));
  EXPECT_EQ(toml.size(), 6u);
  EXPECT_EQ(ids_of(toml), ids_of(json));
}

TEST(Grid, AConfigurationTwoSubGridsGiveIsOneRun) {
  const nlohmann::json grid = {{"model", "fb"},
                               {"grid", {{{"feedback-alpha", {0.3, 0.5}}}, {{"feedback-alpha", 0.3}, {"seed", 0}}}}};
  const auto runs = expand_grid(grid, "g.toml");
  ASSERT_EQ(runs.size(), 2u);
  EXPECT_EQ(GridSpace(grid, "g.toml").size(), 3u);
}

// Four lists of 100 values.
nlohmann::ordered_json huge_grid() {
  nlohmann::ordered_json grid = nlohmann::ordered_json::object();
  grid["learning-rate"] = nlohmann::json::array();
  for (int i = 1; i <= 100; ++i) grid["learning-rate"].push_back(i / 1000.0);
  grid["momentum"] = nlohmann::json::array();
  for (int i = 0; i < 100; ++i) grid["momentum"].push_back(i / 100.0);
  grid["seed"] = nlohmann::json::array();
  for (int i = 0; i < 100; ++i) grid["seed"].push_back(i);
  grid["batch-size"] = nlohmann::json::array();
  for (int i = 1; i <= 100; ++i) grid["batch-size"].push_back(i);
  return grid;
}

TEST(GridSpace, CountsBeforeBuildingAndBuildsAnyConfigurationAlone) {
  const nlohmann::ordered_json document = huge_grid();
  const auto start = std::chrono::steady_clock::now();
  const GridSpace space(document, "huge.toml");
  EXPECT_EQ(space.size(), 100000000u);
  // The last configuration, built without the 10^8 before it; the last axis varies fastest.
  const auto last = space.configuration(space.size() - 1);
  EXPECT_EQ(last["learning-rate"], 0.1);
  EXPECT_EQ(last["batch-size"], 100);
  // (Keys come in JSON's order, as from a TOML file: the last axis is seed.)
  EXPECT_EQ(space.configuration(1)["seed"], 1);
  EXPECT_EQ(space.configuration(100)["seed"], 0);
  EXPECT_EQ(space.configuration(100)["momentum"], 0.01);
  try {
    expand_grid(document, "huge.toml");
    ADD_FAILURE() << "a grid of 10^8 configurations was expanded";
  } catch (const Error& error) {
    EXPECT_STREQ(error.what(),
                 "huge.toml: the grid has 100000000 configurations (batch-size 100 x learning-rate 100 x momentum 100 x "
                 "seed 100 = 100000000), more than the 100000 that the default limit allows; remove values "
                 "from its lists, or raise the limit with --max-configurations or max-configurations in the grid file");
  }
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(1));
}

TEST(GridSpace, LimitsFromTheFileOrTheFlagAndSubGridsAddUp) {
  nlohmann::ordered_json grid = {{"learning-rate", {0.01, 0.02, 0.04}},
                                 {"grid", {{{"model", {"ff", "ff-large"}}}, {{"model", "fb"}, {"momentum", {0.3, 0.5}}}}}};
  EXPECT_EQ(GridSpace(grid, "g.toml").size(), 12u);
  EXPECT_EQ(GridSpace(grid, "g.toml").describe(),
            "[[grid]] 1: learning-rate 3 x model 2 = 6; [[grid]] 2: learning-rate 3 x momentum 2 = 6");
  EXPECT_EQ(expand_grid(grid, "g.toml", 12).size(), 12u);
  testing::expect_error([&] { expand_grid(grid, "g.toml", 11); },
                        "more than the 11 that --max-configurations allows");
  grid["max-configurations"] = 10;
  testing::expect_error([&] { expand_grid(grid, "g.toml"); }, "the grid file's max-configurations allows");
  EXPECT_EQ(expand_grid(grid, "g.toml", 20).size(), 12u);  // the flag wins over the file
  grid["max-configurations"] = "many";
  testing::expect_error([&] { GridSpace(grid, "g.toml"); }, "g.toml: max-configurations must be a whole number");
  // Lists whose product does not fit in 64 bits.
  nlohmann::ordered_json enormous = nlohmann::ordered_json::object();
  nlohmann::json values = nlohmann::json::array();
  for (int i = 0; i < 1000; ++i) values.push_back(i);
  for (const char* key : {"seed", "split-seed", "noise-seed", "batch-size", "epochs", "steps", "eval-batch-size"})
    enormous[key] = values;
  EXPECT_EQ(GridSpace(enormous, "e.toml").size(), GridSpace::kTooMany);
  testing::expect_error([&] { expand_grid(enormous, "e.toml"); },
                        "more than 18446744073709551615 configurations");
  nlohmann::json misplaced = {{"grid", nlohmann::json::array()}};
  misplaced["grid"].push_back({{"slurm", {{"time", "1:00"}}}});
  testing::expect_error([&] { GridSpace(misplaced, "s.toml"); },
                        "s.toml: 'slurm' belongs at the top of the grid file, not in a [[grid]] table");
}

TEST(RunClaim, OneProcessAtATimeAndNothingLeftOnceReleased) {
  testing::TempDir dir;
  EXPECT_FALSE(RunClaim::is_held(dir.path()));
  {
    std::optional<RunClaim> claim = RunClaim::try_claim(dir.path());
    ASSERT_TRUE(claim.has_value());
    EXPECT_TRUE(RunClaim::is_held(dir.path()));
    // flock locks belong to open files: a second claim, even from this process, is refused while the first lasts.
    EXPECT_FALSE(RunClaim::try_claim(dir.path()).has_value());
  }
  EXPECT_FALSE(RunClaim::is_held(dir.path()));
  EXPECT_TRUE(RunClaim::try_claim(dir.path()).has_value());
}

TEST(SlurmOptions, CheckedWhereFbnetCanAndPassedThroughWhereItCannot) {
  const SlurmOptions file = read_slurm_options(
      {{"partition", "gpu-long_2"}, {"time", 90}, {"mem", "8G"}, {"sbatch", {"--qos=long", "--constraint=\"a|b\""}}},
      "g.toml: [slurm] ");
  EXPECT_EQ(file.partition, "gpu-long_2");
  EXPECT_EQ(file.time, "90");
  EXPECT_EQ(file.sbatch, (std::vector<std::string>{"--qos=long", "--constraint=\"a|b\""}));
  const SlurmOptions flags = read_slurm_options({{"time", "1-12:00"}, {"array-size", 8}, {"sbatch", {"--nice=10"}}}, "--");
  const SlurmOptions combined = combine_slurm_options(file, flags);
  EXPECT_EQ(combined.time, "1-12:00");
  EXPECT_EQ(combined.partition, "gpu-long_2");
  EXPECT_EQ(combined.array_size, 8);
  EXPECT_EQ(combined.sbatch, (std::vector<std::string>{"--qos=long", "--constraint=\"a|b\"", "--nice=10"}));
  const std::pair<nlohmann::json, const char*> bad[] = {
      {{{"time", "90min"}}, "--time: '90min' is not a Slurm time limit"},
      {{{"time", "1:2:3:4"}}, "--time: '1:2:3:4' is not a Slurm time limit"},
      {{{"mem", "4GB"}}, "--mem: '4GB' is not a Slurm memory size"},
      {{{"array-size", 0}}, "--array-size: expected a whole number of at least 1, got 0"},
      {{{"cpus-per-task", "2"}}, "--cpus-per-task: expected a whole number of at least 1, got \"2\""},
      {{{"partition", "a b"}}, "--partition: 'a b' is not a Slurm partition name"},
      {{{"account", "x\n#SBATCH --mem=1"}}, "--account: 'x\n#SBATCH --mem=1' holds a line break"},
      {{{"sbatch", {"qos=long"}}}, "--sbatch: 'qos=long' is not an sbatch option"},
      {{{"partiton", "a"}}, "--partiton: not a Slurm option of fbnet grid; expected one of array-size"},
  };
  for (const auto& c : bad)  // not a structured binding: clang 14 cannot capture those
    testing::expect_error([&] { read_slurm_options(c.first, "--"); }, c.second);
  testing::expect_error([&] { read_slurm_options({{"time", "soon"}}, "g.toml: [slurm] "); },
                        "g.toml: [slurm] time: 'soon'");
}

TEST(Grid, MalformedGridsNameTheProblem) {
  const struct {
    nlohmann::json grid;
    const char* message;
  } cases[] = {
      {{{"learning_rate", {0.1, 0.2}}}, "unknown setting 'learning_rate'"},
      {{{"learning-rate", nlohmann::json::array()}}, "list for 'learning-rate' is empty"},
      {{{"learning-rate", {0.1, -1}}}, "--learning-rate"},
      {{{"grid", 3}}, "'grid' must be a list"},
      {{{"grid", {1, 2}}}, "table of settings"},
      // A setting the run's optimiser would ignore, refused before any run starts.
      {{{"optimizer", {"sgd", "adam"}}, {"momentum", 0.9}},
       "g.toml: configuration 2: --momentum: SGD's setting, which --optimizer adam does not use"},
  };
  for (const auto& c : cases) {
    try {
      expand_grid(c.grid, "g.toml");
      ADD_FAILURE() << c.grid.dump() << ": no error";
    } catch (const Error& error) {
      EXPECT_NE(std::string(error.what()).find(c.message), std::string::npos) << error.what();
    }
  }
  EXPECT_EQ(parse_shard("2/4"), (std::pair<int, int>{1, 4}));
  EXPECT_THROW(parse_shard("0/4"), Error);
  EXPECT_THROW(parse_shard("5/4"), Error);
  EXPECT_THROW(parse_shard("2of4"), Error);
}

TEST(Grid, AWorkerThatCannotStartSaysSoInItsLog) {
  // (The grid marks such a run failed and points to this log; it was empty.)
  testing::TempDir dir;
  const std::string log = dir.file("log.txt"), missing = dir.file("no-such-fbnet");
  const std::string not_executable = dir.file("not-executable");
  std::ofstream(not_executable) << "data\n";
  std::vector<ChildResult> results;
  run_child_jobs({ChildJob{{missing, "train"}, log, "", -1}, ChildJob{{missing}, log, dir.file("absent"), -1},
                  ChildJob{{not_executable}, log, "", -1}},
                 1, [&](size_t, const ChildResult& result) { results.push_back(result); });
  ASSERT_EQ(results.size(), 3u);
  EXPECT_EQ(results[0].exit_code, 127);  // the shell's codes: 127 not found, 126 found but not run
  EXPECT_EQ(results[1].exit_code, 126);
  EXPECT_EQ(results[2].exit_code, 126);
  std::ifstream file(log);
  const std::string text{std::istreambuf_iterator<char>(file), std::istreambuf_iterator<char>()};
  EXPECT_NE(text.find("cannot run " + missing + ": No such file or directory"), std::string::npos) << text;
  EXPECT_NE(text.find("cannot enter " + dir.file("absent") + " to run " + missing + ": No such file or directory"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("cannot run " + not_executable + ": Permission denied"), std::string::npos) << text;
}

}  // namespace
}  // namespace fbnet
