// The grouped GEMM of both MoE layers, one template for every tactic.
//
// Orientation ("swap AB"): the FP4 weights are the mma A operand (16 weight rows per
// m16n8k16), the bf16 activations the B operand (8 tokens per n8), so every tileTokens
// from 8 up is a whole number of n8 fragments. A CTA computes BW weight rows x BT token
// rows of ONE expert; blockIdx.x is the token tile (looked up in the device-side tile
// schedule, so no host sync is needed), blockIdx.y the weight-row tile, blockIdx.z the
// FC2 K slice (split-K).
//
// Weights arrive in the prepared layout (weight_layout.cuh): per row, K padded to a multiple
// of 64, each 64-element K step stored as 32 bytes permuted so that lane q of a quad finds
// the 8 bytes it needs for the four k16 steps contiguous at offset 8q; scales as 4 bytes
// per (row, K step); groups of 16 rows interleaved per pair of K steps (1 KB blocks). The
// weight tile is copied raw (cp.async) to shared memory and dequantized straight into mma A
// fragments (exact: see dequantE2m1x2).
//
// FC1 tile: rows [0, BW/2) are up rows i0.., rows [BW/2, BW) the gate rows I+i0.., so the
// epilogue holds up and gate of the same (token, i) and whole FC2-input blocks along I.
#pragma once
#include "common.cuh"
#include "weight_layout.cuh"

