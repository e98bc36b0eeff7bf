// Which nodes of a graph keep their values in channel blocks
// (kernels/activation_layout.hpp) rather than plain NCHW: the spatial nodes
// with whole blocks of 16 channels whose every reader takes blocks. Then
// oneDNN's convolutions read and write them without a reorder each way, and
// only the image (an input, always plain) and a Flatten change layout.
//   blocks-capable ops  Conv2d (either layout in, either out), ReLU and
//                       MaxPool2d (their input's layout), Flatten (reads
//                       either, writes plain), conv adapters (source and
//                       target in either)
// A node read by anything else (Linear, Dropout, a Linear adapter) stays
// plain, and so do the ReLU and pooling nodes whose layout it would share.
// (Dropout draws its mask in element order, and dropout_mask() hands it out as
// [B, shape]: in blocks, the same seed would drop other values.)
#pragma once

#include <vector>

#include "model/graph.hpp"
#include "model/kernels/activation_layout.hpp"

namespace fbnet {

// One layout per node: all plain unless `channel_blocks` (float32 on oneDNN's
// convolutions where they use blocks: Network decides).
std::vector<ActivationLayout> choose_activation_layouts(const Graph& graph, bool channel_blocks);

}  // namespace fbnet
