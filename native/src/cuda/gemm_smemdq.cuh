// The large-T GEMM (configs 4 and 5): the FP4 weight tile of each K step is dequantized ONCE
// per CTA into shared memory (bf16, exact: contract item 1), not once per warp; the tensor
// cores then read both operands from shared memory:
//   config 4 "w128-smemdq": mma.sync m16n8k16, A and B fragments by ldmatrix;
//   config 5 "w128-wgmma":  wgmma m64nBTk16 (sm_90a; two warpgroups, 64 weight rows each), both
//                           operands by shared-memory descriptors. Where wgmma does not exist
//                           (sm_100a, PTX targets) config 5 compiles to config 4's mma.sync path.
// Orientation as gemm.cuh (swap AB): weights are the M side (128 rows per CTA; FC1: 64 up rows
// i0.. then the 64 gate rows I+i0..), tokens the N side (BT = 64 or 128 rows of one expert).
// Grid: one dimension, token tile major: CTA b takes token tile b / nW and weight-row tile b % nW
// (nW = dqWeightTiles). CTAs that run together then share a few token tiles, which stay in L2
// for all their nW weight tiles. (The 2-D grid of the other configs, token tile fastest, has the
// ~260 resident CTAs read ~260 different token tiles: at DeepSeek-V3 T = 4096 FC1 that re-reads
// every activation row from DRAM once per weight tile, ~15 GB against 5.6 GB of weights.)
//
// Pipeline, per K step of 64 (ST stages of cp.async, 16-byte copies; NDQ bf16 tiles):
//   wait for stage i; barrier; dequantize stage i's raw weights into bf16 tile i % NDQ (each
//   thread half a raw row in one 16-byte read, bank-conflict free); fence.proxy.async (the
//   tensor cores' async proxy reads what ordinary stores and cp.async wrote); wait for step
//   i-1's MMAs; barrier; issue the copies of stage i + ST - 1 (into step i-1's slot, free now);
//   issue the MMAs of step i.
//   config 4 (mma.sync, synchronous): ST = 4, NDQ = 1.
//   config 5 (wgmma, asynchronous): ST = 3, NDQ = 2: step i's wgmma run on the tensor cores
//   while the same warps dequantize step i+1 into the other tile (the wait for step i comes
//   after that dequantization), so dequantization and MMA overlap inside a CTA. (Before, each
//   step waited for its wgmma before the next dequantization: ncu run 3 found issue slots 53 %
//   busy.) Shared memory stays under half an SM's: 3 token stages instead of 4 pay for the
//   second tile, so 2 CTAs still fit.
// Shared memory (from a 1024-byte aligned base: the 128-byte swizzle of wgmma descriptors is a
// function of address bits 4..9): token stages [BT][64] bf16 and the dequantized tile [128][64]
// bf16, both rows of 128 bytes with 16-byte chunk c of row r at c ^ (r & 7) (= the hardware's
// 128B swizzle, K-major; gemm.cuh's token layout), then the raw weight stages (32 data bytes +
// 4 scale bytes per row of one K step, as the prepared layout (weight_layout.cuh) holds them).
#pragma once
#include "fp4_dequant.cuh"
#include "gemm.cuh"

#if defined(__CUDA_ARCH__) && (__CUDA_ARCH__ == 900) && defined(__CUDA_ARCH_FEAT_SM90_ALL)
#define MOE_HAS_WGMMA 1
#else
#define MOE_HAS_WGMMA 0
#endif

