// The warp-specialized large-T GEMM (config 6, "w128-ws"): config 5's tiles (128 weight rows x
// BT = 64 or 128 tokens, each K step's FP4 weight tile dequantized ONCE per CTA into a
// 128B-swizzled bf16 tile, wgmma m64nBTk16 from shared-memory descriptors, fp32 accumulators),
// with the work split between warps instead of every warp doing everything in turn:
//   producers (warps 0-7, 256 threads): cp.async copies of the raw weights and the tokens of
//     step i + L, then the dequantization of step i (config 5's mapping: thread t takes half t % 2
//     of raw row t / 2), into rings of stages;
//   consumers (warps 8-15, two warpgroups of 64 weight rows): wgmma on step i while the producers
//     dequantize the steps after it.
// Why (native/NOTES.md, run 5 and "Large T after run 5"): config 5 runs the dequantization and
// the wgmma issue on the same warps with two CTA-wide barriers per step; ncu put its SM
// throughput at 55 % with the tensor cores far from busy. Here no CTA-wide barrier is in the main
// loop: the two roles hand stages over through mbarriers, so the tensor cores wait only when the
// producers fall behind.
//
// Rings (S = WsSmem<BT>): TS stages of tokens [BT][64] bf16 and raw weights (32 data bytes per row,
// then 4 scale bytes per row), DS bf16 tiles [128][64]. Step i uses token/raw stage i % TS and
// tile i % DS. Barriers (shared-memory mbarriers, phase k of a slot = its k-th use):
//   full[i % DS]     256 producer arrivals: step i's tile is written and its tokens have landed
//                    (each producer waits for its own copies, fences them and its stores into the
//                    async proxy, fence.proxy.async, then arrives: release);
//   dqFree[i % DS]   256 consumer arrivals: step i's wgmma have completed (wgmma.wait_group), so
//                    its tile and its token stage may be overwritten;
//   tokFree[i % TS]  the same 256 arrivals, for the token/raw stage.
// Producer iteration i: (1) wait tokFree for step i + L - TS, copy step i + L into its stage
// (commit a group every iteration, empty or not); (2) wait for its own copies of step i
// (cp.async.wait_group L) and __syncwarp (the scale word of row r is copied by thread 2r and read
// by 2r and 2r + 1, both in one warp); (3) wait dqFree for step i - DS; dequantize step i into
// tile i % DS; fence; arrive full. Consumer iteration i: wait full[i % DS]; issue step i's wgmma;
// commit; wgmma.wait_group 1 (step i - 1 done); arrive dqFree and tokFree of step i - 1.
// Deadlock-free when L <= TS - 2 and DS >= 2: the producer's wait in (1) needs the consumers
// past step i + L - TS + 1 <= i - 1, the wait in (3) past step i - DS + 1 <= i - 1, and the
// consumers' wait on step i needs only producer iteration i. native/bench/ws_ring_model.py checks
// the protocol (safety, parity waits, liveness) under random interleavings of producer and
// consumer threads; the kernel's (TS, L, DS) pass it, L = TS - 1 or DS = 1 deadlock in it.
// The mma.sync targets (sm_100a, PTX) run the same roles with config 4's mma.sync step on the
// consumers (synchronous: a step is released as soon as it is issued).
//
// The arithmetic is config 5's: the same exact dequantized values, the same products, K summed
// in 64-element steps in order (inside a step the tensor cores' own order); the epilogue is
// gemm.cuh's. Grid: config 5's one dimension, token tile major; one CTA of 512 threads per SM.
#pragma once
#include "gemm_smemdq.cuh"

