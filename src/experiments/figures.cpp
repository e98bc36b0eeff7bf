// Data and script files for gnuplot, and the gnuplot process.
#include "experiments/figures.hpp"

#include <algorithm>
#include <cmath>
#include <filesystem>

#include <fmt/format.h>

#include "data/transforms.hpp"
#include "engine/error.hpp"
#include "experiments/process_pool.hpp"
#include "formats/atomic_file.hpp"

namespace fbnet {
namespace {

std::string quoted(const std::string& text) {
  std::string out = "'";
  for (char c : text) out += c == '\'' ? std::string("''") : std::string(1, c);
  return out + "'";
}

// One gnuplot `matrix` data block: rows of pixel values, then the separator.
std::string image_block(const Image& image) {
  FBNET_CHECK(static_cast<int64_t>(image.pixels.size()) == image.rows * image.cols,
              "figure image '{}': {} pixels for {}x{}", image.caption, image.pixels.size(), image.rows, image.cols);
  std::string block;
  for (int64_t r = 0; r < image.rows; ++r) {
    for (int64_t c = 0; c < image.cols; ++c) block += fmt::format("{}{:.4g}", c ? " " : "", image.pixels[r * image.cols + c]);
    block += "\n";
  }
  return block + "\n\n";
}

// Writes STEM.gp and runs gnuplot on it in the figure's folder, so that the
// script works there as it is.
void run_gnuplot(const std::string& stem, const std::string& script) {
  write_file_atomic(stem + ".gp", script);
  const std::string name = std::filesystem::path(stem).filename().string();
  const std::string folder = std::filesystem::path(stem).parent_path().string();
  ChildResult result;
  const std::string log = std::filesystem::absolute(stem + ".log").string();
  run_child_jobs({{{"gnuplot", name + ".gp"}, log, folder.empty() ? "." : folder}}, 1,
                 [&](size_t, const ChildResult& r) { result = r; });
  FBNET_CHECK(result.signal == 0 && result.exit_code != 127,
              "cannot run gnuplot to draw {}.png: install Debian's gnuplot-nox (scripts/setup does)", stem);
  FBNET_CHECK(result.exit_code == 0, "gnuplot failed on {}.gp; see {}.log", stem, stem);
}

}  // namespace

Image input_image(const float* row, const Shape& image_shape, std::string caption) {
  FBNET_ASSERT(image_shape.size() == 2 || image_shape.size() == 3, "input_image: shape {} is not [rows, cols] or "
               "[channels, rows, cols]", shape_string(image_shape));
  Image image;
  for (int64_t i = 0; i < element_count(image_shape); ++i)
    image.pixels.push_back(static_cast<float>((row[i] * kNormalizeStd + kNormalizeMean) * 255.0));
  image.cols = image_shape.back();
  image.rows = element_count(image_shape) / image.cols;
  image.caption = std::move(caption);
  return image;
}

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
      "set title {}\nset xlabel {}\nset ylabel {}\nset grid\nset key {}\n",
      name, quoted(figure.title), quoted(figure.x_label), quoted(figure.y_label), figure.key);
  script += fmt::format("set terminal pngcairo size 900,600 font 'sans,11'\nset output {}\n{}\n", quoted(name + ".png"), plot);
  script += fmt::format("set terminal svg size 900,600 dynamic\nset output {}\n{}\n", quoted(name + ".svg"), plot);
  run_gnuplot(figure.stem, script);
}

