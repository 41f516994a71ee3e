// FP4 (e2m1) weights to bf16 by byte permutes, and the exact bf16x2 products by block scales,
// shared by the decode kernel (gemm_stream.cuh) and the shared-memory-dequantizing kernel
// (gemm_smemdq.cuh). Every value produced is exact (contract item 1).
#pragma once
#include <cuda_fp8.h>

#include "common.cuh"

namespace moe {

__device__ __forceinline__ uint32_t prmt(uint32_t a, uint32_t b, uint32_t sel) {
  uint32_t d;
  asm("prmt.b32 %0, %1, %2, %3;\n" : "=r"(d) : "r"(a), "r"(b), "r"(sel));
  return d;
}

// Eight e2m1 codes (code n in bits 4n..4n+3 of w) -> four bf16x2 of their values, unscaled:
// out[i] holds codes 2i (low half) and 2i+1, i.e. byte i of w. Table lookups by byte permutes:
// the high and low bytes of bf16(e2m1 magnitude) for magnitude codes 0..7 (0, 0.5, 1, 1.5, 2,
// 3, 4, 6 = 0x0000 0x3F00 0x3F80 0x3FC0 0x4000 0x4040 0x4080 0x40C0), the sign through prmt's
// sign-replicate mode (selector bit 3 = the code's sign bit: 0x7F stays, 0x00 when negative;
// bit 6 of that byte, inverted and moved to bit 7, is the bf16 sign).
// The lookups' first tables. PRMT takes one immediate; its other table must be a register, and
// ptxas, left alone, copies a uniform register into it before every PRMT (call 16's SASS of
// config 3, NOTES run 9: 89.5 M IMAD.U32 of 668.7 M instructions, ~6.4 per 8 codes). Made once
// per thread from a zero that ptxas can neither fold (the launch's dynamic shared memory size,
// < 2^31, is a run-time value) nor keep in a uniform register (times %laneid), they stay in
// three registers.
struct E2m1Tables {
  uint32_t hi, lo, sign;
};
__device__ __forceinline__ E2m1Tables e2m1Tables() {
  uint32_t lane, dyn;
  asm volatile("mov.u32 %0, %%laneid;" : "=r"(lane));
  asm volatile("mov.u32 %0, %%dynamic_smem_size;" : "=r"(dyn));
  const uint32_t zero = (dyn >> 31) * lane;
  return {0x3F3F3F00u | zero, 0xC0800000u | zero, 0x7F7F7F7Fu | zero};
}

__device__ __forceinline__ void e2m1x8ToBf16(uint32_t w, uint32_t (&out)[4], const E2m1Tables& t) {
  const uint32_t m = w & 0x77777777u, mh = m >> 16, wh = w >> 16;
  uint32_t h0 = prmt(t.hi, 0x40404040u, m), h1 = prmt(t.hi, 0x40404040u, mh);
  const uint32_t l0 = prmt(t.lo, 0xC0804000u, m), l1 = prmt(t.lo, 0xC0804000u, mh);
  const uint32_t s0 = prmt(t.sign, 0x7F7F7F7Fu, w), s1 = prmt(t.sign, 0x7F7F7F7Fu, wh);
  h0 |= ~(s0 << 1) & 0x80808080u;  // 0x80 exactly where the selected byte came out 0x00
  h1 |= ~(s1 << 1) & 0x80808080u;
  out[0] = prmt(l0, h0, 0x5140u);
  out[1] = prmt(l0, h0, 0x7362u);
  out[2] = prmt(l1, h1, 0x5140u);
  out[3] = prmt(l1, h1, 0x7362u);
}

// bf16x2 product, round to nearest: exact here (e2m1·scale has <= 6 significant bits; bf16
// has float32's exponent range, subnormals included).
__device__ __forceinline__ uint32_t mulBf16x2(uint32_t a, uint32_t b) {
  uint32_t d;
  asm("mul.rn.bf16x2 %0, %1, %2;\n" : "=r"(d) : "r"(a), "r"(b));
  return d;
}

// A block scale as a bf16x2 pair (s, s), exactly: e4m3 byte (NVFP4) or ue8m0 byte (MX;
// code 0 = 2^-127 is the bf16 subnormal 0x0040, 255 = NaN).
// Two e4m3 bytes (bits 0..15 of w) -> the pairs (s0, s0) and (s1, s1): the hardware e4m3x2 ->
// f16x2 conversion (exact: every e4m3 value, NaN included, is an f16 value), then f16 -> f32
// -> bf16 (exact: 4 significant bits, inside bf16's range).
__device__ __forceinline__ void scalePairsE4m3x2(uint32_t w, uint32_t& p0, uint32_t& p1) {
  const __half2_raw hr = __nv_cvt_fp8x2_to_halfraw2(__nv_fp8x2_storage_t(w & 0xffffu), __NV_E4M3);
  const float2 f = __half22float2(*reinterpret_cast<const __half2*>(&hr));
  const __nv_bfloat162 b0 = __floats2bfloat162_rn(f.x, f.x), b1 = __floats2bfloat162_rn(f.y, f.y);
  p0 = *reinterpret_cast<const uint32_t*>(&b0);
  p1 = *reinterpret_cast<const uint32_t*>(&b1);
}
__device__ __forceinline__ uint32_t scalePairUe8m0(uint32_t code) {
  const uint32_t b = code == 0u ? 0x0040u : code == 255u ? 0x7FC0u : code << 7;
  return b | (b << 16);
}

}  // namespace moe
