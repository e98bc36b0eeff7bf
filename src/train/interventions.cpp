// Swap partners, signal means and the evaluation of each intervention.
#include "train/interventions.hpp"

#include <algorithm>

namespace fbnet {

std::vector<int64_t> swap_partners(const int32_t* labels, int64_t batch, Rng& rng) {
  std::vector<int64_t> partner(batch);
  std::vector<int64_t> others;
  for (int64_t b = 0; b < batch; ++b) {
    others.clear();
    for (int64_t c = 0; c < batch; ++c)
      if (labels[c] != labels[b]) others.push_back(c);
    partner[b] = others.empty() ? b : others[rng.below(others.size())];
  }
  return partner;
}

std::vector<std::vector<Tensor<float>>> mean_signals(Network<float>& network, Batches& set, int64_t batch_size) {
  const Graph& graph = network.graph();
  std::vector<std::vector<std::vector<double>>> sums(graph.edges.size());  // [edge][step] -> [target size]
  for (size_t e = 0; e < graph.edges.size(); ++e)
    sums[e].assign(graph.steps, std::vector<double>(element_count(graph.nodes[graph.edges[e].target].shape), 0.0));
  const std::vector<int64_t> order = identity_order(set.count());
  for (int64_t begin = 0; begin < set.count(); begin += batch_size) {
    set.gather(order, begin, std::min(batch_size, set.count() - begin));
    network.forward(set.inputs(), Mode::kEval, nullptr);
    for (size_t e = 0; e < graph.edges.size(); ++e)
      for (int step = 1; step < graph.steps; ++step) {
        const Tensor<float> signal = network.feedback_signal(step, static_cast<int>(e));  // [B, target shape]
        std::vector<double>& sum = sums[e][step];
        for (int64_t b = 0; b < signal.rows(); ++b)
          for (size_t i = 0; i < sum.size(); ++i) sum[i] += signal.row(b)[i];
      }
  }
  std::vector<std::vector<Tensor<float>>> means(graph.edges.size());
  for (size_t e = 0; e < graph.edges.size(); ++e) {
    Shape shape = {1};
    for (int64_t d : graph.nodes[graph.edges[e].target].shape) shape.push_back(d);
    for (int step = 0; step < graph.steps; ++step) {
      Tensor<float>& mean = means[e].emplace_back(shape);
      for (size_t i = 0; i < sums[e][step].size(); ++i)
        mean.values[i] = static_cast<float>(sums[e][step][i] / static_cast<double>(std::max<int64_t>(set.count(), 1)));
    }
  }
  return means;
}

Evaluation evaluate_intervention(Network<float>& network, Batches& set, int64_t batch_size, InterventionKind kind,
                                 const std::vector<int>& edges, const std::vector<std::vector<Tensor<float>>>& means,
                                 uint64_t seed) {
  for (int e : edges) {
    EdgeIntervention<float> intervention;
    intervention.kind = kind;
    if (kind == InterventionKind::kMean) intervention.mean = means.at(e);
    network.set_intervention(e, std::move(intervention));  // swap: partners per batch, below
  }
  Rng rng(seed, kSwapPartnerStream);
  auto set_partners = [&](const Batches& batch) {
    const int64_t count = batch.inputs()[0]->rows();
    const std::vector<int64_t> partner = swap_partners(batch.labels().back(), count, rng);
    for (int e : edges) network.set_intervention(e, {kind, {}, partner});
  };
  const Evaluation result =
      evaluate(network, set, batch_size, kind == InterventionKind::kSwap ? set_partners : std::function<void(const Batches&)>());
  for (int e : edges) network.set_intervention(e, {});
  return result;
}

std::vector<InterventionResult> evaluate_interventions(Network<float>& network, Batches& set, int64_t batch_size,
                                                       uint64_t seed) {
  const Graph& graph = network.graph();
  std::vector<InterventionResult> results = {{InterventionKind::kNone, {}, evaluate(network, set, batch_size)}};
  if (graph.edges.empty()) return results;
  const auto means = mean_signals(network, set, batch_size);
  std::vector<std::vector<int>> edge_sets;  // all edges at once, then each alone when there are several
  edge_sets.emplace_back();
  for (size_t e = 0; e < graph.edges.size(); ++e) edge_sets.back().push_back(static_cast<int>(e));
  if (graph.edges.size() > 1)
    for (size_t e = 0; e < graph.edges.size(); ++e) edge_sets.push_back({static_cast<int>(e)});
  for (const std::vector<int>& edges : edge_sets)
    for (InterventionKind kind : {InterventionKind::kOff, InterventionKind::kMean, InterventionKind::kSwap}) {
      InterventionResult& result = results.emplace_back();
      result.kind = kind;
      for (int e : edges) result.edges.push_back(graph.edges[e].name);
      result.evaluation = evaluate_intervention(network, set, batch_size, kind, edges, means, seed);
    }
  return results;
}

}  // namespace fbnet