void draw_bar_figure(const BarFigure& figure) {
  const std::string name = std::filesystem::path(figure.stem).filename().string();
  std::string data;
  int block = 0;
  const bool any_strip = std::any_of(figure.panels.begin(), figure.panels.end(),
                                     [](const BarPanel& panel) { return !panel.strip.empty(); });
  const double width = 1.0 / static_cast<double>(figure.panels.size());
  const double bars_height = any_strip ? 0.78 : 0.95;
  std::string body;
  for (size_t p = 0; p < figure.panels.size(); ++p) {
    const BarPanel& panel = figure.panels[p];
    const double left = width * static_cast<double>(p);
    // The image strip: one small square plot per image, across the panel's top.
    for (size_t i = 0; i < panel.strip.size(); ++i) {
      const double image_width = width / static_cast<double>(panel.strip.size());
      body += fmt::format("set size {:.4f},0.16\nset origin {:.4f},0.80\n", image_width, left + image_width * static_cast<double>(i));
      body += "unset key\nunset colorbox\nunset xtics\nunset ytics\nunset border\nunset grid\nunset title\n"
              "unset xlabel\nunset ylabel\nset lmargin 0.5\nset rmargin 0.5\nset tmargin 0.5\nset bmargin 0.5\n"
              "set yrange [*:*] reverse\nset xrange [*:*]\nset palette gray\nset autoscale cbfix\n";
      body += fmt::format("set label 1 {} at graph 0.5, graph -0.08 center font ',9'\n", quoted(panel.strip[i].caption));
      body += fmt::format("plot {} index {} matrix with image\nunset label 1\n", quoted(name + ".dat"), block++);
      data += image_block(panel.strip[i]);
    }
    body += fmt::format("set size {:.4f},{:.4f}\nset origin {:.4f},0\n", width, bars_height, left);
    // Headroom above 100 % for the key, so that it never covers a bar.
    body += "set yrange [0:116] noreverse\nset xrange [*:*]\nset border\nset ytics 0,20,100\nset xtics nomirror\n"
            "set lmargin 8\nset rmargin 1\nset tmargin 2\nset bmargin 3\nset key top center horizontal font ',9'\n"
            "set grid ytics\n"
            "set style data histogram\nset style histogram errorbars gap 1 lw 1\nset style fill solid 0.8 border -1\n"
            "set boxwidth 0.9\n";
    body += fmt::format("set title {}\nset ylabel {}\nset xlabel {}\n", quoted(panel.title),
                        p == 0 ? quoted(figure.y_label) : "''", quoted(figure.x_label));
    data += fmt::format("# {}: category", panel.title);
    for (const Series& series : panel.series) data += fmt::format(" | {} mean, error", series.title);
    data += "\n";
    for (size_t c = 0; c < panel.categories.size(); ++c) {
      data += "\"" + panel.categories[c] + "\"";  // a data file quotes strings with double quotes
      for (const Series& series : panel.series)
        data += fmt::format(" {} {}", series.y.at(c), series.error.empty() ? 0.0 : series.error.at(c));
      data += "\n";
    }
    data += "\n\n";
    std::string plot = "plot ";
    for (size_t k = 0; k < panel.series.size(); ++k)
      plot += fmt::format("{}{} index {} using {}:{}{} title {}", k ? ", " : "", quoted(name + ".dat"), block,
                          2 + 2 * k, 3 + 2 * k, k == 0 ? ":xtic(1)" : "", quoted(panel.series[k].title));
    body += plot + "\n";
    ++block;
  }
  write_file_atomic(figure.stem + ".dat", data);
  const double height = any_strip ? 620 : 480;
  const double pixel_width = 480.0 * static_cast<double>(figure.panels.size());
  std::string script = fmt::format("# Drawn by fbnet; edit and run `gnuplot {}.gp` in this folder to restyle.\n", name);
  for (const auto& [terminal, extension] : {std::pair{"pngcairo", "png"}, std::pair{"svg", "svg"}})
    script += fmt::format("set terminal {} size {},{}{}\nset output {}\nset multiplot title {}\n{}unset multiplot\n"
                          "reset\n",
                          terminal, pixel_width, height, std::string(terminal) == "svg" ? " dynamic" : " font 'sans,10'",
                          quoted(name + "." + extension), quoted(figure.title), body);
  run_gnuplot(figure.stem, script);
}

void draw_image_grid(const ImageGrid& grid) {
  FBNET_CHECK(grid.columns >= 1 && !grid.images.empty(), "draw_image_grid: nothing to draw");
  const std::string name = std::filesystem::path(grid.stem).filename().string();
  const int rows = static_cast<int>((grid.images.size() + grid.columns - 1) / grid.columns);
  std::string data, body;
  for (size_t i = 0; i < grid.images.size(); ++i) {
    data += image_block(grid.images[i]);
    body += fmt::format("set label 1 {} at graph 0.5, graph 1.06 center font ',8'\n"
                        "plot {} index {} matrix with image\nunset label 1\n",
                        quoted(grid.images[i].caption), quoted(name + ".dat"), i);
  }
  write_file_atomic(grid.stem + ".dat", data);
  const std::string setup = "unset key\nunset colorbox\nunset xtics\nunset ytics\nunset border\nset yrange [*:*] reverse\n"
                            "set palette gray\nset autoscale cbfix\nset size ratio -1\n";
  std::string script = fmt::format("# Drawn by fbnet; edit and run `gnuplot {}.gp` in this folder to restyle.\n", name);
  const int width = 110 * grid.columns, height = 120 * rows + 40;
  for (const auto& [terminal, extension] : {std::pair{"pngcairo", "png"}, std::pair{"svg", "svg"}})
    script += fmt::format("set terminal {} size {},{}{}\nset output {}\nset multiplot layout {},{} title {} "
                          "margins 0.02,0.98,0.02,{:.3f} spacing 0.01,0.04\n{}{}unset multiplot\nreset\n",
                          terminal, width, height, std::string(terminal) == "svg" ? " dynamic" : " font 'sans,10'",
                          quoted(name + "." + extension), rows, grid.columns, quoted(grid.title),
                          1.0 - 40.0 / height, setup, body);
  run_gnuplot(grid.stem, script);
}

}  // namespace fbnet
