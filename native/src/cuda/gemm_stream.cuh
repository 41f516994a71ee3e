// The decode GEMM (config 3, "w64-stream"): FC1 / FC2 for few tokens per expert, bound by
// the weight bytes. Every weight byte is loaded once, 16 bytes per lane straight into
// registers (no shared-memory staging of weights, no per-step barrier), several steps ahead
// of its use; the (few) tokens of the tile sit in shared memory; mma.sync m16n8k16 on bf16
// operands that are the exact dequantized weights (contract item 1: e2m1·scale has <= 6
// significant bits; looked up unscaled by byte permutes, then one exact bf16x2 product by the
// block scale) with fp32 accumulation. No split over K: each output element is one
// CTA's accumulator, written once (deterministic).
//
// CTA: 4 warps, 64 weight rows (warp w owns rows 16w..16w+15: one m16 tile) x BT tokens
// (BT/8 n8 tiles). FC1 rows: [0, 32) up rows i0.., [32, 64) gate rows I+i0.. (the epilogue of
// gemm.cuh needs up and gate of the same i). blockIdx.x: token tile (device-side schedule, as
// gemm.cuh), blockIdx.y: weight-row tile.
//
// K order. The sum over K is a sum: any permutation of K applied to both operands gives the
// same set of exact products. A "super-step" is 128 K elements = 2 K steps of the prepared
// layout = 64 bytes per weight row = one K pair of weight_layout.cuh. Lane (g, q) of a warp
// loads the 16 bytes at offset 16q of that span for its rows g and g+8 (quad lanes q=0..3
// together read the 64 contiguous bytes: K step kt = 2s + (q>>1), half h = q&1 of its 32
// bytes). A warp's 16 rows are one 16-row group of the prepared layout (FC2: rows 16w.. of a
// 64-row tile; FC1: up rows nTile·32 + 0..15 or 16..31, gate rows I + the same, all 16-aligned
// since I % 16 == 0), so super-step s of a warp reads the group's (pair s) block, 1 KB
// contiguous: rows g (lanes 0..31) the first 512 bytes, rows g+8 the next 512 (NOTES run 11:
// 16 rows' pieces kTiles·32 bytes apart, the layout before, read at 66-80 % of the copy rate). Byte b (0..15) of that load is
// prepared byte pb = 16h + b of K step kt, which holds canonical byte cb = 4·(pb&7) + (pb>>3)
// (engine repack: out[8q0 + j] = in[4j + q0]), i.e. elements kt·64 + 2cb (low nibble) and
// kt·64 + 2cb + 1 (high nibble). mma step m (0..7) of the super-step uses bytes 2m (columns
// 2q, 2q+1 of the A fragment) and 2m+1 (columns 2q+8, 2q+9). The B fragment (tokens) must hold
// the activations of exactly those elements: the tokens are staged in shared memory in that
// order ("lane order"), so that lane (g, q) finds, for token g, the 32 activations of its 16
// bytes contiguous (64 bytes, read as four 16-byte loads).
//
// Block scales: 4 bytes per (row, K step); element 8j + 2q0 + {0,1} of a K step lies in NVFP4
// block j/2 and MX block j/4 with j = pb & 7 = b & 7; both bytes 2m and 2m+1 have j/2 = m&3.
//
// Shared memory: two buffers of the tokens of one chunk of 1024 K elements (8 super-steps; 512
// and 4 for 16-token tiles, so that their two buffers take 33 KB, not 66, and 4-5 CTAs fit on an
// SM instead of 3), BT rows of the chunk's bf16 + 16 bytes of padding, 16-byte units swizzled (unit i of lane slot q
// stored at i ^ (q & 2)) so that the 16-byte reads of a quarter warp hit 8 distinct bank
// groups; chunk c+1 is copied by cp.async (4 bytes per copy: the lane order scatters bf16
// pairs) while chunk c is consumed, one barrier per chunk.
#pragma once
#include "fp4_dequant.cuh"
#include "gemm.cuh"

