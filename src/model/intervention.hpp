// Test-time interventions on the edges of a trained net: what the controls
// measure about the feedback it sends. An intervention replaces the signal
//   s_e(t) = W_e v_source(t-1) + b_e        [B, target shape]
// that edge e combines into its target (network.hpp):
//   off   the edge does not combine at all: the target keeps its own value v,
//         not (1 - alpha) v, so the report's FB sees x alone at every pass
//   mean  s_e(t) is one fixed vector per step for every sample (the evaluator
//         passes its mean over the evaluated set): feedback as a bias
//   swap  sample b receives the signal computed from sample partner[b] (the
//         evaluator picks another image of the batch, of another class)
// Evaluation only: a training forward with an intervention set is a bug.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "engine/tensor.hpp"

namespace fbnet {

enum class InterventionKind { kNone, kOff, kMean, kSwap };

template <class Scalar>
struct EdgeIntervention {
  InterventionKind kind = InterventionKind::kNone;
  std::vector<Tensor<Scalar>> mean;  // kMean: [step] -> [1, target shape]; step 0 unused (no signal yet)
  std::vector<int64_t> partner;      // kSwap: [B] -> the sample whose signal sample b receives
};

const char* to_string(InterventionKind kind);
// Throws fbnet::Error naming `what` and the spellings (none, off, mean, swap).
InterventionKind parse_intervention_kind(const std::string& text, const std::string& what);

}  // namespace fbnet