namespace moe {

constexpr int kWsProducers = 256;  // warps 0-7
constexpr int kWsThreads = 512;    // + two consumer warpgroups

template <int BT>
struct WsSmem {
  static constexpr int kTokStages = BT == 128 ? 6 : 8;  // TS
  static constexpr int kLead = kTokStages - 2;          // L: steps copied ahead of the dequantization
  static constexpr int kDqTiles = 3;                    // DS
  static constexpr int kTokStage = BT * 128;
  static constexpr int kDqTile = kDqRows * 128;
  static constexpr int kRawStage = kDqRows * 36;
  static constexpr int kDqOff = kTokStages * kTokStage;
  static constexpr int kRawOff = kDqOff + kDqTiles * kDqTile;
  static constexpr int kPipeEnd = kRawOff + kTokStages * kRawStage;
  static constexpr int kEpilogue = BT * (kDqRows + 4) * 4;
  static constexpr int kMain = ((kPipeEnd > kEpilogue ? kPipeEnd : kEpilogue) + 15) / 16 * 16;
  static constexpr int kBarriers = kMain + BT * 8 + kDqRows * 4;  // after rowOff and wRowIdx; 8-aligned
  static constexpr int kTotal = 1024 + kBarriers + (2 * kDqTiles + kTokStages) * 8;  // 1024: alignment slack
  static_assert(kLead >= 1 && kLead <= kTokStages - 2 && kDqTiles >= 2, "the rings' deadlock-freedom (top of file)");
  static_assert(kBarriers % 8 == 0, "mbarriers are 8-byte aligned");
};

__device__ __forceinline__ void mbarInit(uint64_t* bar, uint32_t count) {
  asm volatile("mbarrier.init.shared::cta.b64 [%0], %1;\n" ::"r"(smemAddr(bar)), "r"(count) : "memory");
}
__device__ __forceinline__ void mbarArrive(uint64_t* bar) {
  asm volatile(
      "{\n"
      ".reg .b64 state;\n"
      "mbarrier.arrive.shared::cta.b64 state, [%0];\n"
      "}\n" ::"r"(smemAddr(bar))
      : "memory");
}
// Waits until phase `parity` (0 or 1) of the barrier has completed.
__device__ __forceinline__ void mbarWait(uint64_t* bar, uint32_t parity) {
  asm volatile(
      "{\n"
      ".reg .pred done;\n"
      "MOE_MBAR_WAIT:\n"
      "mbarrier.try_wait.parity.shared::cta.b64 done, [%0], %1;\n"
      "@!done bra MOE_MBAR_WAIT;\n"
      "}\n" ::"r"(smemAddr(bar)),
      "r"(parity)
      : "memory");
}

template <int BT, int KIND>
__global__ void __launch_bounds__(kWsThreads, 1) moeWsKernel(const GemmParams p) {
  constexpr int BW = kDqRows;
  static_assert(BT == 64 || BT == 128, "BT is 64 or 128");
  using S = WsSmem<BT>;
  constexpr int TS = S::kTokStages, DS = S::kDqTiles, L = S::kLead;
  constexpr bool kWgmma = MOE_HAS_WGMMA;
  extern __shared__ __align__(16) uint8_t smemRaw[];
  uint8_t* smem = smemRaw + ((1024u - (smemAddr(smemRaw) & 1023u)) & 1023u);
  int64_t* rowOff = reinterpret_cast<int64_t*>(smem + S::kMain);  // [BT] activation row offsets, -1 invalid
  int* wRowIdx = reinterpret_cast<int*>(rowOff + BT);             // [BW] weight row in expert, -1 invalid
  uint64_t* full = reinterpret_cast<uint64_t*>(smem + S::kBarriers);
  uint64_t* dqFree = full + DS;
  uint64_t* tokFree = dqFree + DS;

  const int tid = threadIdx.x;
  const int nW = dqWeightTiles<KIND>(p.I, p.H);
  const int tile = int(blockIdx.x / unsigned(nW));
  const int nTile = int(blockIdx.x % unsigned(nW));
  if (tile >= __ldg(p.numTiles)) return;
  const DqTile t = dqTileOf<BT>(p, tile);
  if (FAULT(p.fault, kFaultDroppedLastPartialTile) && t.rows < BT) return;

  for (int r = tid; r < BW; r += kWsThreads) wRowIdx[r] = dqWeightRow<KIND>(p, nTile, r);
  tokenRowOffsets<KIND, BT, kWsThreads>(p, t.rowBegin, t.rows, rowOff);
  if (tid == 0) {
    for (int s = 0; s < DS; ++s) {
      mbarInit(full + s, kWsProducers);
      mbarInit(dqFree + s, kWsThreads - kWsProducers);
    }
    for (int s = 0; s < TS; ++s) mbarInit(tokFree + s, kWsThreads - kWsProducers);
  }
  __syncthreads();  // row tables and barriers ready for every warp

  const int nk = p.kTiles;  // >= 1 (checked shapes)
  __builtin_assume(nk > 0);
  const int warp = tid >> 5, lane = tid & 31;
  float acc[DqTiling<BT, kWgmma>::kAcc];
#pragma unroll
  for (int i = 0; i < DqTiling<BT, kWgmma>::kAcc; ++i) acc[i] = 0.f;

  if (tid < kWsProducers) {
    // ---- producers: copies L steps ahead, then the dequantization of the step due.
    const int kPairs = wKPairs(p.kTiles);
    const uint8_t* wDataExpert = p.wData + int64_t(t.l) * wExpertDataBytes(p.wRows, kPairs);
    const uint8_t* wScaleExpert = p.wScales + int64_t(t.l) * wExpertScaleBytes(p.wRows, kPairs);
    // Copies per step: 16 raw bytes (half tid % 2 of row tid / 2), the scale word of row tid / 2
    // by the even thread, and BT·8 / 256 16-byte chunks of token rows (offsets hoisted: they do
    // not change with the step).
    constexpr int TOKCOPIES = BT * 8 / kWsProducers;
    static_assert(kWsProducers == 2 * BW && TOKCOPIES * kWsProducers == BT * 8, "the copy mapping");
    const int wRaw = wRowIdx[tid >> 1];
    const uint8_t* const rawSrc = wRaw >= 0 ? wDataExpert + wDataRowBase(wRaw, kPairs) + (tid & 1) * 16 : nullptr;
    const uint8_t* const scaleSrc = wRaw >= 0 && (tid & 1) == 0 ? wScaleExpert + wScaleRowBase(wRaw, kPairs) : nullptr;
    int64_t tokOff[TOKCOPIES];
#pragma unroll
    for (int m = 0; m < TOKCOPIES; ++m) tokOff[m] = rowOff[(tid >> 3) + m * (kWsProducers / 8)];
    const int ch = tid & 7;
    auto copyStep = [&](int kt) {
      const int stage = kt % TS;
      uint8_t* sW = smem + S::kRawOff + stage * S::kRawStage;
      uint8_t* sB = smem + stage * S::kTokStage;
      cpAsync16(sW + tid * 16, rawSrc != nullptr ? rawSrc + wDataTileOffset(kt) : p.wData, rawSrc != nullptr ? 16 : 0);
      if ((tid & 1) == 0)
        cpAsync4(sW + BW * 32 + (tid >> 1) * 4, scaleSrc != nullptr ? scaleSrc + wScaleTileOffset(kt) : p.wScales,
                 scaleSrc != nullptr ? 4 : 0);
      const int k0 = kt * 64 + ch * 8;
#pragma unroll
      for (int m = 0; m < TOKCOPIES; ++m) {
        const int r = (tid >> 3) + m * (kWsProducers / 8);
        const bool ok = tokOff[m] >= 0 && k0 < p.K;
        cpAsync16(sB + r * 128 + ((ch ^ (r & 7)) << 4), ok ? p.act + tokOff[m] + k0 : p.act, ok ? 16 : 0);
      }
    };
    const int sfw = p.nvfp4Weights ? 16 : 32;
    const int nBlocks = p.K / sfw;
    const E2m1Tables lut = e2m1Tables();
#pragma unroll
    for (int s = 0; s < L; ++s) {
      if (s < nk) copyStep(s);
      cpAsyncCommit();
    }
    for (int i = 0; i < nk; ++i) {
      const int j = i + L;
      if (j < nk) {
        if (j >= TS) mbarWait(tokFree + j % TS, uint32_t((j / TS - 1) & 1));
        copyStep(j);
      }
      cpAsyncCommit();
      cpAsyncWait<L>();  // this thread's copies of step i have landed
      __syncwarp();      // ... and its warp's (the scale words)
      if (i >= DS) mbarWait(dqFree + i % DS, uint32_t((i / DS - 1) & 1));
      dqDequantHalfRow<BW>(p, smem + S::kRawOff + (i % TS) * S::kRawStage, tid >> 1, tid & 1, i,
                           smem + S::kDqOff + (i % DS) * S::kDqTile, lut, wRowIdx, wScaleExpert, kPairs, sfw, nBlocks);
      fenceProxyAsyncShared();  // the tile's stores and the landed token copies, to the tensor cores
      mbarArrive(full + i % DS);
    }
    cpAsyncWait<0>();
  } else {
    // ---- consumers: the products of each step as soon as it is full.
    const int cw = warp - kWsProducers / 32;  // 0..7: config 5's warp numbering
    for (int i = 0; i < nk; ++i) {
      mbarWait(full + i % DS, uint32_t((i / DS) & 1));
      dqMmaStep<BT, kWgmma>(acc, smem + (i % TS) * S::kTokStage, smem + S::kDqOff + (i % DS) * S::kDqTile, cw, lane);
      if constexpr (kWgmma) {
        wgmmaWait<1>();  // step i - 1's wgmma have completed (step i's may still run)
        if (i >= 1) {
          mbarArrive(dqFree + (i - 1) % DS);
          mbarArrive(tokFree + (i - 1) % TS);
        }
      } else {
        mbarArrive(dqFree + i % DS);  // mma.sync: its shared-memory reads are done
        mbarArrive(tokFree + i % TS);
      }
    }
    if constexpr (kWgmma) {
      wgmmaWait<0>();
      wgmmaFenceOperands(acc);
    }
  }
  __syncthreads();  // every step consumed: the rings may be overlaid

  float* Cs = reinterpret_cast<float*>(smem);
  if (tid >= kWsProducers) dqStoreAccumulators<BT, kWgmma>(Cs, acc, warp - kWsProducers / 32, lane);
  __syncthreads();
  gemmEpilogue<BW, BT, kWsThreads, KIND>(p, Cs, t.l, t.rowBegin, t.rows, nTile, tile, tid, nW);
}

template <int BT, int KIND>
cudaError_t launchMoeWs(const GemmParams& p, dim3 grid, cudaStream_t stream) {
  using S = WsSmem<BT>;
  // The engine's grid is (token tiles, weight-row tiles, 1); one dimension here, as config 5.
  if (grid.z != 1 || int(grid.y) != dqWeightTiles<KIND>(p.I, p.H) ||
      uint64_t(grid.x) * grid.y > uint64_t(0x7fffffff))
    return cudaErrorInvalidValue;
  auto kernel = moeWsKernel<BT, KIND>;
  cudaError_t err = cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, S::kTotal);
  if (err != cudaSuccess) return err;
  kernel<<<dim3(grid.x * grid.y), kWsThreads, S::kTotal, stream>>>(p);
  return cudaGetLastError();
}

}  // namespace moe
