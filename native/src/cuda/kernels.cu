// Routing, permutation, hidden-state dequantization, finalize and the prepare-time
// weight repacking. Everything is deterministic: no floating-point atomics, fixed
// summation orders (slot order in finalize, slice order for split-K, index order in
// softmax sums like the reference).
#include "../problem_args.h"
#include "common.cuh"
#include "kernels.h"
#include "weight_layout.cuh"

namespace moe {

namespace {

constexpr int kRoutingWarps = 4;
constexpr int kLoadBatch = 8;  // loads in flight per lane in routing's first passes (E = 256: all of a row)

__device__ __forceinline__ float sanitizeLogit(float x) {
  // NaN and +inf are invalid input, treated as -inf (masked) like the reference.
  return (x == x && x != INFINITY) ? x : -INFINITY;
}
__device__ __forceinline__ float rankKey(float x) { return x == x ? x : -INFINITY; }
__device__ __forceinline__ float sigmoidRouting(float x) {
  const float v = sanitizeLogit(x);
  if (v == -INFINITY) return 0.f;
  return __fdiv_rn(1.0f, __fadd_rn(1.0f, expf(-v)));
}
__device__ __forceinline__ float roundToBf16(float x) { return bf16BitsToFloat(floatToBf16Bits(x)); }
// Element i of a float32 or bf16 array (the logits, the bias), as float32.
__device__ __forceinline__ float f32OrBf16At(const void* data, bool isBf16, int64_t i) {
  return isBf16 ? bf16BitsToFloat(static_cast<const uint16_t*>(data)[i]) : static_cast<const float*>(data)[i];
}

// One warp per token. Shared memory per warp: scores[E], aux[E] (probabilities or
// unbiased sigmoids), taken[E].
__global__ void __launch_bounds__(32 * kRoutingWarps) routingKernel(const RoutingParams p) {
  extern __shared__ __align__(16) uint8_t smem[];
  const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31;
  const int E = p.E;
  float* scores = reinterpret_cast<float*>(smem) + warp * 2 * E;
  float* aux = scores + E;
  uint8_t* taken = reinterpret_cast<uint8_t*>(smem) + kRoutingWarps * 2 * E * 4 + warp * E;
  const int t = blockIdx.x * kRoutingWarps + warp;
  if (t >= p.T) return;
  const int64_t row = int64_t(t) * E;
  const Routing method = static_cast<Routing>(p.method);
  const bool highIndexWins = FAULT(p.fault, kFaultTiesHighIndex);

  // The row's logits are read kLoadBatch per lane at a time, all loads issued before the first
  // use: a loop of one load per iteration waits one memory latency per 32 experts (call 16's
  // ncu: 17.9 us for one DeepSeek-V3 token).
  for (int e0 = lane; e0 < E; e0 += 32 * kLoadBatch) {
    float x[kLoadBatch];
#pragma unroll
    for (int i = 0; i < kLoadBatch; ++i) {
      const int e = e0 + 32 * i;
      x[i] = e >= E ? 0.f : f32OrBf16At(p.logits, p.logitsBf16, row + e);
    }
#pragma unroll
    for (int i = 0; i < kLoadBatch; ++i) {
      const int e = e0 + 32 * i;
      if (e >= E) break;
      if (method == Routing::DeepseekV3 && FAULT(p.fault, kFaultDeepseekBf16Logits)) x[i] = roundToBf16(x[i]);
      scores[e] = sanitizeLogit(x[i]);
      taken[e] = 0;
    }
  }
  __syncwarp();

  if (method == Routing::Default || method == Routing::RenormalizeNaive) {
    float m = -INFINITY;
    for (int e = lane; e < E; e += 32) m = fmaxf(m, scores[e]);
    m = warpMax(m);
    for (int e = lane; e < E; e += 32) {
      const float v = scores[e];
      aux[e] = (m == -INFINITY || v == -INFINITY) ? 0.f : expf(__fsub_rn(v, m));
    }
    __syncwarp();
    // Sum in index order (as the reference does), by lane 0.
    float sum = 0.f;
    if (lane == 0)
#pragma unroll 8
      for (int e = 0; e < E; ++e) sum = __fadd_rn(sum, aux[e]);
    sum = __shfl_sync(0xffffffffu, sum, 0);
    __syncwarp();  // lane 0's reads of aux happen before aux is overwritten
    for (int e = lane; e < E; e += 32) {
      const bool masked = scores[e] == -INFINITY;
      const float pr = m == -INFINITY ? 0.f : __fdiv_rn(aux[e], sum);
      aux[e] = pr;
      scores[e] = masked ? -INFINITY : pr;
    }
  } else if (method == Routing::DeepseekV3) {
    for (int e0 = lane; e0 < E; e0 += 32 * kLoadBatch) {
      float bias[kLoadBatch];  // loaded for every expert (masked ones ignore it), all before the first use
#pragma unroll
      for (int i = 0; i < kLoadBatch; ++i) {
        const int e = e0 + 32 * i;
        bias[i] = (e >= E || !p.bias) ? 0.f : f32OrBf16At(p.bias, p.biasBf16, e);
      }
#pragma unroll
      for (int i = 0; i < kLoadBatch; ++i) {
        const int e = e0 + 32 * i;
        if (e >= E) break;
        const float x = scores[e];
        const float s = sigmoidRouting(x);
        aux[e] = s;
        scores[e] = x == -INFINITY ? -INFINITY : rankKey(__fadd_rn(s, bias[i]));
      }
    }
    __syncwarp();
    if (p.nGroup > 1) {
      const int size = E / p.nGroup;
      float gscore = -INFINITY;
      if (lane < p.nGroup) {
        float first = -INFINITY, second = -INFINITY;
#pragma unroll 8
        for (int i = lane * size; i < (lane + 1) * size; ++i) {
          const float v = scores[i];
          if (v > first) {
            second = first;
            first = v;
          } else if (v > second) {
            second = v;
          }
        }
        gscore = rankKey(__fadd_rn(first, second));
      }
      // Keep the topkGroup best groups (ties: lower group index; the fault: higher), mask the others.
      const bool groupHighWins = FAULT(p.fault, kFaultGroupTiesHighIndex);
      uint32_t keptMask = 0;
      for (int r = 0; r < p.topkGroup; ++r) {
        float bv = -INFINITY;
        int bi = groupHighWins ? -1 : 0x7fffffff;
        for (int gi = 0; gi < p.nGroup; ++gi) {
          const float v = __shfl_sync(0xffffffffu, gscore, gi);
          if ((keptMask >> gi) & 1u) continue;
          if (v > bv || (v == bv && (groupHighWins ? gi > bi : gi < bi))) {
            bv = v;
            bi = gi;
          }
        }
        keptMask |= 1u << bi;
      }
      __syncwarp();  // group scans of scores happen before the masking writes
      for (int e = lane; e < E; e += 32)
        if (!((keptMask >> (e / size)) & 1u)) scores[e] = -INFINITY;
    }
  }
  __syncwarp();

  // Top-k: higher score first, exact ties to the lower index (the fault: higher index).
  // Lane j keeps slot j's expert (topK <= 32, checked by problem_args).
  int mine = 0;
  for (int j = 0; j < p.topK; ++j) {
    float bv = -INFINITY;
    int bi = highIndexWins ? -1 : 0x7fffffff;
    for (int e = lane; e < E; e += 32) {
      if (taken[e]) continue;
      const float v = rankKey(scores[e]);
      if (v > bv || (v == bv && (highIndexWins ? e > bi : e < bi))) {
        bv = v;
        bi = e;
      }
    }
#pragma unroll
    for (int o = 16; o > 0; o >>= 1) {
      const float ov = __shfl_xor_sync(0xffffffffu, bv, o);
      const int oi = __shfl_xor_sync(0xffffffffu, bi, o);
      const bool valid = highIndexWins ? oi >= 0 : oi != 0x7fffffff;
      if (valid && (ov > bv || (ov == bv && (highIndexWins ? oi > bi : oi < bi)))) {
        bv = ov;
        bi = oi;
      }
    }
    // bv is -inf at worst (never NaN), so bi is a valid untaken expert; lane 0's decides.
    bi = __shfl_sync(0xffffffffu, bi, 0);
    if (lane == 0) taken[bi] = 1;
    if (lane == j) mine = bi;
    __syncwarp();
  }

  // Weights, lane j for slot j. Every sum over slots is taken in slot order j = 0..k-1 (a chain
  // of shuffles, the same on every lane), as the reference does. For the methods whose weights
  // come from the logits (renormalize, top-k, llama4), scores[e] still holds the sanitized logit:
  // nothing above wrote it for them.
  const bool active = lane < p.topK;
  const int e = mine;
  auto slotSum = [&](float v) {
    float sum = 0.f;
    for (int jj = 0; jj < p.topK; ++jj) sum = __fadd_rn(sum, __shfl_sync(0xffffffffu, v, jj));
    return sum;
  };
  float w = 0.f;
  switch (method) {
    case Routing::Default:
      w = aux[e];
      break;
    case Routing::RenormalizeNaive: {
      const float a = aux[e];
      const float sum = slotSum(a);
      w = sum > 0.f ? __fdiv_rn(a, sum) : 0.f;
      break;
    }
    case Routing::Renormalize: {
      const float v = active ? scores[e] : -INFINITY;
      const float m = warpMax(v);
      if (m == -INFINITY) break;  // every chosen logit masked: weights 0
      const float ex = v == -INFINITY ? 0.f : expf(__fsub_rn(v, m));
      w = __fdiv_rn(ex, slotSum(ex));
      break;
    }
    case Routing::TopK: {
      const float v = scores[e];
      w = v == -INFINITY ? 0.f : v;
      break;
    }
    case Routing::Llama4:
      w = sigmoidRouting(scores[e]);
      break;
    case Routing::DeepseekV3: {
      const float a = aux[e];
      const float sum = slotSum(a);
      const float denom = FAULT(p.fault, kFaultMissingEpsilon) ? sum : __fadd_rn(sum, 1e-20f);
      w = __fmul_rn(__fdiv_rn(a, denom), p.routedScalingFactor);
      break;
    }
  }
  if (active) {
    p.ids[int64_t(t) * p.topK + lane] = e;
    p.weights[int64_t(t) * p.topK + lane] = w;
  }
}

// ---------------------------------------------------------------- permutation

__device__ __forceinline__ int localIndex(int32_t id, int localOffset, int El, int fault) {
  const int off = FAULT(fault, kFaultEpOffsetOffByOne) ? localOffset + 1 : localOffset;
  const int l = id - off;
  return (l >= 0 && l < El) ? l : -1;
}

__global__ void countKernel(const PermuteParams p) {
  extern __shared__ int hist[];
  for (int l = threadIdx.x; l < p.El; l += blockDim.x) hist[l] = 0;
  __syncthreads();
  const int64_t begin = int64_t(blockIdx.x) * p.chunk;
  const int64_t end = min(p.slots, begin + p.chunk);
  for (int64_t f = begin + threadIdx.x; f < end; f += blockDim.x) {
    const int l = localIndex(p.ids[f], p.localOffset, p.El, p.fault);
    if (l >= 0) atomicAdd(&hist[l], 1);  // integer counts: order-independent
  }
  __syncthreads();
  for (int l = threadIdx.x; l < p.El; l += blockDim.x) p.chunkCounts[int64_t(blockIdx.x) * p.El + l] = hist[l];
}

// Exclusive scan of n <= 1024 values held one per thread (blockDim.x == 1024).
__device__ int blockExclusiveScan(int v, int* warpSums, int* total) {
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
  int x = v;
#pragma unroll
  for (int o = 1; o < 32; o <<= 1) {
    const int y = __shfl_up_sync(0xffffffffu, x, o);
    if (lane >= o) x += y;
  }
  if (lane == 31) warpSums[warp] = x;
  __syncthreads();
  if (warp == 0) {
    int s = warpSums[lane];
#pragma unroll
    for (int o = 1; o < 32; o <<= 1) {
      const int y = __shfl_up_sync(0xffffffffu, s, o);
      if (lane >= o) s += y;
    }
    warpSums[lane] = s;  // inclusive
  }
  __syncthreads();
  const int before = warp > 0 ? warpSums[warp - 1] : 0;
  if (total) *total = warpSums[31];
  return before + x - v;
}

__global__ void __launch_bounds__(1024) scanKernel(const PermuteParams p) {
  __shared__ int warpSums[32];
  __shared__ int totalTiles;
  const int l = threadIdx.x;  // El <= 1024
  int count = 0;
  if (l < p.El) {
    for (int c = 0; c < p.numChunks; ++c) {
      int* cell = p.chunkCounts + int64_t(c) * p.El + l;
      const int v = *cell;
      *cell = count;
      count += v;
    }
  }
  const int start = blockExclusiveScan(count, warpSums, nullptr);
  __syncthreads();  // every warp has read warpSums before the second scan rewrites it
  const int tiles = (count + p.tileTokens - 1) / p.tileTokens;
  const int tstart = blockExclusiveScan(tiles, warpSums, nullptr);
  if (threadIdx.x == 0) totalTiles = warpSums[31];
  __syncthreads();
  if (l < p.El) {
    p.expertCount[l] = count;
    p.expertStart[l] = start;
    p.tileStart[l] = tstart;
  }
  if (threadIdx.x == 0) {
    p.tileStart[p.El] = totalTiles;
    *p.numTiles = totalTiles;
  }
}

// One warp walks the slots [begin, end) in order and gives each local slot the next position of
// its expert (run[l], advanced): stable positions within each expert.
__device__ void scatterSlots(const PermuteParams& p, int* run, int64_t begin, int64_t end, int lane) {
  for (int64_t base = begin; base < end; base += 32) {
    const int64_t f = base + lane;
    const int l = f < end ? localIndex(p.ids[f], p.localOffset, p.El, p.fault) : -1;
    const uint32_t peers = __match_any_sync(0xffffffffu, l);
    const int rank = __popc(peers & ((1u << lane) - 1u));
    int pos = 0;
    if (l >= 0) pos = run[l] + rank;
    __syncwarp();
    if (l >= 0) {
      if (rank == 0) run[l] += __popc(peers);
      p.permSlot[pos] = int(f);
    }
    __syncwarp();
  }
}

// One warp per chunk, walking it in slot order: stable positions within each expert.
constexpr int kScatterWarps = 4;
__global__ void __launch_bounds__(32 * kScatterWarps) scatterKernel(const PermuteParams p) {
  extern __shared__ int running[];  // [kScatterWarps][El]
  const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31;
  const int c = blockIdx.x * kScatterWarps + warp;
  if (c >= p.numChunks) return;
  int* run = running + warp * p.El;
  for (int l = lane; l < p.El; l += 32) run[l] = p.expertStart[l] + p.chunkCounts[int64_t(c) * p.El + l];
  __syncwarp();
  const int64_t begin = int64_t(c) * p.chunk;
  const int64_t end = min(p.slots, begin + p.chunk);
  scatterSlots(p, run, begin, end, lane);
}

// One chunk (slots <= chunk, small T): count, scan and scatter in one CTA of 1024 threads, the
// same results as the three kernels above (counts, starts, tile schedule; positions in slot order
// within an expert), two launches fewer. chunkCounts is not used.
__global__ void __launch_bounds__(1024) permuteOneChunkKernel(const PermuteParams p) {
  extern __shared__ int run[];  // [El]: counts, then each expert's next position
  __shared__ int warpSums[32];
  __shared__ int totalTiles;
  const int l = threadIdx.x;  // El <= 1024
  if (l < p.El) run[l] = 0;
  __syncthreads();
  for (int64_t f = threadIdx.x; f < p.slots; f += blockDim.x) {
    const int e = localIndex(p.ids[f], p.localOffset, p.El, p.fault);
    if (e >= 0) atomicAdd(&run[e], 1);  // integer counts: order-independent
  }
  __syncthreads();
  const int count = l < p.El ? run[l] : 0;
  const int start = blockExclusiveScan(count, warpSums, nullptr);
  __syncthreads();  // every warp has read warpSums before the second scan rewrites it
  const int tiles = (count + p.tileTokens - 1) / p.tileTokens;
  const int tstart = blockExclusiveScan(tiles, warpSums, nullptr);
  if (threadIdx.x == 0) totalTiles = warpSums[31];
  if (l < p.El) {
    p.expertCount[l] = count;
    p.expertStart[l] = start;
    p.tileStart[l] = tstart;
    run[l] = start;
  }
  __syncthreads();
  if (threadIdx.x == 0) {
    p.tileStart[p.El] = totalTiles;
    *p.numTiles = totalTiles;
  }
  if (threadIdx.x < 32) scatterSlots(p, run, 0, p.slots, threadIdx.x);  // warp 0, in slot order
}

// ---------------------------------------------------------------- dequantize hidden

__global__ void dequantHiddenKernel(int format, const uint8_t* data, const uint8_t* scales, int64_t T, int H,
                                    __nv_bfloat16* out) {
  // One thread per 16 elements.
  const int64_t groups = T * (H / 16);
  for (int64_t gi = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; gi < groups; gi += int64_t(gridDim.x) * blockDim.x) {
    const int64_t t = gi / (H / 16);
    const int h0 = int(gi % (H / 16)) * 16;
    uint32_t packed[8];
    if (format == 0) {
      const float s = decodeE4m3(scales[t * (H / 16) + h0 / 16]);
      const uint2 raw = *reinterpret_cast<const uint2*>(data + t * (H / 2) + h0 / 2);
#pragma unroll
      for (int b = 0; b < 8; ++b) {
        const uint32_t byte = ((b < 4 ? raw.x : raw.y) >> (8 * (b & 3))) & 0xffu;
        const float lo = __fmul_rn(decodeE2m1(byte & 0xfu), s);
        const float hi = __fmul_rn(decodeE2m1(byte >> 4), s);
        packed[b] = uint32_t(floatToBf16Bits(lo)) | (uint32_t(floatToBf16Bits(hi)) << 16);
      }
    } else {
      const float s = decodeUe8m0(scales[t * (H / 32) + h0 / 32]);
      const uint4 raw = *reinterpret_cast<const uint4*>(data + t * H + h0);
      const uint32_t w[4] = {raw.x, raw.y, raw.z, raw.w};
#pragma unroll
      for (int b = 0; b < 8; ++b) {
        const uint32_t word = w[b / 2];
        const uint32_t b0 = (word >> (16 * (b & 1))) & 0xffu, b1 = (word >> (16 * (b & 1) + 8)) & 0xffu;
        const float lo = __fmul_rn(decodeE4m3(b0), s);
        const float hi = __fmul_rn(decodeE4m3(b1), s);
        packed[b] = uint32_t(floatToBf16Bits(lo)) | (uint32_t(floatToBf16Bits(hi)) << 16);
      }
    }
    uint4* dst = reinterpret_cast<uint4*>(out + t * H + h0);
    dst[0] = make_uint4(packed[0], packed[1], packed[2], packed[3]);
    dst[1] = make_uint4(packed[4], packed[5], packed[6], packed[7]);
  }
}

// ---------------------------------------------------------------- finalize

// One thread per (token, 4 hidden columns): out = Σ_j w_j·y_j in slot order j = 0..k-1
// (float32, rounded once to bf16). Split-K partials are summed in slice order first and
// then scaled by out2Scale, as FC2 would have done. Slots are taken kFinalizeBatch at a time
// with every load of the batch (ids, weights, rows, partials) issued before the first sum: a
// loop of one slot per iteration waits two memory latencies per slot (call 16's ncu: 9.2 us
// for one DeepSeek-V3 token). The arithmetic and its order are unchanged.
constexpr int kFinalizeBatch = 8;
__device__ __forceinline__ void addRn(float4& y, const float4& v) {
  y.x = __fadd_rn(y.x, v.x);
  y.y = __fadd_rn(y.y, v.y);
  y.z = __fadd_rn(y.z, v.z);
  y.w = __fadd_rn(y.w, v.w);
}
__device__ __forceinline__ void scaleRn(float4& y, float s) {
  y.x = __fmul_rn(y.x, s);
  y.y = __fmul_rn(y.y, s);
  y.z = __fmul_rn(y.z, s);
  y.w = __fmul_rn(y.w, s);
}
__global__ void __launch_bounds__(256, 2) finalizeKernel(const FinalizeParams p) {
  const int H4 = p.H / 4;
  const int64_t total = int64_t(p.T) * H4;
  const int64_t slots = int64_t(p.T) * p.topK;
  const bool nondeterministic = FAULT(p.fault, kFaultNondeterministicFinalize);
  for (int64_t gi = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; gi < total; gi += int64_t(gridDim.x) * blockDim.x) {
    const int64_t t = gi / H4;
    const int h = int(gi % H4) * 4;
    if (FAULT(p.fault, kFaultLastRowUnwritten) && t == p.T - 1) continue;
    float acc[4] = {0.f, 0.f, 0.f, 0.f};
    for (int j0 = 0; j0 < p.topK; j0 += kFinalizeBatch) {
      int64_t slot[kFinalizeBatch];
      int l[kFinalizeBatch];
      float w[kFinalizeBatch];
#pragma unroll
      for (int i = 0; i < kFinalizeBatch; ++i) {
        const int jj = j0 + i;
        const int j = nondeterministic ? (jj + p.runIndex) % p.topK : jj;
        slot[i] = t * p.topK + j;
        l[i] = jj < p.topK ? localIndex(p.ids[slot[i]], p.localOffset, p.El, p.fault) : -1;
        w[i] = (jj < p.topK && p.useWeights) ? p.weights[slot[i]] : 1.f;
      }
      float4 y[kFinalizeBatch];
#pragma unroll
      for (int i = 0; i < kFinalizeBatch; ++i)
        if (l[i] >= 0) y[i] = *reinterpret_cast<const float4*>(p.y + slot[i] * p.H + h);
      if (p.splitSlices > 0) {
        for (int s = 1; s < p.splitSlices; ++s) {
          float4 v[kFinalizeBatch];
#pragma unroll
          for (int i = 0; i < kFinalizeBatch; ++i)
            if (l[i] >= 0) v[i] = *reinterpret_cast<const float4*>(p.y + (s * slots + slot[i]) * p.H + h);
#pragma unroll
          for (int i = 0; i < kFinalizeBatch; ++i) {
            if (l[i] < 0) continue;
            addRn(y[i], v[i]);
          }
        }
#pragma unroll
        for (int i = 0; i < kFinalizeBatch; ++i) {
          if (l[i] < 0) continue;
          if (p.slotP != nullptr && p.slotP[slot[i]] != 0) {
            const float un = pow2FromCode(127 - p.slotP[slot[i]]);  // 2^-P first, as FC2 does
            scaleRn(y[i], un);
          }
          float scale = p.out2Scale[l[i]];
          if (FAULT(p.fault, kFaultExpertScaleIgnored) && l[i] == 1) scale = 1.f;
          scaleRn(y[i], scale);
        }
      }
#pragma unroll
      for (int i = 0; i < kFinalizeBatch; ++i) {
        if (l[i] < 0) continue;
        acc[0] = __fadd_rn(acc[0], __fmul_rn(w[i], y[i].x));
        acc[1] = __fadd_rn(acc[1], __fmul_rn(w[i], y[i].y));
        acc[2] = __fadd_rn(acc[2], __fmul_rn(w[i], y[i].z));
        acc[3] = __fadd_rn(acc[3], __fmul_rn(w[i], y[i].w));
        if (nondeterministic) {
          // The bug: bf16 atomic adds into the output, in a run-dependent slot order.
#pragma unroll
          for (int e = 0; e < 4; ++e) acc[e] = roundToBf16(acc[e]);
        }
      }
    }
    const uint32_t lo = uint32_t(floatToBf16Bits(acc[0])) | (uint32_t(floatToBf16Bits(acc[1])) << 16);
    const uint32_t hi = uint32_t(floatToBf16Bits(acc[2])) | (uint32_t(floatToBf16Bits(acc[3])) << 16);
    *reinterpret_cast<uint2*>(p.out + t * p.H + h) = make_uint2(lo, hi);
  }
}

__global__ void fill16Kernel(uint16_t* dst, int64_t n, uint16_t value) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n; i += int64_t(gridDim.x) * blockDim.x)
    dst[i] = value;
}