namespace moe {

enum GemmKind : int { kGemmFc1 = 0, kGemmFc2 = 1, kGemmFc2Split = 2 };

struct GemmParams {
  // Weights (prepared layout).
  const uint8_t* wData;    // [El][wRows/16][kPairs][16][2][32] (weight_layout.cuh)
  const uint8_t* wScales;  // [El][wRows/16][kPairs][16][2][4]
  int wRows;               // 2I (FC1) or H (FC2)
  int K;                   // contracted length (H for FC1, I for FC2)
  int kTiles;              // ceil(K / 64)
  int nvfp4Weights;        // 1: e4m3 scales of 16-blocks; 0: ue8m0 scales of 32-blocks
  // Activations (B operand), bf16 rows of length K.
  const __nv_bfloat16* act;  // FC1: x̂ [T][H] gathered by token; FC2: â [rows][I]
  // Device-side schedule.
  const int* expertStart;  // [El] first permuted row of each local expert
  const int* expertCount;  // [El]
  const int* tileStart;    // [El + 1] first tile of each expert (for this BT)
  const int* numTiles;     // [1]
  int El;
  const int* permSlot;  // [rows] slot index t·topK + j of each permuted row
  int topK;
  // FC1 epilogue.
  int I;
  const float* out1Scale;
  const float* out1GateScale;
  const float* alpha;  // null: plain SwiGLU
  const float* beta;
  const float* limit;
  const float* routeWeights;  // non-null (llama4): acc · w before the epilogue
  int fc2Format;              // 0 NVFP4, 1 MXFP8, 2 bf16
  __nv_bfloat16* abuf;        // [rows][I] dequantized FC2 input â (times 2^P of the row, MXFP8)
  // MXFP8 FC2-input pre-scaling (null otherwise). A block whose scale code is < 3
  // (s <= 2^-125: q·s may fall below bf16's subnormal step 2^-133) is stored as q·s·2^3 and
  // flags its row; the last FC1 CTA of a token tile rescales each flagged row to one
  // exponent P (exact power-of-two steps) and records P per slot; FC2 (or finalize for
  // split-K) multiplies the row's accumulator by 2^-P before out2Scale.
  uint8_t* acode;  // [rows][I/32] block scale codes
  int* rowFlag;    // [rows] 1: some block of the row was stored times 2^3 (zeroed per run)
  int* tileDone;   // [tiles] FC1 CTAs finished per token tile (zeroed per run)
  int* slotP;      // [slots] P of each slot's FC2 input row (zeroed per run)
  // FC2 epilogue.
  int H;
  const float* out2Scale;
  float* y;       // [slots][H] (FC2) or [S][slots][H] partials (split-K)
  int64_t slots;  // T·topK
  int splitSlices;
  // Config 3's FC1 split over K (grid.z > 1): [tile][weight tile][slice][BT][68] float32
  // partial tiles, and [tile][weight tile] arrival counters (zero before each run).
  float* splitPartial;
  int* splitArrive;
  // Faults (faults build only).
  int fault;
  int faultTactic;  // this launch is the tactic that fault 11 targets (8/3, engine.cu)
};

template <int BW, int BT, int STAGES>
struct GemmSmem {
  static constexpr int kWData = BW * 32;
  static constexpr int kWStage = BW * 36;
  static constexpr int kBStage = BT * 128;
  static constexpr int kStage = kWStage + kBStage;
  static constexpr int kCsStride = BW + 4;
  static constexpr int kPipeline = STAGES * kStage;
  static constexpr int kEpilogue = BT * kCsStride * 4;
  static constexpr int kMain = kPipeline > kEpilogue ? kPipeline : kEpilogue;
  static constexpr int kTotal = kMain + BT * 8 + BW * 4;
};

// Scale codes below this (s <= 2^-125) are stored times 2^kMxTinyCode (see GemmParams).
constexpr int kMxTinyCode = 3;

// Called by every FC1 CTA after its epilogue stores (MXFP8 FC2 input). The last CTA of the
// token tile (all nWeightTiles weight-row tiles done) gives each flagged row one exponent P in [0, 3]: the
// smallest that makes every block exact (3 - min code), lowered where a large block would
// overflow bf16 (q·s·2^P <= 448·2^(code-127+P) must stay <= 2^127: P <= 246 - max code).
// Every block is multiplied by 2^(P - stored exponent) in place and P is recorded per slot.
// Takes its pointers by value: a GemmParams& argument would make the kernel copy its whole
// parameter block to a 240-byte stack frame (measured: 2-15% slower GEMMs, every format).
static __device__ __noinline__ void mxRowExponentFixup(const int* permSlot, __nv_bfloat16* abuf, const uint8_t* acode,
                                                       const int* rowFlag, int* tileDone, int* slotP, int I, int tile,
                                                       int rowBegin, int rows, int tid, int threads, int nWeightTiles) {
  __shared__ int sLast, sMin, sMax;
  __threadfence();
  __syncthreads();
  if (tid == 0) sLast = atomicAdd(tileDone + tile, 1) == nWeightTiles - 1;
  __syncthreads();
  if (!sLast) return;
  __threadfence();
  const int nBlk = I / 32;
  for (int t = 0; t < rows; ++t) {
    const int row = rowBegin + t;
    if (__ldcg(rowFlag + row) == 0) continue;  // uniform over the CTA
    if (tid == 0) {
      sMin = 255;
      sMax = 0;
    }
    __syncthreads();
    for (int b = tid; b < nBlk; b += threads) {
      const int c = __ldcg(acode + int64_t(row) * nBlk + b);
      atomicMin(&sMin, c);
      atomicMax(&sMax, c);
    }
    __syncthreads();
    int P = kMxTinyCode - sMin;
    if (P > 246 - sMax) P = 246 - sMax;
    if (P < 0) P = 0;
    __nv_bfloat16* a = abuf + int64_t(row) * I;
    for (int i = tid; i < I; i += threads) {
      const int c = __ldcg(acode + int64_t(row) * nBlk + i / 32);
      const int d = P - (c < kMxTinyCode ? kMxTinyCode : 0);
      if (d != 0) {
        const float x = __bfloat162float(__ldcg(a + i));
        __stcg(a + i, __float2bfloat16_rn(__fmul_rn(x, pow2FromCode(127 + d))));
      }
    }
    if (tid == 0) slotP[__ldg(permSlot + row)] = P;
    __syncthreads();
  }
}

__device__ __forceinline__ float sigmoidF32(float x) { return __fdiv_rn(1.0f, __fadd_rn(1.0f, expf(-x))); }

// The epilogue of every FC1 / FC2 kernel, from the float accumulator tile in shared memory
// Cs[token][weight row] (row stride BW + 4): FC1 fuses the llama4 weight, the out1 scales,
// (clamped) SwiGLU and the FC2-input re-quantization (contract items 2, 3) and stores â;
// FC2 applies 2^-P (MXFP8 pre-scaling) and out2Scale and stores y per slot (or the split-K
// partials). l: local expert; rowBegin/rows: the tile's permuted rows; nTile: weight-row tile;
// nWeightTiles: how many weight-row tiles a token tile has (0: gridDim.y, the 2-D grids).
// The activation row offset of each of a tile's BT token rows, -1 past the tile's rows: FC1
// reads the hidden state of the token that the permuted slot came from, FC2 the slot's own row
// of the FC2 input. Shared by every GEMM kernel (this file, gemm_smemdq.cuh, gemm_stream.cuh).
template <int KIND, int BT, int THREADS>
__device__ __forceinline__ void tokenRowOffsets(const GemmParams& p, int rowBegin, int rows, int64_t* rowOff) {
  for (int r = int(threadIdx.x); r < BT; r += THREADS) {
    int64_t off = -1;
    if (r < rows) {
      if (KIND == kGemmFc1) off = int64_t(__ldg(p.permSlot + rowBegin + r) / p.topK) * p.K;
      else off = int64_t(rowBegin + r) * p.K;
    }
    rowOff[r] = off;
  }
}

template <int BW, int BT, int THREADS, int KIND>
__device__ __forceinline__ void gemmEpilogue(const GemmParams& p, const float* Cs, int l, int rowBegin, int rows,
                                             int nTile, int tile, int tid, int nWeightTiles = 0) {
  constexpr int CS = BW + 4;
  if (KIND == kGemmFc1) {
    constexpr int HALF = BW / 2;
    const int blk = p.fc2Format == 0 ? 16 : 32;
    const int blocksPerToken = HALF / blk;
    const float o1 = p.out1Scale[l], o1g = p.out1GateScale[l];
    const float cfac = __fdiv_rn(o1, o1g);
    const bool clamped = p.alpha != nullptr;
    const float alpha = clamped ? p.alpha[l] : 1.f;
    const float betaC = clamped ? __fmul_rn(p.beta[l], cfac) : 0.f;
    const float lim = clamped ? p.limit[l] : 0.f;
    const float limC = clamped ? __fmul_rn(lim, cfac) : 0.f;
    // One lane per pair of adjacent elements: the blk / 2 lanes of a block are consecutive lanes of
    // one warp (blk / 2 divides 32, THREADS is a multiple of 32), so the block's amax is a
    // shuffle reduction among them. Every thread runs the same number of passes (the shuffles
    // need whole warps); a pass's lanes past the work, past the tile's tokens or past I are idle
    // as a whole block. Each element's arithmetic is the same as one thread per block would do
    // (amax is a max: its order does not matter); only the assignment of work to threads changed
    // (cubin sizes: the 32-element unrolled form was ~100 KB of each FC1 kernel's code, and at 8 tokens
    // only 16 of 128 threads had work).
    const int lanesPerBlk = blk / 2;
    const int work = BT * blocksPerToken * lanesPerBlk;
    for (int base = 0; base < work; base += THREADS) {
      const int it = base + tid;
      const int e2 = it % lanesPerBlk, item = it / lanesPerBlk;
      const int t = item % BT, b = item / BT;
      const int i0 = nTile * HALF + b * blk;
      const bool active = it < work && t < rows && i0 < p.I;
      float v[2] = {0.f, 0.f};
      float amax = 0.f;
      if (active) {
        const float rw = p.routeWeights ? p.routeWeights[p.permSlot[rowBegin + t]] : 1.f;
#pragma unroll
        for (int e = 0; e < 2; ++e) {
          const int j = 2 * e2 + e;
          float up = Cs[t * CS + b * blk + j];
          float gate = Cs[t * CS + HALF + b * blk + j];
          if (p.routeWeights) {
            up = __fmul_rn(up, rw);
            gate = __fmul_rn(gate, rw);
          }
          float gs = __fmul_rn(gate, o1g);
          float us = __fmul_rn(up, o1);
          float a;
          if (clamped) {
            gs = gs > lim ? lim : gs;
            us = us < -limC ? -limC : (us > limC ? limC : us);
            a = __fmul_rn(__fmul_rn(gs, sigmoidF32(__fmul_rn(alpha, gs))), __fadd_rn(us, betaC));
          } else {
            a = __fmul_rn(__fmul_rn(gs, sigmoidF32(gs)), us);
          }
          v[e] = a;
          amax = fmaxf(amax, fabsf(a));
        }
      }
      for (int o = lanesPerBlk / 2; o > 0; o >>= 1) amax = fmaxf(amax, __shfl_xor_sync(0xffffffffu, amax, o));
      if (!active) continue;
      uint32_t packed;
      if (p.fc2Format == 0) {
        const float s = roundE4m3(__fdiv_rn(amax, 6.0f));
        const float q0 = s == 0.f ? 0.f : __fmul_rn(roundE2m1(__fdiv_rn(v[0], s)), s);
        const float q1 = s == 0.f ? 0.f : __fmul_rn(roundE2m1(__fdiv_rn(v[1], s)), s);
        packed = uint32_t(floatToBf16Bits(q0)) | (uint32_t(floatToBf16Bits(q1)) << 16);
      } else if (p.fc2Format == 1) {
        const int code = mxfp8ScaleCode(amax, FAULT(p.fault, kFaultMxExponentRoundDown));
        const float s = pow2FromCode(code);
        // Tiny scale: store q·(s·2^3) (exact: its lowest bit is >= 2^-133).
        const bool tiny = p.acode != nullptr && code < kMxTinyCode;
        const float sStore = tiny ? pow2FromCode(code + kMxTinyCode) : s;
        if (p.acode != nullptr && e2 == 0) {
          p.acode[int64_t(rowBegin + t) * (p.I / 32) + i0 / 32] = uint8_t(code);
          if (tiny) p.rowFlag[rowBegin + t] = 1;
        }
        const float q0 = __fmul_rn(roundE4m3(__fdiv_rn(v[0], s)), sStore);
        const float q1 = __fmul_rn(roundE4m3(__fdiv_rn(v[1], s)), sStore);
        packed = uint32_t(floatToBf16Bits(q0)) | (uint32_t(floatToBf16Bits(q1)) << 16);
      } else {
        packed = uint32_t(floatToBf16Bits(v[0])) | (uint32_t(floatToBf16Bits(v[1])) << 16);
      }
      reinterpret_cast<uint32_t*>(p.abuf + int64_t(rowBegin + t) * p.I + i0)[e2] = packed;
    }
    if (p.acode != nullptr) mxRowExponentFixup(p.permSlot, p.abuf, p.acode, p.rowFlag, p.tileDone, p.slotP, p.I, tile, rowBegin, rows, tid, THREADS,
                                               nWeightTiles > 0 ? nWeightTiles : int(gridDim.y));
  } else {
    float scale = p.out2Scale[l];
    if (FAULT(p.fault, kFaultExpertScaleIgnored) && l == 1) scale = 1.f;
    constexpr int C4 = BW / 4;
    for (int it = tid; it < BT * C4; it += THREADS) {
      const int t = it / C4, c4 = it % C4;
      if (t >= rows) continue;
      const int h = nTile * BW + c4 * 4;
      if (h >= p.H) continue;
      float4 v = *reinterpret_cast<const float4*>(Cs + t * CS + c4 * 4);
      const int64_t slot = p.permSlot[rowBegin + t];
      if (KIND == kGemmFc2) {
        if (p.slotP != nullptr) {
          const int P = p.slotP[slot];
          if (P != 0) {
            const float un = pow2FromCode(127 - P);  // 2^-P, applied first (exact unless it underflows)
            v.x = __fmul_rn(v.x, un);
            v.y = __fmul_rn(v.y, un);
            v.z = __fmul_rn(v.z, un);
            v.w = __fmul_rn(v.w, un);
          }
        }
        v.x = __fmul_rn(v.x, scale);
        v.y = __fmul_rn(v.y, scale);
        v.z = __fmul_rn(v.z, scale);
        v.w = __fmul_rn(v.w, scale);
        *reinterpret_cast<float4*>(p.y + slot * p.H + h) = v;
      } else {
        *reinterpret_cast<float4*>(p.y + (int64_t(blockIdx.z) * p.slots + slot) * p.H + h) = v;
      }
    }
  }
}

template <int BW, int BT, int WW, int WT, int STAGES, int KIND>
__global__ void __launch_bounds__(32 * WW * WT) moeGemmKernel(const GemmParams p) {
  constexpr int THREADS = 32 * WW * WT;
  constexpr int WM = BW / WW, WN = BT / WT, MT = WM / 16, NT = WN / 8;
  static_assert(WM % 16 == 0 && WN % 8 == 0, "warp tile must be whole mma fragments");
  using S = GemmSmem<BW, BT, STAGES>;
  extern __shared__ __align__(16) uint8_t smem[];
  int64_t* rowOff = reinterpret_cast<int64_t*>(smem + S::kMain);  // [BT] activation row offsets, -1 invalid
  int* wRowIdx = reinterpret_cast<int*>(rowOff + BT);             // [BW] weight row in expert, -1 invalid

  const int tid = threadIdx.x;
  const int tile = blockIdx.x;
  if (tile >= __ldg(p.numTiles)) return;
  int lo = 0, hi = p.El - 1;
  while (lo < hi) {
    const int mid = (lo + hi + 1) >> 1;
    if (__ldg(p.tileStart + mid) <= tile) lo = mid;
    else hi = mid - 1;
  }
  const int l = lo;
  const int count = __ldg(p.expertCount + l);
  const int tileInExpert = tile - __ldg(p.tileStart + l);
  const int rowBegin = __ldg(p.expertStart + l) + tileInExpert * BT;
  const int rows = min(BT, count - tileInExpert * BT);
  if (FAULT(p.fault, kFaultDroppedLastPartialTile) && rows < BT) return;
  const int nTile = blockIdx.y;

  for (int r = tid; r < BW; r += THREADS) {
    int w;
    if (KIND == kGemmFc1) {
      constexpr int HALF = BW / 2;
      const int i = nTile * HALF + (r % HALF);
      bool gate = r >= HALF;
      if (FAULT(p.fault, kFaultGateUpSwapped)) gate = !gate;
      w = i < p.I ? (gate ? p.I + i : i) : -1;
    } else {
      const int h = nTile * BW + r;
      w = h < p.H ? h : -1;
    }
    wRowIdx[r] = w;
  }
  tokenRowOffsets<KIND, BT, THREADS>(p, rowBegin, rows, rowOff);
  __syncthreads();

  int ktBegin = 0, ktEnd = p.kTiles;
  if (KIND == kGemmFc2Split) {
    const int per = (p.kTiles + p.splitSlices - 1) / p.splitSlices;
    ktBegin = min(p.kTiles, int(blockIdx.z) * per);
    ktEnd = min(p.kTiles, ktBegin + per);
  }
  if (KIND == kGemmFc1 && FAULT(p.fault, kFaultTacticSkipsLastKBlock) && p.faultTactic) ktEnd -= 1;
  const int nk = ktEnd - ktBegin;

  const int kPairs = wKPairs(p.kTiles);
  const uint8_t* wDataExpert = p.wData + int64_t(l) * wExpertDataBytes(p.wRows, kPairs);
  const uint8_t* wScaleExpert = p.wScales + int64_t(l) * wExpertScaleBytes(p.wRows, kPairs);

  // Per K step each thread copies the raw weights of row tid / 2, half tid % 2 (16 bytes), and
  // the scale word of row tid (tid < BW): fixed, not a strided loop (every config has
  // THREADS == 2·BW; the loop form cost registers with the layout's offsets and ~20 KB of code).
  static_assert(THREADS == 2 * BW, "one 16-byte weight copy per thread and K step");
  auto loadStage = [&](int stage, int kt) {
    uint8_t* sW = smem + stage * S::kStage;
    uint8_t* sWs = sW + S::kWData;
    uint8_t* sB = sW + S::kWStage;
    {
      const int w = wRowIdx[tid >> 1];
      cpAsync16(sW + tid * 16, w >= 0 ? wDataExpert + wDataOffset(w, kt, kPairs) + (tid & 1) * 16 : p.wData, w >= 0 ? 16 : 0);
    }
    if (tid < BW) {
      const int w = wRowIdx[tid];
      cpAsync4(sWs + tid * 4, w >= 0 ? wScaleExpert + wScaleOffset(w, kt, kPairs) : p.wScales, w >= 0 ? 4 : 0);
    }
    for (int c = tid; c < BT * 8; c += THREADS) {
      const int r = c >> 3, ch = c & 7;
      const int64_t off = rowOff[r];
      const int k0 = kt * 64 + ch * 8;
      const bool ok = off >= 0 && k0 < p.K;
      const __nv_bfloat16* src = ok ? p.act + off + k0 : p.act;
      cpAsync16(sB + r * 128 + ((ch ^ (r & 7)) << 4), src, ok ? 16 : 0);
    }
  };

  const int warp = tid >> 5, lane = tid & 31;
  const int warpW = warp / WT, warpT = warp % WT;
  const int g = lane >> 2, q = lane & 3;

  float acc[MT][NT][4];
#pragma unroll
  for (int mi = 0; mi < MT; ++mi)
#pragma unroll
    for (int nt = 0; nt < NT; ++nt)
#pragma unroll
      for (int e = 0; e < 4; ++e) acc[mi][nt][e] = 0.f;

  const int sfw = p.nvfp4Weights ? 16 : 32;
  const int nBlocks = p.K / sfw;

  auto compute = [&](int stage, int kt) {
    const uint8_t* sW = smem + stage * S::kStage;
    const uint8_t* sWs = sW + S::kWData;
    const uint8_t* sB = sW + S::kWStage;
    uint2 raw[MT][2];
    float sc[MT][2][4];
#pragma unroll
    for (int mi = 0; mi < MT; ++mi) {
#pragma unroll
      for (int hr = 0; hr < 2; ++hr) {
        const int r = warpW * WM + mi * 16 + g + hr * 8;
        raw[mi][hr] = *reinterpret_cast<const uint2*>(sW + r * 32 + q * 8);
        const uint32_t sw = *reinterpret_cast<const uint32_t*>(sWs + r * 4);
        if (p.nvfp4Weights) {
#pragma unroll
          for (int s = 0; s < 4; ++s) sc[mi][hr][s] = decodeE4m3((sw >> (8 * s)) & 0xffu);
        } else {
          const float s0 = decodeUe8m0(sw & 0xffu), s1 = decodeUe8m0((sw >> 8) & 0xffu);
          sc[mi][hr][0] = s0;
          sc[mi][hr][1] = s0;
          sc[mi][hr][2] = s1;
          sc[mi][hr][3] = s1;
        }
        if (FAULT(p.fault, kFaultNeighbourBlockScale) && nBlocks >= 2) {
          // The last block of the row reads its left neighbour's scale.
          const int last = nBlocks - 1;
          const int perTile = 64 / sfw;
          if (kt == (last * sfw) / 64) {
            const int lb = last % perTile;
            const int w = wRowIdx[r];
            float nb = 0.f;
            if (lb > 0) {
              const uint32_t byte = (sw >> (8 * (lb - 1))) & 0xffu;
              nb = p.nvfp4Weights ? decodeE4m3(byte) : decodeUe8m0(byte);
            } else if (w >= 0) {
              const uint32_t byte = wScaleExpert[wScaleOffset(w, kt - 1, kPairs) + perTile - 1];
              nb = p.nvfp4Weights ? decodeE4m3(byte) : decodeUe8m0(byte);
            }
            if (p.nvfp4Weights) {
#pragma unroll
              for (int s = 0; s < 4; ++s)
                if (s == lb) sc[mi][hr][s] = nb;
            } else {
#pragma unroll
              for (int s = 0; s < 4; ++s)
                if ((s >> 1) == lb) sc[mi][hr][s] = nb;
            }
          }
        }
      }
    }
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
          const uint32_t wordG = s < 2 ? raw[mi][0].x : raw[mi][0].y;
          const uint32_t wordG8 = s < 2 ? raw[mi][1].x : raw[mi][1].y;
          const int sh = (s & 1) * 16;
          uint32_t a[4];
          a[0] = dequantE2m1x2((wordG >> sh) & 0xffu, sc[mi][0][s]);
          a[1] = dequantE2m1x2((wordG8 >> sh) & 0xffu, sc[mi][1][s]);
          a[2] = dequantE2m1x2((wordG >> (sh + 8)) & 0xffu, sc[mi][0][s]);
          a[3] = dequantE2m1x2((wordG8 >> (sh + 8)) & 0xffu, sc[mi][1][s]);
#pragma unroll
          for (int nt = 0; nt < NT; ++nt) mmaBf16(acc[mi][nt], a, bfr[nt][2 * ss], bfr[nt][2 * ss + 1]);
        }
      }
    }
  };

  // Multistage cp.async pipeline.
