// Tensor indexing beyond matrices: a row is one sample of any rank, and
// asking a non-matrix for its columns is a bug, not a silent 1.
#include <gtest/gtest.h>

#include "engine/tensor.hpp"

namespace fbnet {
namespace {

TEST(Tensor, RowsOfAnyRankAreSamples) {
  Tensor<float> images({2, 3, 4, 5});  // [N, C, H, W]
  EXPECT_EQ(images.row_size(), 60);
  EXPECT_EQ(images.row(1) - images.data(), 60);
  EXPECT_THROW(images.cols(), InternalError);
  Tensor<float> matrix({4, 7});
  EXPECT_EQ(matrix.cols(), 7);
  EXPECT_EQ(matrix.row(3) - matrix.data(), 21);
}

}  // namespace
}  // namespace fbnet
