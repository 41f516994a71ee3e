// Device helpers shared by the MoE kernels: number formats (bit exact, SPEC §2),
// cp.async / ldmatrix / mma.sync wrappers, fault switches.
#pragma once
#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cstdint>

#ifndef MOE_FAULTS_BUILD
#define MOE_FAULTS_BUILD 0
#endif

namespace moe {

// Fault codes: harness/faults.ts is the catalog; harness/faults.test.ts checks this enum
// (names and values) and kFaultLast against it. Only the faults build compiles the faulty
// paths in: elsewhere FAULT(x) is the constant false and the compiler removes the branch.
enum FaultCode : int {
  kFaultNone = 0,
  kFaultDroppedLastPartialTile = 1,
  kFaultGateUpSwapped = 2,
  kFaultNeighbourBlockScale = 3,
  kFaultTiesHighIndex = 4,
  kFaultDeepseekBf16Logits = 5,
  kFaultMissingEpsilon = 6,
  kFaultEpOffsetOffByOne = 7,
  kFaultNondeterministicFinalize = 8,
  kFaultLastRowUnwritten = 9,
  kFaultMxExponentRoundDown = 10,
  kFaultTacticSkipsLastKBlock = 11,
  kFaultExpertScaleIgnored = 12,
  kFaultGroupTiesHighIndex = 13,
  kFaultLast = kFaultGroupTiesHighIndex,  // the range check is [0, kFaultLast]
};
#define FAULT(fault, code) (MOE_FAULTS_BUILD && (fault) == (code))

// ---------------------------------------------------------------- number formats

__host__ __device__ inline float bitsToFloat(uint32_t b) {
#ifdef __CUDA_ARCH__
  return __uint_as_float(b);
#else
  float f;
  __builtin_memcpy(&f, &b, 4);
  return f;
#endif
}
__host__ __device__ inline uint32_t floatToBits(float f) {
#ifdef __CUDA_ARCH__
  return __float_as_uint(f);
#else
  uint32_t b;
  __builtin_memcpy(&b, &f, 4);
  return b;
#endif
}

// bf16 bits -> float (exact).
__host__ __device__ inline float bf16BitsToFloat(uint16_t h) { return bitsToFloat(uint32_t(h) << 16); }

// float -> bf16 bits, round to nearest even (NaN stays NaN).
__host__ __device__ inline uint16_t floatToBf16Bits(float f) {
  uint32_t u = floatToBits(f);
  if ((u & 0x7fffffffu) > 0x7f800000u) return uint16_t((u >> 16) | 0x40);
  u += 0x7fffu + ((u >> 16) & 1u);
  return uint16_t(u >> 16);
}

// e4m3 (fn) byte -> float, exact; 0x7F/0xFF are NaN.
__host__ __device__ inline float decodeE4m3(uint32_t b) {
  const uint32_t e = (b >> 3) & 15u, m = b & 7u;
  float v;
  if (e == 15u && m == 7u) {
    v = bitsToFloat(0x7fc00000u);
  } else if (e == 0u) {
    v = float(m) * (1.0f / 512.0f);
  } else {
    v = bitsToFloat(((e + 120u) << 23) | (m << 20));
  }
  return (b & 0x80u) ? -v : v;
}

// ue8m0 byte -> float 2^(e-127); 255 is NaN. e = 0 gives 2^-127 (a float subnormal).
__host__ __device__ inline float decodeUe8m0(uint32_t e) {
  if (e == 255u) return bitsToFloat(0x7fc00000u);
  if (e == 0u) return bitsToFloat(0x00400000u);
  return bitsToFloat(e << 23);
}

// float -> e4m3 (fn) byte: round to nearest even, saturate at ±448, NaN -> 0x7F,
// sign kept on zero.
__host__ __device__ inline uint32_t encodeE4m3(float x) {
  const uint32_t u = floatToBits(x);
  const uint32_t sign = (u >> 24) & 0x80u;
  const uint32_t a = u & 0x7fffffffu;
  if (a > 0x7f800000u) return 0x7fu;
  if (a >= 0x43e00000u) return sign | 0x7eu;  // >= 448, inf included
  if (a >= 0x3c800000u) {                     // >= 2^-6: normal e4m3
    const uint32_t r = (a + 0x7ffffu + ((a >> 20) & 1u)) >> 20;
    uint32_t code = r - (120u << 3);
    if (code > 0x7eu) code = 0x7eu;
    return sign | code;
  }
  // subnormal range: multiples of 2^-9; a·512 < 8 is exact in float.
  const float s = bitsToFloat(a) * 512.0f;
  const float fl = float(int(s));
  const float frac = s - fl;
  int q = int(fl);
  if (frac > 0.5f || (frac == 0.5f && (q & 1))) q += 1;
  return sign | uint32_t(q);
}

// Magnitude code (0..7) of the e2m1 value nearest to a >= 0, ties to even, saturating.
__host__ __device__ inline uint32_t e2m1MagnitudeCode(float a) {
  if (a <= 1.25f) return a <= 0.25f ? 0u : (a < 0.75f ? 1u : 2u);
  if (a <= 2.5f) return a < 1.75f ? 3u : 4u;
  return a < 3.5f ? 5u : (a <= 5.0f ? 6u : 7u);
}

// e2m1 code (low 4 bits) -> float, exact; code 8 is -0.
__host__ __device__ inline float decodeE2m1(uint32_t code) {
  const uint32_t c = code & 7u;
  const float mag = c < 2u ? 0.5f * float(c) : bitsToFloat(((126u + (c >> 1)) << 23) | ((c & 1u) << 22));
  return (code & 8u) ? -mag : mag;
}

// Round x to the nearest e2m1 value (sign kept; NaN stays NaN).
__host__ __device__ inline float roundE2m1(float x) {
  const float a = fabsf(x);
  float q;
  if (a <= 1.25f) q = a <= 0.25f ? 0.f : (a < 0.75f ? 0.5f : 1.f);
  else if (a <= 2.5f) q = a < 1.75f ? 1.5f : 2.f;
  else q = a < 3.5f ? 3.f : (a <= 5.f ? 4.f : (a == a ? 6.f : a));
  return (floatToBits(x) & 0x80000000u) ? -q : q;
}

// Round x to the nearest e4m3 value (float), via the byte encoding.
__host__ __device__ inline float roundE4m3(float x) { return decodeE4m3(encodeE4m3(x)); }

// MX scale exponent n = ceil(log2(amax / elementMax)) for elementMax = 448 (e4m3),
// exactly (no rounding of the quotient): amax = m·2^e with m in [0.5, 1), 448 = 0.875·2^9.
// Returns the ue8m0 code n + 127 clamped to [0, 254]; amax == 0 gives code 0.
// roundDown: floor instead of ceil (fault mx_exponent_round_down).
__host__ __device__ inline int mxfp8ScaleCode(float amax, bool roundDown) {
  if (!(amax > 0.0f)) return 0;
  if (!(amax <= 3.4e38f)) return 254;
  int e;
  const float m = frexpf(amax, &e);
  int n;
  if (!roundDown) n = e - 9 + (m > 0.875f ? 1 : 0);
  else n = e - 10 + (m >= 0.875f ? 1 : 0);
  int code = n + 127;
  return code < 0 ? 0 : (code > 254 ? 254 : code);
}

// Power of two 2^(code-127) as float (code in [0, 254]).
__host__ __device__ inline float pow2FromCode(int code) { return decodeUe8m0(uint32_t(code)); }

// -------------------------------------------------------------- device-only helpers
#ifdef __CUDACC__

__device__ __forceinline__ uint32_t smemAddr(const void* p) {
  return static_cast<uint32_t>(__cvta_generic_to_shared(p));
}

// 16-byte async copy global->shared; src_bytes < 16 zero-fills the rest (0 = all zeros).
__device__ __forceinline__ void cpAsync16(void* dst, const void* src, int srcBytes) {
  asm volatile("cp.async.cg.shared.global [%0], [%1], 16, %2;\n" ::"r"(smemAddr(dst)), "l"(src), "r"(srcBytes));
}
__device__ __forceinline__ void cpAsync4(void* dst, const void* src, int srcBytes) {
  asm volatile("cp.async.ca.shared.global [%0], [%1], 4, %2;\n" ::"r"(smemAddr(dst)), "l"(src), "r"(srcBytes));
}
__device__ __forceinline__ void cpAsyncCommit() { asm volatile("cp.async.commit_group;\n" ::); }
template <int N>
__device__ __forceinline__ void cpAsyncWait() {
  asm volatile("cp.async.wait_group %0;\n" ::"n"(N));
}

__device__ __forceinline__ void ldmatrixX4(uint32_t (&r)[4], const void* p) {
  asm volatile("ldmatrix.sync.aligned.m8n8.x4.shared.b16 {%0,%1,%2,%3}, [%4];\n"
               : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3])
               : "r"(smemAddr(p)));
}