// ---------------------------------------------------------------- prepare: repack

// The repack writes the prepared layout of weight_layout.cuh. `rows` may be several experts'
// rows (a multiple of 16 each): their layout is that of one matrix of all the rows. Every K
// tile of every pair is written, the padding tile of an odd kTiles included (zero bytes, zero
// scale word: its canonical bytes and blocks lie past K), so the buffers need no clearing.

// One thread per (row, K tile, quad lane q): 8 output bytes out[8q + j] = in[4j + q].
__global__ void repackDataKernel(const uint8_t* in, int64_t rows, int K, uint8_t* out) {
  const int kPairs = wKPairs((K + 63) / 64);
  const int kTilesPadded = 2 * kPairs;
  const int rowBytes = K / 2;
  const int64_t total = rows * kTilesPadded * 4;
  for (int64_t gi = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; gi < total; gi += int64_t(gridDim.x) * blockDim.x) {
    const int q = int(gi & 3);
    const int64_t rk = gi >> 2;
    const int kt = int(rk % kTilesPadded);
    const int64_t r = rk / kTilesPadded;
    const uint8_t* src = in + r * rowBytes;
    uint32_t lo = 0, hi = 0;
#pragma unroll
    for (int j = 0; j < 8; ++j) {
      const int b = kt * 32 + 4 * j + q;
      const uint32_t v = b < rowBytes ? src[b] : 0u;
      if (j < 4) lo |= v << (8 * j);
      else hi |= v << (8 * (j - 4));
    }
    *reinterpret_cast<uint2*>(out + wDataOffset(r, kt, kPairs) + 8 * q) = make_uint2(lo, hi);
  }
}

