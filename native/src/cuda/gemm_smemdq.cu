// The shared-memory-dequantizing GEMM instantiations (configs 4 and 5), tileTokens 64 and 128.
#include "../tactics.h"
#include "gemm_dispatch.h"
#include "gemm_smemdq.cuh"

namespace moe {

static_assert(DqSmem<128, int(TileMma::MmaSync)>::kTotal <= kMaxSharedMemory, "smem-dequant tile exceeds shared memory");
static_assert(DqSmem<128, int(TileMma::Wgmma)>::kTotal <= kMaxSharedMemory, "smem-dequant tile exceeds shared memory");

namespace {
template <int KIND, int MMA>
cudaError_t launchBt(int tileTokens, const GemmParams& p, dim3 grid, cudaStream_t s) {
  switch (tileTokens) {
    case 64: return launchMoeSmemDq<64, KIND, MMA>(p, grid, s);
    case 128: return launchMoeSmemDq<128, KIND, MMA>(p, grid, s);
    default: return cudaErrorInvalidValue;
  }
}
}  // namespace

cudaError_t launchFc1SmemDq(int tt, const GemmParams& p, dim3 g, cudaStream_t s) { return launchBt<kGemmFc1, int(TileMma::MmaSync)>(tt, p, g, s); }
cudaError_t launchFc2SmemDq(int tt, const GemmParams& p, dim3 g, cudaStream_t s) { return launchBt<kGemmFc2, int(TileMma::MmaSync)>(tt, p, g, s); }
cudaError_t launchFc1Wgmma(int tt, const GemmParams& p, dim3 g, cudaStream_t s) { return launchBt<kGemmFc1, int(TileMma::Wgmma)>(tt, p, g, s); }
cudaError_t launchFc2Wgmma(int tt, const GemmParams& p, dim3 g, cudaStream_t s) { return launchBt<kGemmFc2, int(TileMma::Wgmma)>(tt, p, g, s); }

}  // namespace moe