namespace moe {

enum class TileMma : int { MmaSync = 0, Wgmma = 1 };

constexpr int kDqRows = 128;  // weight rows per CTA
constexpr int kDqWarps = 8;   // 2 along weight rows x 4 along tokens (mma.sync); 2 warpgroups (wgmma)

template <int BT, int MMA>
struct DqSmem {
  static constexpr int kStages = MMA == int(TileMma::Wgmma) ? 3 : 4;  // ST above
  static constexpr int kDqTiles = MMA == int(TileMma::Wgmma) ? 2 : 1;  // NDQ above
  static constexpr int kTokStage = BT * 128;
  static constexpr int kDqOff = kStages * kTokStage;
  static constexpr int kDqTile = kDqRows * 128;
  static constexpr int kRawStage = kDqRows * 36;
  static constexpr int kRawOff = kDqOff + kDqTiles * kDqTile;
  static constexpr int kPipeEnd = kRawOff + kStages * kRawStage;
  static constexpr int kEpilogue = BT * (kDqRows + 4) * 4;
  static constexpr int kMain = ((kPipeEnd > kEpilogue ? kPipeEnd : kEpilogue) + 15) / 16 * 16;
  static constexpr int kTotal = 1024 + kMain + BT * 8 + kDqRows * 4;  // 1024: alignment slack
};

__device__ __forceinline__ void fenceProxyAsyncShared() {
#if defined(__CUDA_ARCH__) && (__CUDA_ARCH__ >= 900)
  asm volatile("fence.proxy.async.shared::cta;\n" ::: "memory");
#endif
}
__device__ __forceinline__ void wgmmaFence() {
#if MOE_HAS_WGMMA
  asm volatile("wgmma.fence.sync.aligned;\n" ::: "memory");
#endif
}
// Keeps the compiler from moving reads or writes of an accumulator across the wgmma
// instructions (they own the registers between issue and wait).
template <int N>
__device__ __forceinline__ void wgmmaFenceOperands(float (&d)[N]) {
#pragma unroll
  for (int i = 0; i < N; ++i) asm volatile("" : "+f"(d[i])::"memory");
}
__device__ __forceinline__ void wgmmaCommit() {
#if MOE_HAS_WGMMA
  asm volatile("wgmma.commit_group.sync.aligned;\n" ::: "memory");
#endif
}
// Waits until at most N committed groups of this warpgroup's wgmma are pending.
template <int N>
__device__ __forceinline__ void wgmmaWait() {
#if MOE_HAS_WGMMA
  asm volatile("wgmma.wait_group.sync.aligned %0;\n" ::"n"(N) : "memory");
#endif
}

// Shared-memory matrix descriptor: K-major, 128-byte swizzle, 8-row groups 1024 bytes apart
// (SBO), LBO unused (1), base offset 0 (the tiles start 1024-byte aligned).
__device__ __forceinline__ uint64_t sw128Descriptor(uint32_t smemByteAddr) {
  return uint64_t((smemByteAddr & 0x3FFFFu) >> 4) | (uint64_t(1) << 16) | (uint64_t(1024 >> 4) << 32) |
         (uint64_t(1) << 62);
}

__device__ __forceinline__ void wgmmaM64N64(float (&d)[32], uint64_t descA, uint64_t descB) {
#if MOE_HAS_WGMMA
  asm volatile(
      "{\n"
      ".reg .pred p;\n"
      "setp.ne.b32 p, %34, 0;\n"
      "wgmma.mma_async.sync.aligned.m64n64k16.f32.bf16.bf16 "
      "{%0, %1, %2, %3, %4, %5, %6, %7, %8, %9, %10, %11, %12, %13, %14, %15, %16, %17, %18, %19, %20, %21, %22, %23, %24, %25, %26, %27, %28, %29, %30, %31}, "
      "%32, %33, p, 1, 1, 0, 0;\n"
      "}\n"
      : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3]), "+f"(d[4]), "+f"(d[5]), "+f"(d[6]), "+f"(d[7]), "+f"(d[8]), "+f"(d[9]), "+f"(d[10]), "+f"(d[11]), "+f"(d[12]), "+f"(d[13]), "+f"(d[14]), "+f"(d[15]), "+f"(d[16]), "+f"(d[17]), "+f"(d[18]), "+f"(d[19]), "+f"(d[20]), "+f"(d[21]), "+f"(d[22]), "+f"(d[23]), "+f"(d[24]), "+f"(d[25]), "+f"(d[26]), "+f"(d[27]), "+f"(d[28]), "+f"(d[29]), "+f"(d[30]), "+f"(d[31])
      : "l"(descA), "l"(descB), "r"(1));
#else
  __trap();  // unreachable: kernels take their mma.sync path where wgmma is absent
#endif
}