// One thread per (row, K tile): 4 scale bytes (4 NVFP4 blocks, or 2 MX blocks + 2 zeros).
__global__ void repackScalesKernel(const uint8_t* in, int64_t rows, int K, int sf, uint8_t* out) {
  const int kPairs = wKPairs((K + 63) / 64);
  const int kTilesPadded = 2 * kPairs;
  const int nb = K / sf;
  const int per = 64 / sf;
  const int64_t total = rows * kTilesPadded;
  for (int64_t gi = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; gi < total; gi += int64_t(gridDim.x) * blockDim.x) {
    const int kt = int(gi % kTilesPadded);
    const int64_t r = gi / kTilesPadded;
    uint32_t word = 0;
    for (int b = 0; b < per; ++b) {
      const int blk = kt * per + b;
      const uint32_t v = blk < nb ? in[r * nb + blk] : 0u;
      word |= v << (8 * b);
    }
    *reinterpret_cast<uint32_t*>(out + wScaleOffset(r, kt, kPairs)) = word;
  }
}

int gridFor(int64_t work, int threads) {
  int64_t blocks = (work + threads - 1) / threads;
  if (blocks > 65536) blocks = 65536;
  return int(blocks < 1 ? 1 : blocks);
}

}  // namespace

cudaError_t launchRouting(const RoutingParams& p, cudaStream_t s) {
  const int smem = kRoutingWarps * p.E * 9;
  if (smem > 48 * 1024) {
    cudaError_t e = cudaFuncSetAttribute(routingKernel, cudaFuncAttributeMaxDynamicSharedMemorySize, smem);
    if (e != cudaSuccess) return e;
  }
  routingKernel<<<(p.T + kRoutingWarps - 1) / kRoutingWarps, 32 * kRoutingWarps, smem, s>>>(p);
  return cudaGetLastError();
}

