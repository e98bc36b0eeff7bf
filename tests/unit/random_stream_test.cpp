// Every consumer of randomness names its stream id beside its own code; two
// consumers sharing an id would draw correlated numbers. The ids in use must
// be distinct. And a stream can be entered n draws on (Rng::jumped), as
// threads that split one stream's draws do.
#include <gtest/gtest.h>

#include <iterator>
#include <set>
#include <vector>

#include "data/dataset.hpp"
#include "data/sequences.hpp"
#include "data/transforms.hpp"
#include "engine/random.hpp"
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

// jumped(n) is the generator n draws later, for offsets around a word of the
// jump polynomial's bits and far past them; jumps compose.
TEST(RandomStreams, AJumpOfNDrawsLandsWhereNDrawsDo) {
  for (const uint64_t n : {0, 1, 2, 63, 64, 65, 255, 256, 257, 1000, 31999, 100352}) {
    Rng drawn(5, kDropoutStream, 3);
    for (uint64_t i = 0; i < n; ++i) drawn.next();
    Rng jumped = Rng(5, kDropoutStream, 3).jumped(n);
    for (int i = 0; i < 8; ++i) ASSERT_EQ(jumped.next(), drawn.next()) << "n = " << n << ", draw " << i;
  }
  Rng twice = Rng(9).jumped(700).jumped(300), once = Rng(9).jumped(1000);
  EXPECT_EQ(twice.next(), once.next());
}

// Parts of one stream drawn from jumps to their starts (as dropout's threads
// draw a mask) are the stream drawn in order; this runs in every build, with
// or without threads.
TEST(RandomStreams, PartsDrawnFromJumpsAreTheStreamInOrder) {
  constexpr uint64_t kDraws = 52300;
  Rng in_order(3, kDropoutStream, 1);
  std::vector<uint64_t> stream(kDraws);
  for (uint64_t& draw : stream) draw = in_order.next();
  const Rng start(3, kDropoutStream, 1);
  const uint64_t part_starts[] = {0, 1, 16, 26160, 40000, kDraws};
  for (size_t part = 0; part + 1 < std::size(part_starts); ++part) {
    Rng local = start.jumped(part_starts[part]);
    for (uint64_t i = part_starts[part]; i < part_starts[part + 1]; ++i)
      ASSERT_EQ(local.next(), stream[i]) << "draw " << i << " of the part from " << part_starts[part];
  }
}

}  // namespace
}  // namespace fbnet