__device__ __forceinline__ void wgmmaM64N128(float (&d)[64], uint64_t descA, uint64_t descB) {
#if MOE_HAS_WGMMA
  asm volatile(
      "{\n"
      ".reg .pred p;\n"
      "setp.ne.b32 p, %66, 0;\n"
      "wgmma.mma_async.sync.aligned.m64n128k16.f32.bf16.bf16 "
      "{%0, %1, %2, %3, %4, %5, %6, %7, %8, %9, %10, %11, %12, %13, %14, %15, %16, %17, %18, %19, %20, %21, %22, %23, %24, %25, %26, %27, %28, %29, %30, %31, %32, %33, %34, %35, %36, %37, %38, %39, %40, %41, %42, %43, %44, %45, %46, %47, %48, %49, %50, %51, %52, %53, %54, %55, %56, %57, %58, %59, %60, %61, %62, %63}, "
      "%64, %65, p, 1, 1, 0, 0;\n"
      "}\n"
      : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3]), "+f"(d[4]), "+f"(d[5]), "+f"(d[6]), "+f"(d[7]), "+f"(d[8]), "+f"(d[9]), "+f"(d[10]), "+f"(d[11]), "+f"(d[12]), "+f"(d[13]), "+f"(d[14]), "+f"(d[15]), "+f"(d[16]), "+f"(d[17]), "+f"(d[18]), "+f"(d[19]), "+f"(d[20]), "+f"(d[21]), "+f"(d[22]), "+f"(d[23]), "+f"(d[24]), "+f"(d[25]), "+f"(d[26]), "+f"(d[27]), "+f"(d[28]), "+f"(d[29]), "+f"(d[30]), "+f"(d[31]), "+f"(d[32]), "+f"(d[33]), "+f"(d[34]), "+f"(d[35]), "+f"(d[36]), "+f"(d[37]), "+f"(d[38]), "+f"(d[39]), "+f"(d[40]), "+f"(d[41]), "+f"(d[42]), "+f"(d[43]), "+f"(d[44]), "+f"(d[45]), "+f"(d[46]), "+f"(d[47]), "+f"(d[48]), "+f"(d[49]), "+f"(d[50]), "+f"(d[51]), "+f"(d[52]), "+f"(d[53]), "+f"(d[54]), "+f"(d[55]), "+f"(d[56]), "+f"(d[57]), "+f"(d[58]), "+f"(d[59]), "+f"(d[60]), "+f"(d[61]), "+f"(d[62]), "+f"(d[63])
      : "l"(descA), "l"(descB), "r"(1));
#else
  __trap();  // unreachable: kernels take their mma.sync path where wgmma is absent
#endif
}

// Weight-row tiles per token tile: FC1 64 intermediate rows (+ their gate rows), FC2 128 rows of H.
template <int KIND>
__host__ __device__ __forceinline__ int dqWeightTiles(int I, int H) {
  return KIND == kGemmFc1 ? (I + kDqRows / 2 - 1) / (kDqRows / 2) : (H + kDqRows - 1) / kDqRows;
}

// Token tile `tile` (< *p.numTiles) of the device-side schedule: its expert l, first permuted row
// and rows.
struct DqTile {
  int l, rowBegin, rows;
};
template <int BT>
__device__ __forceinline__ DqTile dqTileOf(const GemmParams& p, int tile) {
  int lo = 0, hi = p.El - 1;
  while (lo < hi) {
    const int mid = (lo + hi + 1) >> 1;
    if (__ldg(p.tileStart + mid) <= tile) lo = mid;
    else hi = mid - 1;
  }
  const int count = __ldg(p.expertCount + lo);
  const int tileInExpert = tile - __ldg(p.tileStart + lo);
  return {lo, __ldg(p.expertStart + lo) + tileInExpert * BT, min(BT, count - tileInExpert * BT)};
}

// Weight row (in the expert) of row r of weight-row tile nTile, -1 outside the matrix. FC1: rows
// [0, 64) the up rows i0.., [64, 128) the gate rows I + i0.. (the epilogue needs both of one i).
template <int KIND>
__device__ __forceinline__ int dqWeightRow(const GemmParams& p, int nTile, int r) {
  if (KIND == kGemmFc1) {
    constexpr int HALF = kDqRows / 2;
    const int i = nTile * HALF + (r % HALF);
    bool gate = r >= HALF;
    if (FAULT(p.fault, kFaultGateUpSwapped)) gate = !gate;
    return i < p.I ? (gate ? p.I + i : i) : -1;
  }
  const int h = nTile * kDqRows + r;
  return h < p.H ? h : -1;
}