// D = A·B + D, m16n8k16, bf16 inputs, fp32 accumulators.
__device__ __forceinline__ void mmaBf16(float (&d)[4], const uint32_t (&a)[4], uint32_t b0, uint32_t b1) {
  asm volatile(
      "mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, "
      "{%0,%1,%2,%3};\n"
      : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3])
      : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));
}

// Two e2m1 codes (one byte: low nibble = lower column) times a scale, as a bf16x2 register
// (low half = low nibble). The e2m1 bits are placed into an fp16 so that fp16(bits)·2^14 is
// the e2m1 value exactly (normals and the subnormal 0.5 alike); then ·s and ·2^14 in float,
// both exact for every finite result, and the final bf16 rounding is exact too
// (e2m1·e4m3 has <= 6 significant bits, e2m1·2^k <= 2).
__device__ __forceinline__ uint32_t dequantE2m1x2(uint32_t byte, float scale) {
  const uint32_t h2 = ((byte & 0x7u) << 9) | ((byte & 0x8u) << 12) | ((byte & 0x70u) << 21) | ((byte & 0x80u) << 24);
  const __half2 hv = *reinterpret_cast<const __half2*>(&h2);
  const float2 f = __half22float2(hv);
  const float lo = __fmul_rn(__fmul_rn(f.x, scale), 16384.0f);
  const float hi = __fmul_rn(__fmul_rn(f.y, scale), 16384.0f);
  const __nv_bfloat162 b = __floats2bfloat162_rn(lo, hi);
  return *reinterpret_cast<const uint32_t*>(&b);
}

__device__ __forceinline__ float warpMax(float v) {
#pragma unroll
  for (int o = 16; o > 0; o >>= 1) v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, o));
  return v;
}

#endif  // __CUDACC__

}  // namespace moe
