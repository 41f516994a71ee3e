// The warp-specialized GEMM instantiations (config 6), tileTokens 64 and 128.
#include "../tactics.h"
#include "gemm_dispatch.h"
#include "gemm_ws.cuh"

namespace moe {

static_assert(WsSmem<64>::kTotal <= kMaxSharedMemory, "warp-specialized tile exceeds shared memory");
static_assert(WsSmem<128>::kTotal <= kMaxSharedMemory, "warp-specialized tile exceeds shared memory");
static_assert(WsSmem<64>::kTotal == wsSharedMemoryBytes(64) && WsSmem<128>::kTotal == wsSharedMemoryBytes(128),
              "tactics.h's wsSharedMemoryBytes (host validity) must equal the kernel's layout");

namespace {
template <int KIND>
cudaError_t launchBt(int tileTokens, const GemmParams& p, dim3 grid, cudaStream_t s) {
  switch (tileTokens) {
    case 64: return launchMoeWs<64, KIND>(p, grid, s);
    case 128: return launchMoeWs<128, KIND>(p, grid, s);
    default: return cudaErrorInvalidValue;
  }
}
}  // namespace

cudaError_t launchFc1Ws(int tt, const GemmParams& p, dim3 g, cudaStream_t s) { return launchBt<kGemmFc1>(tt, p, g, s); }
cudaError_t launchFc2Ws(int tt, const GemmParams& p, dim3 g, cudaStream_t s) { return launchBt<kGemmFc2>(tt, p, g, s); }

}  // namespace moe