// The warps' share of a K step's products: 8 warps, 128 weight rows of the dequantized tile x BT
// tokens of the token stage.
//   mma.sync: warps 2 (weight rows, 64 each) x 4 (tokens, BT/4 each), fragments by ldmatrix.
//   wgmma: warpgroup wg = warp / 4 owns weight rows 64wg.., all BT tokens; BT/2 accumulators.
template <int BT, bool WGMMA>
struct DqTiling {
  static constexpr int WW = 2, WT = 4, WM = kDqRows / WW, WN = BT / WT, MT = WM / 16, NT = WN / 8;
  static constexpr int kAcc = WGMMA ? BT / 2 : MT * NT * 4;
};

// The raw stage holds 32 bytes (8 words) per row; word w = 2·q0 + jj holds the elements
// 8j + 2q0 (+1) of chunks j = 4jj + i (i = 0..3). dqDequantHalfRow: a thread takes half h of row
// r, words 4h..4h+3 (q0 = 2h, 2h+1 and jj = 0, 1), in one 16-byte read, and writes words 2h, 2h+1
// of all 8 chunks of its tile row (8-byte stores). With the threads of a warp on consecutive
// (r, h) = (t / 2, t % 2): reads, 512 consecutive bytes (4 wavefronts, no conflict). Writes: per chunk, 16 distinct 8-byte slots
// (chunk j ^ (r & 7) over 8 rows, times h) cover the 32 banks, 2 threads each: 2 wavefronts,
// the minimum. One scale word per thread (row r's, read by both halves).
// (Run 3's mapping read single words at a 32-byte row stride: 3.2-way conflicts; run 4's first
// fix, one word in each of four rows, removed the conflicts but loaded and converted four scale
// words per thread: +26 % instructions, slower.)
template <int BW>
__device__ __forceinline__ void dqDequantHalfRow(const GemmParams& p, const uint8_t* sW, int r, int h, int kt, uint8_t* sDq,
                                                 const E2m1Tables& lut, const int* wRowIdx, const uint8_t* wScaleExpert,
                                                 int kPairs, int sfw, int nBlocks) {
  const uint8_t* sWs = sW + BW * 32;
  uint32_t sw = *reinterpret_cast<const uint32_t*>(sWs + r * 4);
  if (FAULT(p.fault, kFaultNeighbourBlockScale) && nBlocks >= 2) {
    const int last = nBlocks - 1, perTile = 64 / sfw;
    const int wr = wRowIdx[r];
    if (kt == (last * sfw) / 64 && wr >= 0) {
      const int lb = last % perTile;
      const uint32_t nb = lb > 0 ? (sw >> (8 * (lb - 1))) & 0xffu
                                 : uint32_t(wScaleExpert[wScaleOffset(wr, kt - 1, kPairs) + perTile - 1]);
      sw = (sw & ~(0xffu << (8 * lb))) | (nb << (8 * lb));
    }
  }
  uint32_t sp[2][2];  // [jj][chunks 4jj, 4jj+1 | 4jj+2, 4jj+3]
  if (p.nvfp4Weights) {
    scalePairsE4m3x2(sw, sp[0][0], sp[0][1]);        // NVFP4 blocks 0, 1 (block = j / 2)
    scalePairsE4m3x2(sw >> 16, sp[1][0], sp[1][1]);  // blocks 2, 3
  } else {
    sp[0][0] = sp[0][1] = scalePairUe8m0(sw & 0xffu);          // MX block 0 (block = j / 4)
    sp[1][0] = sp[1][1] = scalePairUe8m0((sw >> 8) & 0xffu);   // MX block 1
  }
  const uint4 raw = *reinterpret_cast<const uint4*>(sW + r * 32 + 16 * h);
  uint32_t e[4][4];  // [t][i]: word 4h + t, i.e. q0 = 2h + t / 2, jj = t % 2
  e2m1x8ToBf16(raw.x, e[0], lut);
  e2m1x8ToBf16(raw.y, e[1], lut);
  e2m1x8ToBf16(raw.z, e[2], lut);
  e2m1x8ToBf16(raw.w, e[3], lut);
#pragma unroll
  for (int jj = 0; jj < 2; ++jj) {
#pragma unroll
    for (int i = 0; i < 4; ++i) {
      const uint32_t s = sp[jj][i >> 1];
      const int j = 4 * jj + i;
      *reinterpret_cast<uint2*>(sDq + r * 128 + ((j ^ (r & 7)) << 4) + 8 * h) =
          make_uint2(mulBf16x2(e[jj][i], s), mulBf16x2(e[2 + jj][i], s));
    }
  }
}

