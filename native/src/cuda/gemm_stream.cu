// The decode GEMM instantiations (config 3): FC1 and FC2 for tileTokens 8 and 16.
#include "../tactics.h"
#include "gemm_dispatch.h"
#include "gemm_stream.cuh"

namespace moe {

static_assert(StreamSmem<16>::kTotal <= kMaxSharedMemory, "stream tile exceeds shared memory");

// FC1 split over K (grid.z > 1 slices: streamFc1Slices) sums its partial tiles in slice order.
cudaError_t launchFc1Stream(int tileTokens, const GemmParams& p, dim3 grid, cudaStream_t s) {
  const bool split = grid.z > 1;
  switch (tileTokens) {
    case 8: return split ? launchMoeStream<8, kGemmFc1, true>(p, grid, s) : launchMoeStream<8, kGemmFc1>(p, grid, s);
    case 16: return split ? launchMoeStream<16, kGemmFc1, true>(p, grid, s) : launchMoeStream<16, kGemmFc1>(p, grid, s);
    default: return cudaErrorInvalidValue;
  }
}

// FC2 split over K (p.splitSlices > 0, grid.z slices: streamFc2Slices in tactics.cc) writes
// float32 partials that finalize sums in slice order, as config 2 does.
cudaError_t launchFc2Stream(int tileTokens, const GemmParams& p, dim3 grid, cudaStream_t s) {
  const bool split = p.splitSlices > 0;
  switch (tileTokens) {
    case 8: return split ? launchMoeStream<8, kGemmFc2Split>(p, grid, s) : launchMoeStream<8, kGemmFc2>(p, grid, s);
    case 16: return split ? launchMoeStream<16, kGemmFc2Split>(p, grid, s) : launchMoeStream<16, kGemmFc2>(p, grid, s);
    default: return cudaErrorInvalidValue;
  }
}

}  // namespace moe
