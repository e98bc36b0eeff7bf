// Figures drawn by gnuplot (Debian's gnuplot-nox), as PNG and SVG: fbnet
// writes the data and a script beside the images, so a figure can be
// restyled by editing the script and running gnuplot again.
#pragma once

#include <string>
#include <vector>

#include "engine/tensor.hpp"

namespace fbnet {

struct Series {
  std::string title;
  std::vector<double> x;
  std::vector<double> y;
  std::vector<double> error;  // error bars (e.g. std over seeds); empty for none
};

struct Figure {
  std::string stem;  // writes STEM.dat, STEM.gp, STEM.png, STEM.svg
  std::string title;
  std::string x_label;
  std::string y_label;
  std::vector<Series> series;
  std::string key = "bottom left";  // gnuplot's `set key` placement, e.g. "outside right top"
};

// A grayscale image [rows * cols], drawn with its own colour range.
struct Image {
  std::vector<float> pixels;
  int64_t rows = 0;
  int64_t cols = 0;
  std::string caption;
};

// A row of network input (normalised pixels of an image of `image_shape`
// [rows, cols] or [channels, rows, cols]) back as 0..255 pixel values; the
// channels of a colour image are drawn one above the other.
Image input_image(const float* row, const Shape& image_shape, std::string caption);

// Grouped bars with error bars: one group per category, one bar per series
// (series.y[i] and series.error[i] belong to categories[i]), and optionally a
// strip of images drawn above the bars.
struct BarPanel {
  std::string title;
  std::vector<std::string> categories;
  std::vector<Series> series;
  std::vector<Image> strip;
};

struct BarFigure {
  std::string stem;
  std::string title;
  std::string y_label;
  std::string x_label;           // under each panel's categories
  std::vector<BarPanel> panels;  // side by side
};

// Rows of images, e.g. each input beside the feedback the network sent into it.
struct ImageGrid {
  std::string stem;
  std::string title;
  int columns = 1;
  std::vector<Image> images;  // row-major; the last row may be short
};

// Each throws fbnet::Error when gnuplot is missing or fails (its log is STEM.log).
void draw_figure(const Figure& figure);
void draw_bar_figure(const BarFigure& figure);
void draw_image_grid(const ImageGrid& grid);

}  // namespace fbnet
