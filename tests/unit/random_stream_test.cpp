// Every consumer of randomness names its stream id beside its own code; two
// consumers sharing an id would draw correlated numbers. The ids in use must
// be distinct.
#include <gtest/gtest.h>

#include <set>

#include "data/dataset.hpp"
#include "data/sequences.hpp"
#include "data/transforms.hpp"
#include "model/model.hpp"
#include "train/interventions.hpp"
#include "train/training_loop.hpp"

namespace fbnet {
namespace {

TEST(RandomStreams, AreDistinct) {
  const uint64_t streams[] = {kInitStream,          kShuffleStream,         kDropoutStream,
                              kValidationSplitStream, kNoiseStream,         kAllowedSequenceStream,
                              kTrainSequenceStream,  kHoldoutSplitStream,   kTestSequenceStream,
                              kValidationSequenceStream, kSwapPartnerStream, kOcclusionStream};
  EXPECT_EQ(std::set<uint64_t>(std::begin(streams), std::end(streams)).size(), std::size(streams));
}

}  // namespace
}  // namespace fbnet