// One K step's products (DqTiling above) of the dequantized tile sDq and the token stage sB, both
// [rows][64] bf16 128B-swizzled. wgmma: issued and committed, not waited for (the caller waits:
// ptxas serializes wgmma when a non-wgmma instruction defines an accumulator between issue and
// wait, C7515, so there is no operand fence after the commit).
template <int BT, bool WGMMA, int NACC>
__device__ __forceinline__ void dqMmaStep(float (&acc)[NACC], const uint8_t* sB, const uint8_t* sDq, int warp, int lane) {
  using D = DqTiling<BT, WGMMA>;
  static_assert(NACC == D::kAcc, "accumulators of the tiling");
  if constexpr (WGMMA) {
    const int wg = warp >> 2;
    const uint32_t aBase = smemAddr(sDq) + uint32_t(wg * 64 * 128), bBase = smemAddr(sB);
    wgmmaFenceOperands(acc);
    wgmmaFence();
#pragma unroll
    for (int kk = 0; kk < 4; ++kk) {
      const uint64_t da = sw128Descriptor(aBase + kk * 32), db = sw128Descriptor(bBase + kk * 32);
      if constexpr (BT == 128) wgmmaM64N128(*reinterpret_cast<float(*)[64]>(acc), da, db);
      else wgmmaM64N64(*reinterpret_cast<float(*)[32]>(acc), da, db);
    }
    wgmmaCommit();
  } else {
    constexpr int WT = D::WT, WN = D::WN, WM = D::WM, MT = D::MT, NT = D::NT;
    const int warpW = warp / WT, warpT = warp % WT;
#pragma unroll
    for (int sp = 0; sp < 2; ++sp) {
      uint32_t bfr[NT][4];
#pragma unroll
      for (int nt = 0; nt < NT; ++nt) {
        const int row = warpT * WN + nt * 8 + (lane & 7);
        const int ch = 4 * sp + (lane >> 3);
        ldmatrixX4(bfr[nt], sB + row * 128 + ((ch ^ (row & 7)) << 4));
      }
#pragma unroll
      for (int ss = 0; ss < 2; ++ss) {
        const int s = 2 * sp + ss;
#pragma unroll
        for (int mi = 0; mi < MT; ++mi) {
          uint32_t a[4];
          const int row = warpW * WM + mi * 16 + (lane & 15);
          const int ch = 2 * s + (lane >> 4);
          ldmatrixX4(a, sDq + row * 128 + ((ch ^ (row & 7)) << 4));
#pragma unroll
          for (int nt = 0; nt < NT; ++nt)
            mmaBf16(*reinterpret_cast<float(*)[4]>(acc + (mi * NT + nt) * 4), a, bfr[nt][2 * ss], bfr[nt][2 * ss + 1]);
        }
      }
    }
  }
}

// The accumulators into Cs[token][weight row] (row stride kDqRows + 4 floats), the layout
// gemmEpilogue reads.
template <int BT, bool WGMMA, int NACC>
__device__ __forceinline__ void dqStoreAccumulators(float* Cs, const float (&acc)[NACC], int warp, int lane) {
  using D = DqTiling<BT, WGMMA>;
  constexpr int CS = kDqRows + 4;
  const int g = lane >> 2, q = lane & 3;
  if constexpr (WGMMA) {
    const int r0 = (warp >> 2) * 64 + (warp & 3) * 16 + g;
#pragma unroll
    for (int j = 0; j < BT / 8; ++j) {
      const int c = 8 * j + 2 * q;
      Cs[c * CS + r0] = acc[4 * j];
      Cs[(c + 1) * CS + r0] = acc[4 * j + 1];
      Cs[c * CS + r0 + 8] = acc[4 * j + 2];
      Cs[(c + 1) * CS + r0 + 8] = acc[4 * j + 3];
    }
  } else {
    const int warpW = warp / D::WT, warpT = warp % D::WT;
#pragma unroll
    for (int mi = 0; mi < D::MT; ++mi) {
#pragma unroll
      for (int nt = 0; nt < D::NT; ++nt) {
        const int r = warpW * D::WM + mi * 16 + g;
        const int c = warpT * D::WN + nt * 8 + 2 * q;
        const float* a = acc + (mi * D::NT + nt) * 4;
        Cs[c * CS + r] = a[0];
        Cs[(c + 1) * CS + r] = a[1];
        Cs[c * CS + r + 8] = a[2];
        Cs[(c + 1) * CS + r + 8] = a[3];
      }
    }
  }
}

