// Launchers of the non-GEMM stages of the pipeline (kernels.cu) and of prepare's
// layout conversion. Each returns the launch's cudaError_t.
#pragma once
#include <cuda_bf16.h>
#include <cuda_runtime.h>

#include <cstdint>

namespace moe {

struct RoutingParams {
  const void* logits;  // [T][E] float32 or bf16 bits
  int logitsBf16;
  const void* bias;  // [E] float32 or bf16 bits, or null
  int biasBf16;
  int T, E, topK;
  int method;  // Routing enum
  int nGroup, topkGroup;
  float routedScalingFactor;
  int32_t* ids;    // [T][topK]
  float* weights;  // [T][topK]
  int fault;
};
cudaError_t launchRouting(const RoutingParams& p, cudaStream_t s);

struct PermuteParams {
  const int32_t* ids;  // [slots]
  int64_t slots;       // T·topK
  int localOffset, El;
  int chunk;           // slots per chunk
  int numChunks;
  int* chunkCounts;    // [numChunks][El] counts, then offsets within the expert
  int* expertCount;    // [El]
  int* expertStart;    // [El]
  int* tileStart;      // [El + 1]
  int* numTiles;       // [1]
  int* permSlot;       // [slots] (first sum(expertCount) entries used)
  int tileTokens;
  int fault;
};
// Counting sort of the local slots by expert, order within an expert by slot index,
// and the tile schedule for tileTokens. Deterministic.
cudaError_t launchPermute(const PermuteParams& p, cudaStream_t s);

// x̂ = q·s (no global scale) as bf16 [T][H]: format 0 NVFP4 (packed, e4m3 scales /16),
// 1 MXFP8 (e4m3 bytes, ue8m0 scales /32).
cudaError_t launchDequantHidden(int format, const uint8_t* data, const uint8_t* scales, int64_t T, int H,
                                __nv_bfloat16* out, cudaStream_t s);

struct FinalizeParams {
  const int32_t* ids;
  const float* weights;
  int useWeights;  // 0 for llama4 (weight applied before FC1)
  const float* y;  // [slots][H] scaled, or [S][slots][H] partials
  int splitSlices; // 0: y holds scaled rows; S > 0: partials to reduce in slice order, then scale
  const float* out2Scale;
  const int* slotP;  // MXFP8: split-K sums are multiplied by 2^-P of the slot before out2Scale (null: none)
  int T, H, topK, localOffset, El;
  uint16_t* out;  // [T][H] bf16
  int fault;
  int runIndex;
};
cudaError_t launchFinalize(const FinalizeParams& p, cudaStream_t s);

cudaError_t launchFill16(uint16_t* dst, int64_t n, uint16_t value, cudaStream_t s);

// Prepare: canonical FP4 rows [rows][K/2] + linear scales [rows][K/sf] of `rows` rows
// -> prepared layout (weight_layout.cuh: groups of 16 rows interleaved per pair of 64-element K
// tiles, 32 permuted bytes and a 4-byte scale word per (row, K tile)); rows: a multiple of 16.
cudaError_t launchRepackWeights(const uint8_t* data, const uint8_t* scales, int64_t rows, int K, int sf,
                                uint8_t* outData, uint8_t* outScales, cudaStream_t s);

}  // namespace moe
