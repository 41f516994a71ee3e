/**
 * Small exact helpers on IEEE numbers shared by the codecs: powers of two, floor(log2),
 * round-half-to-even, and float32 bit views. Only correctly rounded operations are
 * used (no Math.log/exp results leak into a returned value), so every machine agrees.
 */

/** float32 unit roundoff u = 2^-24: half an ulp of 1, the bound of one round-to-nearest's relative error. */
export const F32_UNIT_ROUNDOFF = 2 ** -24;

/** Higham's γ(n) = n·u / (1 - n·u) for float32: the relative error bound of n roundings. */
export function gamma(n: number): number {
  return (n * F32_UNIT_ROUNDOFF) / (1 - n * F32_UNIT_ROUNDOFF);
}

const F32 = new Float32Array(1);
const U32 = new Uint32Array(F32.buffer);

/** POW2[k + 1074] = 2^k, built by exact doubling from the smallest subnormal. */
const POW2 = (() => {
  const t = new Float64Array(1074 + 1024);
  let p = Number.MIN_VALUE; // 2^-1074
  for (let i = 0; i < t.length; i++, p *= 2) t[i] = p;
  return t;
})();

/** 2^k exactly for an integer k in [-1074, 1023] (a table, not Math.pow). */
export function pow2(k: number): number {
  if (!Number.isInteger(k) || k > 1023 || k < -1074) throw new RangeError(`pow2: exponent ${k} outside [-1074, 1023]`);
  return POW2[k + 1074]!;
}

/** floor(log2(a)) exactly, for finite a > 0. */
export function floorLog2(a: number): number {
  let e = Math.floor(Math.log2(a));
  // Math.log2 may be off by one ulp next to powers of two: fix with exact comparisons.
  if (pow2(e) > a) e -= 1;
  else if (pow2(e + 1) <= a) e += 1;
  return e;
}

/** Round a non-negative number to the nearest integer, ties to even. */
export function roundHalfEvenNonNeg(z: number): number {
  const r = Math.round(z); // ties up for z >= 0
  return r - z === 0.5 && r % 2 === 1 ? r - 1 : r;
}

/** The float32 bit pattern of x (after rounding x to float32). */
export function f32Bits(x: number): number {
  F32[0] = x;
  return U32[0]!;
}

/** The float32 whose bit pattern is `bits`. */
export function bitsF32(bits: number): number {
  U32[0] = bits >>> 0;
  return F32[0]!;
}