cudaError_t launchPermute(const PermuteParams& p, cudaStream_t s) {
  if (p.numChunks == 1) {
    permuteOneChunkKernel<<<1, 1024, p.El * 4, s>>>(p);
    return cudaGetLastError();
  }
  countKernel<<<p.numChunks, 256, p.El * 4, s>>>(p);
  cudaError_t e = cudaGetLastError();
  if (e != cudaSuccess) return e;
  scanKernel<<<1, 1024, 0, s>>>(p);
  e = cudaGetLastError();
  if (e != cudaSuccess) return e;
  scatterKernel<<<(p.numChunks + kScatterWarps - 1) / kScatterWarps, 32 * kScatterWarps, kScatterWarps * p.El * 4, s>>>(p);
  return cudaGetLastError();
}

cudaError_t launchDequantHidden(int format, const uint8_t* data, const uint8_t* scales, int64_t T, int H,
                                __nv_bfloat16* out, cudaStream_t s) {
  dequantHiddenKernel<<<gridFor(T * (H / 16), 256), 256, 0, s>>>(format, data, scales, T, H, out);
  return cudaGetLastError();
}

cudaError_t launchFinalize(const FinalizeParams& p, cudaStream_t s) {
  finalizeKernel<<<gridFor(int64_t(p.T) * (p.H / 4), 256), 256, 0, s>>>(p);
  return cudaGetLastError();
}

cudaError_t launchFill16(uint16_t* dst, int64_t n, uint16_t value, cudaStream_t s) {
  fill16Kernel<<<gridFor(n, 256), 256, 0, s>>>(dst, n, value);
  return cudaGetLastError();
}

cudaError_t launchRepackWeights(const uint8_t* data, const uint8_t* scales, int64_t rows, int K, int sf,
                                uint8_t* outData, uint8_t* outScales, cudaStream_t s) {
  const int kTilesPadded = 2 * wKPairs((K + 63) / 64);
  repackDataKernel<<<gridFor(rows * kTilesPadded * 4, 256), 256, 0, s>>>(data, rows, K, outData);
  cudaError_t e = cudaGetLastError();
  if (e != cudaSuccess) return e;
  repackScalesKernel<<<gridFor(rows * kTilesPadded, 256), 256, 0, s>>>(scales, rows, K, sf, outScales);
  return cudaGetLastError();
}

}  // namespace moe