template <int BT, int KIND, int MMA>
__global__ void __launch_bounds__(32 * kDqWarps, 2) moeSmemDqKernel(const GemmParams p) {
  constexpr int THREADS = 32 * kDqWarps;
  constexpr int BW = kDqRows;
  static_assert(BT == 64 || BT == 128, "BT is 64 or 128");
  using S = DqSmem<BT, MMA>;
  constexpr int ST = S::kStages;
  extern __shared__ __align__(16) uint8_t smemRaw[];
  uint8_t* smem = smemRaw + ((1024u - (smemAddr(smemRaw) & 1023u)) & 1023u);
  int64_t* rowOff = reinterpret_cast<int64_t*>(smem + S::kMain);  // [BT] activation row offsets, -1 invalid
  int* wRowIdx = reinterpret_cast<int*>(rowOff + BT);             // [BW] weight row in expert, -1 invalid

  const int tid = threadIdx.x;
  const int nW = dqWeightTiles<KIND>(p.I, p.H);
  const int tile = int(blockIdx.x / unsigned(nW));
  const int nTile = int(blockIdx.x % unsigned(nW));
  if (tile >= __ldg(p.numTiles)) return;
  const DqTile dt = dqTileOf<BT>(p, tile);
  const int l = dt.l, rowBegin = dt.rowBegin, rows = dt.rows;
  if (FAULT(p.fault, kFaultDroppedLastPartialTile) && rows < BT) return;

  for (int r = tid; r < BW; r += THREADS) wRowIdx[r] = dqWeightRow<KIND>(p, nTile, r);
  tokenRowOffsets<KIND, BT, THREADS>(p, rowBegin, rows, rowOff);
  __syncthreads();

  const int nk = p.kTiles;  // (fault tactic_skips_last_k_block targets tactic 8/3 only)
  // K >= 1 (checked shapes), so nk >= 1. Said to the compiler: with a zero-trip path the wait after
  // the loop is reachable from the accumulators' zero initialization, and ptxas then serializes
  // every wgmma of the loop (C7515). (Config 4 without it: the assumption changes its loop and
  // makes the BT = 128 kernels spill.)
  if (MMA == int(TileMma::Wgmma)) __builtin_assume(nk > 0);
  const int kPairs = wKPairs(p.kTiles);
  const uint8_t* wDataExpert = p.wData + int64_t(l) * wExpertDataBytes(p.wRows, kPairs);
  const uint8_t* wScaleExpert = p.wScales + int64_t(l) * wExpertScaleBytes(p.wRows, kPairs);
  uint8_t* const sDq0 = smem + S::kDqOff;  // bf16 tile t at sDq0 + t * S::kDqTile

  // Each thread's copies per K step: the raw weights of row tid / 2, half tid % 2 (16 bytes), the
  // scale word of row tid (tid < BW), and BT·8 / THREADS 16-byte chunks of token rows. The weight
  // rows' bases (weight_layout.cuh: row base + tile offset) do not change with the step: hoisted
  // out of the K loop (no 64-bit multiply and no shared-memory row lookup per step; the step adds
  // wDataTileOffset / wScaleTileOffset); the loops have fixed trip counts.
  static_assert(THREADS == 2 * BW && (BT * 8) % THREADS == 0, "the copy mapping");
  const int wRaw = wRowIdx[tid >> 1];
  const uint8_t* const rawSrc = wRaw >= 0 ? wDataExpert + wDataRowBase(wRaw, kPairs) + (tid & 1) * 16 : nullptr;
  const int wScale = tid < BW ? wRowIdx[tid] : -1;
  const uint8_t* const scaleSrc = wScale >= 0 ? wScaleExpert + wScaleRowBase(wScale, kPairs) : nullptr;
  auto loadStage = [&](int stage, int kt) {
    uint8_t* sW = smem + S::kRawOff + stage * S::kRawStage;
    uint8_t* sWs = sW + BW * 32;
    uint8_t* sB = smem + stage * S::kTokStage;
    cpAsync16(sW + tid * 16, rawSrc != nullptr ? rawSrc + wDataTileOffset(kt) : p.wData, rawSrc != nullptr ? 16 : 0);
    if (tid < BW) cpAsync4(sWs + tid * 4, scaleSrc != nullptr ? scaleSrc + wScaleTileOffset(kt) : p.wScales, scaleSrc != nullptr ? 4 : 0);
#pragma unroll
    for (int m = 0; m < BT * 8 / THREADS; ++m) {
      const int r = (tid >> 3) + m * (THREADS / 8), ch = tid & 7;
      const int64_t off = rowOff[r];
      const int k0 = kt * 64 + ch * 8;
      const bool ok = off >= 0 && k0 < p.K;
      const __nv_bfloat16* src = ok ? p.act + off + k0 : p.act;
      cpAsync16(sB + r * 128 + ((ch ^ (r & 7)) << 4), src, ok ? 16 : 0);
    }
  };

  const int sfw = p.nvfp4Weights ? 16 : 32;
  const int nBlocks = p.K / sfw;
  static_assert(THREADS == 2 * BW, "half a raw row per thread");
  const E2m1Tables lut = e2m1Tables();
  auto dequantStage = [&](int stage, int kt, uint8_t* sDq) {
    dqDequantHalfRow<BW>(p, smem + S::kRawOff + stage * S::kRawStage, tid >> 1, tid & 1, kt, sDq, lut, wRowIdx,
                         wScaleExpert, kPairs, sfw, nBlocks);
  };

  const int warp = tid >> 5, lane = tid & 31;
  constexpr bool kWgmma = MMA == int(TileMma::Wgmma) && MOE_HAS_WGMMA;
  float acc[DqTiling<BT, kWgmma>::kAcc];
#pragma unroll
  for (int i = 0; i < DqTiling<BT, kWgmma>::kAcc; ++i) acc[i] = 0.f;
  auto mmaStep = [&](int stage, const uint8_t* sDq) { dqMmaStep<BT, kWgmma>(acc, smem + stage * S::kTokStage, sDq, warp, lane); };

#pragma unroll
  for (int s = 0; s < ST - 1; ++s) {
    if (s < nk) loadStage(s, s);
    cpAsyncCommit();
  }
  for (int i = 0; i < nk; ++i) {
    cpAsyncWait<ST - 2>();
    // Stage i landed for every thread. Tile i % NDQ is free: its last reader, step i - NDQ,
    // completed before the barrier below in an earlier step (mma.sync: in program order).
    __syncthreads();
    uint8_t* sDq = sDq0 + (i % S::kDqTiles) * S::kDqTile;
    dequantStage(i % ST, i, sDq);
    fenceProxyAsyncShared();
    if constexpr (kWgmma) {
      wgmmaWait<0>();  // step i-1's wgmma (they ran during the dequantization above) are done
      wgmmaFenceOperands(acc);
    }
    __syncthreads();  // tile i is written; every warp is done with step i-1's stage
    const int nxt = i + ST - 1;
    if (nxt < nk) loadStage(nxt % ST, nxt);
    cpAsyncCommit();
    mmaStep(i % ST, sDq);
  }
  if constexpr (kWgmma) {
    wgmmaWait<0>();
    wgmmaFenceOperands(acc);
  }
  cpAsyncWait<0>();
  __syncthreads();

  // Accumulators -> Cs[token][weight row] (overlays the pipeline), then the shared epilogue.
  float* Cs = reinterpret_cast<float*>(smem);
  dqStoreAccumulators<BT, kWgmma>(Cs, acc, warp, lane);
  __syncthreads();

  gemmEpilogue<BW, BT, THREADS, KIND>(p, Cs, l, rowBegin, rows, nTile, tile, tid, nW);
}

template <int BT, int KIND, int MMA>
cudaError_t launchMoeSmemDq(const GemmParams& p, dim3 grid, cudaStream_t stream) {
  using S = DqSmem<BT, MMA>;
  // The engine's grid is (token tiles, weight-row tiles, 1); the kernel takes it as one
  // dimension, token tile major (see the top of this file).
  if (grid.z != 1 || int(grid.y) != dqWeightTiles<KIND>(p.I, p.H) ||
      uint64_t(grid.x) * grid.y > uint64_t(0x7fffffff))
    return cudaErrorInvalidValue;
  const dim3 grid1d(grid.x * grid.y);
  auto kernel = moeSmemDqKernel<BT, KIND, MMA>;
  cudaError_t err = cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, S::kTotal);
  if (err != cudaSuccess) return err;
  kernel<<<grid1d, 32 * kDqWarps, S::kTotal, stream>>>(p);
  return cudaGetLastError();
}

}  // namespace moe