namespace moe {

constexpr int kStreamRows = 64;           // weight rows per CTA
constexpr int kStreamWarps = 4;           // one m16 tile per warp
constexpr int kStreamPrefetch = 4;        // super-steps of weights in flight per lane
constexpr int kStreamUnroll = 2;          // super-steps in the loop's body (divides kStreamPrefetch and every chunk)
static_assert(kStreamPrefetch % kStreamUnroll == 0, "whole bodies per prefetch");
// Tokens staged per chunk: super-steps (128 K elements each), K elements, 16-byte units per
// token row (1 of padding).
template <int BT>
struct StreamChunk {
  static constexpr int kSteps = BT == 16 ? 4 : 8;
  static constexpr int kElems = kSteps * 128;
  static constexpr int kRowUnits = kElems / 8 + 1;
  static_assert(kSteps % kStreamPrefetch == 0 && kSteps % kStreamUnroll == 0, "the loop's bodies and prefetched groups do not cross a chunk");
};

template <int BT>
struct StreamSmem {
  static constexpr int kTokenBuffer = BT * StreamChunk<BT>::kRowUnits * 16;  // one chunk; two buffers (double-buffered)
  static constexpr int kTokens = 2 * kTokenBuffer;
  static constexpr int kEpilogue = BT * (kStreamRows + 4) * 4;
  static constexpr int kMain = kTokens > kEpilogue ? kTokens : kEpilogue;
  static constexpr int kTotal = kMain + BT * 8 + kStreamRows * 4;
};

__device__ __forceinline__ uint4 ldgStream16(const uint8_t* p) {
  uint4 v;
  asm volatile("ld.global.nc.L1::no_allocate.v4.u32 {%0,%1,%2,%3}, [%4];\n"
               : "=r"(v.x), "=r"(v.y), "=r"(v.z), "=r"(v.w)
               : "l"(p));
  return v;
}

__device__ __forceinline__ uint32_t word4(const uint4& v, int i) {
  return i == 0 ? v.x : i == 1 ? v.y : i == 2 ? v.z : v.w;
}

// FC1SPLIT: FC1 split over K (grid.z slices). Its own instantiation: the unsplit kernel keeps
// its registers (the split path's epilogue raised FC1 from 96 to 110/120 and cost 1-3 % at T = 8-64).
// FMT: the weights' format, kStreamFmtAny (read from p.nvfp4Weights at run time: both scale paths
// in the loop) or kStreamFmtNvfp4 (the e4m3 path alone). NOTES run 8: the NVFP4-only loop ran
// 0.6-5.5 % faster (a smaller loop: instruction fetch is the largest stall), while an MX-only
// instantiation ran 1-8 % slower than the generic kernel, so MX weights keep the generic one.
constexpr int kStreamFmtAny = 0, kStreamFmtNvfp4 = 1;
template <int BT, int KIND, bool FC1SPLIT, int FMT>
__global__ void __launch_bounds__(32 * kStreamWarps, BT == 8 || KIND == kGemmFc1 ? 5 : 4) moeStreamKernel(const GemmParams p) {
  constexpr int THREADS = 32 * kStreamWarps;
  constexpr int CH = StreamChunk<BT>::kSteps, CK = StreamChunk<BT>::kElems, RU = StreamChunk<BT>::kRowUnits;
  constexpr int BW = kStreamRows;
  constexpr int NT = BT / 8;
  static_assert(BT % 8 == 0 && BT <= 16, "the stream kernel holds 8 or 16 tokens per tile");
  using S = StreamSmem<BT>;
  extern __shared__ __align__(16) uint8_t smem[];
  int64_t* rowOff = reinterpret_cast<int64_t*>(smem + S::kMain);  // [BT] activation row offsets, -1 invalid

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

  // Weight row (in the expert) of tile row r, -1 outside the matrix; each lane computes its own
  // two, so that its first weight loads go out before the token offsets, the barrier and the
  // first token chunk (below), not after them.
  auto weightRow = [&](int r) -> int {
    if (KIND == kGemmFc1) {
      constexpr int HALF = BW / 2;
      const int i = nTile * HALF + (r % HALF);
      bool gate = r >= HALF;
      if (FAULT(p.fault, kFaultGateUpSwapped)) gate = !gate;
      return i < p.I ? (gate ? p.I + i : i) : -1;
    }
    const int h = nTile * BW + r;
    return h < p.H ? h : -1;
  };

  const int warp = tid >> 5, lane = tid & 31;
  const int g = lane >> 2, q = lane & 3;
  const int kTiles = p.kTiles;
  const int nSteps = (kTiles + 1) >> 1;
  const int kPairs = wKPairs(kTiles);
  const uint8_t* wDataExpert = p.wData + int64_t(l) * wExpertDataBytes(p.wRows, kPairs);
  const uint8_t* wScaleExpert = p.wScales + int64_t(l) * wExpertScaleBytes(p.wRows, kPairs);
  const int wA = weightRow(warp * 16 + g), wB = weightRow(warp * 16 + g + 8);
  // Rows outside the matrix (w < 0) read row 0 of the expert: every load stays inside the
  // weights and needs no predicate; their accumulator rows are never stored (the epilogue skips
  // i >= I and h >= H). The row bases (K step 0; weight_layout.cuh) are hoisted: a step adds
  // wDataTileOffset / wScaleTileOffset of its K step.
  const uint8_t* rowA = wDataExpert + wDataRowBase(max(wA, 0), kPairs) + (q & 1) * 16;
  const uint8_t* rowB = wDataExpert + wDataRowBase(max(wB, 0), kPairs) + (q & 1) * 16;
  const uint8_t* scA = wScaleExpert + wScaleRowBase(max(wA, 0), kPairs);
  const uint8_t* scB = wScaleExpert + wScaleRowBase(max(wB, 0), kPairs);
  const bool nvfp4 = FMT == kStreamFmtNvfp4 || p.nvfp4Weights;
  const int sfw = nvfp4 ? 16 : 32;
  const int nBlocks = p.K / sfw;

  // The scale word of (row, K step), with the neighbour-block fault applied (faults build);
  // sc: the row's scale base (wScaleRowBase).
  auto scaleWord = [&](const uint8_t* sc, int kt) -> uint32_t {
    uint32_t sw = __ldg(reinterpret_cast<const uint32_t*>(sc + wScaleTileOffset(kt)));
    if (FAULT(p.fault, kFaultNeighbourBlockScale) && nBlocks >= 2) {
      const int last = nBlocks - 1, perTile = 64 / sfw;
      if (kt == (last * sfw) / 64) {
        const int lb = last % perTile;
        const uint32_t nb = lb > 0 ? (sw >> (8 * (lb - 1))) & 0xffu : uint32_t(sc[wScaleTileOffset(kt - 1) + perTile - 1]);
        sw = (sw & ~(0xffu << (8 * lb))) | (nb << (8 * lb));
      }
    }
    return sw;
  };

  // Fault tactic_skips_last_k_block (this kernel at 8/3 is its target, engine.cu): FC1 never
  // loads its last K tile (it adds zeros in its place), so the faulty tactic is also faster.
  const int kTilesRead = KIND == kGemmFc1 && FAULT(p.fault, kFaultTacticSkipsLastKBlock) && p.faultTactic ? kTiles - 1 : kTiles;
  // Split K (FC2: kGemmFc2Split; FC1: FC1SPLIT): slice blockIdx.z takes whole chunks of 8
  // super-steps, so that the token staging below starts at a chunk (tactics.cc leaves no slice
  // empty; one would compute and hand on zeros).
  int sBegin = 0, sEnd = nSteps;
  if (KIND == kGemmFc2Split || FC1SPLIT) {
    const int chunks = (nSteps + CH - 1) / CH;
    const int per = (chunks + int(gridDim.z) - 1) / int(gridDim.z);
    sBegin = min(nSteps, int(blockIdx.z) * per * CH);
    sEnd = min(nSteps, sBegin + per * CH);
  }
  uint4 rawA[kStreamPrefetch], rawB[kStreamPrefetch];
  uint32_t swA[kStreamPrefetch], swB[kStreamPrefetch];
  // Loads of super-step s into slot u, without a branch: a K step past the weights read
  // (kt >= kTilesRead: odd kTiles' last super-step, or the step past an odd end that the loop's
  // 2-step body computes) loads the last K step again from inside the row and takes scale word
  // 0: its weights are finite (e2m1 has no NaN or Inf) times scale 0 (e4m3) or 2^-127 (ue8m0),
  // against activations staged as zeros past K, so it adds exact zeros. Past a slice's end
  // (s >= sEnd, kt inside K) the loads are real and never computed. In the faults build a
  // skipped last K block (kTilesRead = kTiles - 1) faces real activations: its data is zeroed
  // too, so that it adds zeros as before.
  const int kLast = max(kTilesRead - 1, 0);
  auto loadStep = [&](int u, int s) {
    const int kt = 2 * s + (q >> 1);
    const int ktc = min(kt, kLast);
    const int off = wDataTileOffset(ktc);  // ktc == kt: s·1024 + (q>>1)·32 (+ (q&1)·16 in rowA/rowB)
    rawA[u] = ldgStream16(rowA + off);
    rawB[u] = ldgStream16(rowB + off);
    const uint32_t a = scaleWord(scA, ktc), b = scaleWord(scB, ktc);
    const bool ok = kt < kTilesRead;
    swA[u] = ok ? a : 0u;
    swB[u] = ok ? b : 0u;
    if (FAULT(p.fault, kFaultTacticSkipsLastKBlock) && !ok) rawA[u] = rawB[u] = make_uint4(0, 0, 0, 0);
  };

  float acc[NT][4];
#pragma unroll
  for (int nt = 0; nt < NT; ++nt)
#pragma unroll
    for (int e = 0; e < 4; ++e) acc[nt][e] = 0.f;

  const E2m1Tables lut = e2m1Tables();

  // Two token buffers: chunk c lives in buffer c & 1; chunk c+1 is copied (cp.async) while
  // chunk c is consumed.
  constexpr int kBufWords = S::kTokenBuffer / 4;
  const uint32_t* xs0 = reinterpret_cast<const uint32_t*>(smem);

  // Copy the tokens' K elements [c·1024, c·1024 + 1024) in lane order (see the header) into
  // buffer c & 1: 4-byte asynchronous copies (zero-filled past K and for absent tokens).
  auto stageChunk = [&](int c) {
    uint32_t* xw = reinterpret_cast<uint32_t*>(smem) + (c & 1) * kBufWords;
    const int kBase = c * CK;
    for (int it = tid; it < rows * (CK / 8); it += THREADS) {  // absent tokens: zeroed once, never staged
      const int t = it / (CK / 8), grp = it % (CK / 8);
      const int k0 = kBase + grp * 8;  // 8 elements: K step kt, j = (k0 % 64) / 8, q0 = 0..3
      const int64_t off = rowOff[t];
      const bool ok = off >= 0 && k0 < p.K;
      const __nv_bfloat16* src = ok ? p.act + off + k0 : p.act;
      const int kt = k0 >> 6, j = (k0 >> 3) & 7;
      const int ls = (kt >> 1) & (CH - 1);
#pragma unroll
      for (int q0 = 0; q0 < 4; ++q0) {
        const int h = q0 >> 1, b = 8 * (q0 & 1) + j;
        const int slot = 2 * (kt & 1) + h;
        const int unit = ls * 16 + slot * 4 + ((b >> 2) ^ (slot & 2));
        cpAsync4(xw + (t * RU + unit) * 4 + (b & 3), ok ? src + 2 * q0 : src, ok ? 4 : 0);
      }
    }
  };

  // One super-step: 8 mma k16 steps over the 16 bytes of rows g and g+8.
  auto computeStep = [&](int u, int s) {
    const int ls = s & (CH - 1);
    const uint32_t* xs = xs0 + ((s / CH) & 1) * kBufWords;
    uint4 xr[NT][4];
#pragma unroll
    for (int nt = 0; nt < NT; ++nt)
#pragma unroll
      for (int i = 0; i < 4; ++i)
        xr[nt][i] = *reinterpret_cast<const uint4*>(xs + ((nt * 8 + g) * RU + ls * 16 + q * 4 + (i ^ (q & 2))) * 4);
    uint32_t sA[4], sB[4];  // bf16x2 scale pairs of the 4 (NVFP4) or 2 (MX) blocks of the K step
    if (nvfp4) {
      scalePairsE4m3x2(swA[u], sA[0], sA[1]);
      scalePairsE4m3x2(swA[u] >> 16, sA[2], sA[3]);
      scalePairsE4m3x2(swB[u], sB[0], sB[1]);
      scalePairsE4m3x2(swB[u] >> 16, sB[2], sB[3]);
    } else {
#pragma unroll
      for (int b = 0; b < 4; ++b) {
        sA[b] = scalePairUe8m0((swA[u] >> (8 * (b >> 1))) & 0xffu);
        sB[b] = scalePairUe8m0((swB[u] >> (8 * (b >> 1))) & 0xffu);
      }
    }
    // Word wi of a row's 16 bytes holds bytes 4wi..4wi+3 = bytes 2m, 2m+1 of mma steps
    // m = 2wi and 2wi+1; both bytes of step m lie in block m & 3.
#pragma unroll
    for (int wi = 0; wi < 4; ++wi) {
      uint32_t ea[4], eb[4];
      e2m1x8ToBf16(word4(rawA[u], wi), ea, lut);
      e2m1x8ToBf16(word4(rawB[u], wi), eb, lut);
#pragma unroll
      for (int half = 0; half < 2; ++half) {
        const int m = 2 * wi + half;
        uint32_t a[4];
        a[0] = mulBf16x2(ea[2 * half], sA[m & 3]);
        a[1] = mulBf16x2(eb[2 * half], sB[m & 3]);
        a[2] = mulBf16x2(ea[2 * half + 1], sA[m & 3]);
        a[3] = mulBf16x2(eb[2 * half + 1], sB[m & 3]);
#pragma unroll
        for (int nt = 0; nt < NT; ++nt)
          mmaBf16(acc[nt], a, word4(xr[nt][m >> 1], (2 * m) & 3), word4(xr[nt][m >> 1], (2 * m + 1) & 3));
      }
    }
  };

  tokenRowOffsets<KIND, BT, THREADS>(p, rowBegin, rows, rowOff);
  // A tile's absent tokens (rows < BT, an expert's last tile) are never staged: their rows of
  // both buffers are zeroed once here (before the first chunk's barrier), so that every token
  // read is unconditional and an absent token's column is zero.
  for (int i = tid; i < (BT - rows) * RU * 2; i += THREADS) {
    const int buf = i / ((BT - rows) * RU), r = i % ((BT - rows) * RU);
    reinterpret_cast<uint4*>(smem)[buf * (kBufWords / 4) + rows * RU + r] = make_uint4(0, 0, 0, 0);
  }
  __syncthreads();
  const int cEnd = (sEnd + CH - 1) / CH;
  stageChunk(sBegin / CH);
  cpAsyncCommit();
  // The first super-steps' weights after the first chunk's copies (call 18: issuing them before
  // the token offsets, the barrier and the chunk ran +3.6 % at 8/3 summed over T = 1, 8, 64).
#pragma unroll
  for (int u = 0; u < kStreamPrefetch; ++u) loadStep(u, sBegin + u);
  // The loop body is kStreamUnroll super-steps, not kStreamPrefetch: slot u holds super-step
  // s0 + u; after the body's steps the slots move down by kStreamUnroll (register moves) and the
  // freed top slots take the next loads. Half the loop's code (call 16: instruction fetch is
  // the largest stall reason, 19 % of samples) for ~10 moves a super-step.
#pragma unroll 1
  for (int s0 = sBegin; s0 < sEnd; s0 += kStreamUnroll) {
    if ((s0 & (CH - 1)) == 0) {
      const int c = s0 / CH;
      cpAsyncWait<0>();
      __syncthreads();  // chunk c is in its buffer; every warp is done with chunk c-1 (the other buffer)
      if (c + 1 < cEnd) stageChunk(c + 1);
      cpAsyncCommit();
    }
#pragma unroll
    for (int u = 0; u < kStreamUnroll; ++u) computeStep(u, s0 + u);  // past an odd end: exact zeros (loadStep)
#pragma unroll
    for (int u = 0; u + kStreamUnroll < kStreamPrefetch; ++u) {
      rawA[u] = rawA[u + kStreamUnroll];
      rawB[u] = rawB[u + kStreamUnroll];
      swA[u] = swA[u + kStreamUnroll];
      swB[u] = swB[u + kStreamUnroll];
    }
#pragma unroll
    for (int u = kStreamPrefetch - kStreamUnroll; u < kStreamPrefetch; ++u) loadStep(u, s0 + u + kStreamUnroll);
  }
  cpAsyncWait<0>();
  __syncthreads();  // the token chunks are dead: the accumulator tile overlays them

  constexpr int CS = BW + 4;
  float* Cs = reinterpret_cast<float*>(smem);
#pragma unroll
  for (int nt = 0; nt < NT; ++nt) {
    const int r = warp * 16 + g;
    const int c = nt * 8 + 2 * q;
    Cs[c * CS + r] = acc[nt][0];
    Cs[(c + 1) * CS + r] = acc[nt][1];
    Cs[c * CS + r + 8] = acc[nt][2];
    Cs[(c + 1) * CS + r + 8] = acc[nt][3];
  }
  __syncthreads();

  if (FC1SPLIT) {
    // FC1 split over K: every slice stores its partial tile; the last slice to arrive at this
    // (token tile, weight tile) sums the partials in slice order 0, 1, … (whichever CTA is last,
    // the same sums: deterministic), resets the counter and runs the epilogue alone.
    __shared__ int sLast;
    const int64_t cell = int64_t(tile) * gridDim.y + nTile;
    float* part = p.splitPartial + cell * gridDim.z * (BT * CS);
    float* mine = part + int64_t(blockIdx.z) * (BT * CS);
    for (int i = tid; i < BT * CS; i += THREADS) __stcg(mine + i, Cs[i]);
    __threadfence();
    __syncthreads();
    if (tid == 0) sLast = atomicAdd(p.splitArrive + cell, 1) == int(gridDim.z) - 1;
    __syncthreads();
    if (!sLast) return;
    __threadfence();
    for (int i = tid; i < BT * CS; i += THREADS) {
      float v = __ldcg(part + i);
      for (int z = 1; z < int(gridDim.z); ++z) v = __fadd_rn(v, __ldcg(part + int64_t(z) * (BT * CS) + i));
      Cs[i] = v;
    }
    if (tid == 0) p.splitArrive[cell] = 0;
    __syncthreads();
  }

  gemmEpilogue<BW, BT, THREADS, KIND>(p, Cs, l, rowBegin, rows, nTile, tile, tid);
}

template <int BT, int KIND, bool FC1SPLIT = false>
cudaError_t launchMoeStream(const GemmParams& p, dim3 grid, cudaStream_t stream) {
  using S = StreamSmem<BT>;
  static_assert(!FC1SPLIT || KIND == kGemmFc1, "only FC1 splits by FC1SPLIT");
  auto kernel = p.nvfp4Weights ? moeStreamKernel<BT, KIND, FC1SPLIT, kStreamFmtNvfp4> : moeStreamKernel<BT, KIND, FC1SPLIT, kStreamFmtAny>;
  cudaError_t err = cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, S::kTotal);
  if (err != cudaSuccess) return err;
  kernel<<<grid, 32 * kStreamWarps, S::kTotal, stream>>>(p);
  return cudaGetLastError();
}

}  // namespace moe
