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
cudaError_t launchFc1Stream(int tileTokens, const GemmParams& p, dim3 grid, cudaStream_t s);  // config 3
cudaError_t launchFc2Stream(int tileTokens, const GemmParams& p, dim3 grid, cudaStream_t s);  // config 3
cudaError_t launchFc1SmemDq(int tileTokens, const GemmParams& p, dim3 grid, cudaStream_t s);  // config 4
cudaError_t launchFc2SmemDq(int tileTokens, const GemmParams& p, dim3 grid, cudaStream_t s);  // config 4
cudaError_t launchFc1Wgmma(int tileTokens, const GemmParams& p, dim3 grid, cudaStream_t s);   // config 5
cudaError_t launchFc2Wgmma(int tileTokens, const GemmParams& p, dim3 grid, cudaStream_t s);   // config 5
cudaError_t launchFc1Ws(int tileTokens, const GemmParams& p, dim3 grid, cudaStream_t s);      // config 6
cudaError_t launchFc2Ws(int tileTokens, const GemmParams& p, dim3 grid, cudaStream_t s);      // config 6

using GemmLauncher = cudaError_t (*)(int tileTokens, const GemmParams& p, dim3 grid, cudaStream_t s);
// FC1 and FC2 launchers of one config (engine.cu holds the table, indexed by config).
struct ConfigLaunchers {
  GemmLauncher fc1, fc2;
};

}  // namespace moe
