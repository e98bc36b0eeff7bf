// Data and script files for gnuplot, and the gnuplot process.
#include "experiments/figures.hpp"

#include <filesystem>

#include <fmt/format.h>

#include "engine/error.hpp"
#include "experiments/process_pool.hpp"
#include "train/atomic_file.hpp"

namespace fbnet {
namespace {

std::string quoted(const std::string& text) {
  std::string out = "'";
  for (char c : text) out += c == '\'' ? std::string("''") : std::string(1, c);
  return out + "'";
}

}  // namespace

void draw_figure(const Figure& figure) {
  const std::string name = std::filesystem::path(figure.stem).filename().string();
  std::string data;
  for (const Series& series : figure.series) {
    data += fmt::format("# {}\n", series.title);
    for (size_t i = 0; i < series.x.size(); ++i)
      data += series.error.empty() ? fmt::format("{} {}\n", series.x[i], series.y[i])
                                   : fmt::format("{} {} {}\n", series.x[i], series.y[i], series.error[i]);
    data += "\n\n";  // gnuplot's separator between indexed data sets
  }
  write_file_atomic(figure.stem + ".dat", data);

  std::string plot = "plot ";
  for (size_t i = 0; i < figure.series.size(); ++i) {
    const Series& series = figure.series[i];
    plot += fmt::format("{}{} index {} using 1:2{} with {} lw 2 title {}", i ? ", \\\n     " : "",
                        quoted(name + ".dat"), i, series.error.empty() ? "" : ":3",
                        series.error.empty() ? "lines" : "yerrorlines", quoted(series.title));
  }
  std::string script = fmt::format(
      "# Drawn by fbnet; edit and run `gnuplot {}.gp` in this folder to restyle.\n"
      "set title {}\nset xlabel {}\nset ylabel {}\nset grid\nset key bottom left\n",
      name, quoted(figure.title), quoted(figure.x_label), quoted(figure.y_label));
  script += fmt::format("set terminal pngcairo size 900,600 font 'sans,11'\nset output {}\n{}\n", quoted(name + ".png"), plot);
  script += fmt::format("set terminal svg size 900,600 dynamic\nset output {}\n{}\n", quoted(name + ".svg"), plot);
  write_file_atomic(figure.stem + ".gp", script);

  // gnuplot runs in the figure's folder so that the script works there as it is.
  const std::string folder = std::filesystem::path(figure.stem).parent_path().string();
  ChildResult result;
  const std::string log = std::filesystem::absolute(figure.stem + ".log").string();
  run_child_jobs({{{"gnuplot", name + ".gp"}, log, folder.empty() ? "." : folder}}, 1,
                 [&](size_t, const ChildResult& r) { result = r; });
  FBNET_CHECK(result.signal == 0 && result.exit_code != 127,
              "cannot run gnuplot to draw {}.png: install Debian's gnuplot-nox (scripts/setup does)", figure.stem);
  FBNET_CHECK(result.exit_code == 0, "gnuplot failed on {}.gp; see {}.log", figure.stem, figure.stem);
}

}  // namespace fbnet
