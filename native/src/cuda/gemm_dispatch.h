// Entry points of the GEMM instantiations (one .cu file per (layer, config) so that
// the build compiles them in parallel).
#pragma once
#include <cuda_runtime.h>

#include "gemm.cuh"

namespace moe {

cudaError_t launchFc1Config0(int tileTokens, const GemmParams& p, dim3 grid, cudaStream_t s);
cudaError_t launchFc1Config1(int tileTokens, const GemmParams& p, dim3 grid, cudaStream_t s);
cudaError_t launchFc2Config0(int tileTokens, const GemmParams& p, dim3 grid, cudaStream_t s);
cudaError_t launchFc2Config1(int tileTokens, const GemmParams& p, dim3 grid, cudaStream_t s);
cudaError_t launchFc2Config2(int tileTokens, const GemmParams& p, dim3 grid, cudaStream_t s);

}  // namespace moe
