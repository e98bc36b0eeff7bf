// Figures drawn by gnuplot (Debian's gnuplot-nox), as PNG and SVG: fbnet
// writes the data and a script beside the images, so a figure can be
// restyled by editing the script and running gnuplot again.
#pragma once

#include <string>
#include <vector>

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
};

// Throws fbnet::Error when gnuplot is missing or fails (its log is STEM.log).
void draw_figure(const Figure& figure);

}  // namespace fbnet