#pragma unroll
  for (int s = 0; s < STAGES - 1; ++s) {
    if (s < nk) loadStage(s, ktBegin + s);
    cpAsyncCommit();
  }
  for (int i = 0; i < nk; ++i) {
    cpAsyncWait<STAGES - 2>();
    __syncthreads();
    const int nxt = i + STAGES - 1;
    if (nxt < nk) loadStage(nxt % STAGES, ktBegin + nxt);
    cpAsyncCommit();
    compute(i % STAGES, ktBegin + i);
  }
  cpAsyncWait<0>();
  __syncthreads();

  // Accumulators -> shared tile Cs[token][weight row] (overlays the pipeline buffers).
  constexpr int CS = S::kCsStride;
  float* Cs = reinterpret_cast<float*>(smem);
#pragma unroll
  for (int mi = 0; mi < MT; ++mi) {
#pragma unroll
    for (int nt = 0; nt < NT; ++nt) {
      const int r = warpW * WM + mi * 16 + g;
      const int c = warpT * WN + nt * 8 + 2 * q;
      Cs[c * CS + r] = acc[mi][nt][0];
      Cs[(c + 1) * CS + r] = acc[mi][nt][1];
      Cs[c * CS + r + 8] = acc[mi][nt][2];
      Cs[(c + 1) * CS + r + 8] = acc[mi][nt][3];
    }
  }
  __syncthreads();

  gemmEpilogue<BW, BT, THREADS, KIND>(p, Cs, l, rowBegin, rows, nTile, tile, tid);
}

// Host-side launcher of one instantiation (defined in the gemm_*.cu files).
template <int BW, int BT, int WW, int WT, int STAGES, int KIND>
cudaError_t launchMoeGemm(const GemmParams& p, dim3 grid, cudaStream_t stream) {
  using S = GemmSmem<BW, BT, STAGES>;
  auto kernel = moeGemmKernel<BW, BT, WW, WT, STAGES, KIND>;
  cudaError_t err = cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, S::kTotal);
  if (err != cudaSuccess) return err;
  kernel<<<grid, 32 * WW * WT, S::kTotal, stream>>>(p);
  return cudaGetLastError();
}

}  // namespace moe
