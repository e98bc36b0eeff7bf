// Grid expansion: axes, sub-grids over shared settings, stable ids, paths
// relative to the grid file, and errors.
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <map>
#include <set>

#include "config/config.hpp"
#include "engine/error.hpp"
#include "engine/hash.hpp"
#include "experiments/grid.hpp"
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

TEST(Grid, PathsAreRelativeToTheGridFileAndIdsKeepTheFilesSpelling) {
  const nlohmann::json grid = {{"data-dir", "data"}, {"learning-rate", {0.01, 0.02}}};
  const auto here = expand_grid(grid, "/srv/grids/g.toml");
  const auto elsewhere = expand_grid(grid, "/home/me/g.toml");
  ASSERT_EQ(here.size(), 2u);
  EXPECT_EQ(here[1].settings["data-dir"], "/srv/grids/data");
  EXPECT_EQ(elsewhere[1].settings["data-dir"], "/home/me/data");
  // Ids hash the file as written, as before paths were resolved: an existing grid folder keeps its runs.
  EXPECT_EQ(here[1].id, elsewhere[1].id);
  EXPECT_EQ(here[1].id, fmt::format("0001-{:08x}", fnv1a(nlohmann::ordered_json({{"data-dir", "data"}, {"learning-rate", 0.02}}).dump()) &
                                                       0xffffffffULL));
  // Each value of a path axis is resolved.
  const auto axis = expand_grid({{"data-dir", {"a", "/b"}}}, "/srv/g.toml");
  EXPECT_EQ(axis[0].settings["data-dir"], "/srv/a");
  EXPECT_EQ(axis[1].settings["data-dir"], "/b");
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

}  // namespace
}  // namespace fbnet
