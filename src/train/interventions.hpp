// The test-time interventions of model/intervention.hpp as evaluations of a
// trained net over a whole set. They say whether its feedback carries
// image-specific information (swap hurts while mean does not), acts as a
// fixed bias (mean matches the unchanged net), or is not needed (off).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "engine/random.hpp"
#include "model/intervention.hpp"
#include "model/network.hpp"
#include "train/evaluate.hpp"

namespace fbnet {

// The random stream of swap partners (engine/random.hpp lists every stream).
inline constexpr uint64_t kSwapPartnerStream = 11;

// For each sample b of a batch, a sample of another class drawn uniformly, or
// b itself when every sample of the batch has b's class. labels: [batch].
std::vector<int64_t> swap_partners(const int32_t* labels, int64_t batch, Rng& rng);

// [edge][step] -> the mean over `set` of what the edge sends, W v_source(t-1) + b,
// as [1, target shape]; zero at step 0, where nothing has fired yet.
std::vector<std::vector<Tensor<float>>> mean_signals(Network<float>& network, Batches& set, int64_t batch_size);

// `kind` on the edges `edges` (indices) at once, over `set`: means from
// mean_signals of the same set, swap partners from Rng(seed, kSwapPartnerStream)
// by the labels of the last readout. The network is left unchanged.
Evaluation evaluate_intervention(Network<float>& network, Batches& set, int64_t batch_size, InterventionKind kind,
                                 const std::vector<int>& edges, const std::vector<std::vector<Tensor<float>>>& means,
                                 uint64_t seed);

struct InterventionResult {
  InterventionKind kind = InterventionKind::kNone;
  std::vector<std::string> edges;  // names of the edges intervened on; empty for the unchanged net
  Evaluation evaluation;
};

// The unchanged net ("none"), then off, mean and swap on all its edges at
// once and, when it has several, on each edge alone. A net without edges
// gets only "none".
std::vector<InterventionResult> evaluate_interventions(Network<float>& network, Batches& set, int64_t batch_size,
                                                       uint64_t seed);

}  // namespace fbnet
