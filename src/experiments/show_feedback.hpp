// The feedback figure of experiment 2: for a few test sequences of a trained
// feedback net (an `fbnet sequence --net fb` run), each input image beside
// the feedback the network sent into it, i.e. the input it expected at that
// position given the images before, with the true and predicted classes.
#pragma once

#include <string>

#include "train/sequence_data.hpp"

namespace fbnet {

struct FeedbackFigureOptions {
  std::string run_folder;
  SequenceCondition condition = SequenceCondition::kNormal;  // a test condition
  int count = 4;                                             // sequences drawn
  std::string out;  // figure path without extension ("": RUN/figures/feedback-CONDITION)
};

// Draws OUT.png and OUT.svg; returns OUT.
std::string draw_feedback_figure(const FeedbackFigureOptions& options);

}  // namespace fbnet
