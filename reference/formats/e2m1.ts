/**
 * e2m1 (FP4), SPEC §2: sign bit 3, bits 2..0 index the magnitudes
 * 0, 0.5, 1, 1.5, 2, 3, 4, 6. No infinities, no NaN.
 *
 * Encoding rounds the exact input to the nearest value, ties to the even code (the code
 * whose lowest bit, the mantissa bit, is 0), and saturates at ±6 (±Infinity included).
 * The sign is kept for values that round to zero: -0 and -0.1 encode to 0x8 ("-0"),
 * which decodes to -0; so every one of the 16 codes round-trips.
 * NaN has no code: encodeE2m1(NaN) throws BadArgumentError (block quantizers reject
 * NaN tensors earlier, naming the tensor).
 */
import { BadArgumentError } from '../errors.js';

/** Positive magnitudes by code 0..7. */
const MAGNITUDES = [0, 0.5, 1, 1.5, 2, 3, 4, 6] as const;

/** Decoded value of every code 0..15 (code 8 is -0). */
export const E2M1_VALUES: Float32Array = (() => {
  const t = new Float32Array(16);
  for (let c = 0; c < 8; c++) {
    t[c] = MAGNITUDES[c]!;
    t[c + 8] = -MAGNITUDES[c]!;
  }
  return t;
})();

/**
 * Code (0..7) of the magnitude nearest to a >= 0, ties to even, saturating.
 * Decision points: the midpoints 0.25, 0.75, 1.25, 1.75, 2.5, 3.5, 5; a midpoint goes
 * to the neighbour with the even code (0.25→0, 0.75→1, 1.25→1, 1.75→2, 2.5→2, 3.5→4, 5→4).
 * NaN is not handled here (it compares false everywhere and lands on code 7).
 */
function e2m1MagnitudeCode(a: number): number {
  if (a <= 1.25) return a <= 0.25 ? 0 : a < 0.75 ? 1 : 2;
  if (a <= 2.5) return a < 1.75 ? 3 : 4;
  return a < 3.5 ? 5 : a <= 5 ? 6 : 7;
}

/** Unchecked encode for hot loops: like encodeE2m1 but NaN is not rejected (it gives code 7). */
export function encodeE2m1Unchecked(x: number): number {
  return x < 0 || (x === 0 && 1 / x < 0) ? 8 | e2m1MagnitudeCode(-x) : e2m1MagnitudeCode(x);
}

/** The e2m1 value nearest to x (same rounding as encodeE2m1), sign kept; NaN stays NaN. */
export function roundE2m1(x: number): number {
  const a = x < 0 ? -x : x;
  const q = a <= 1.25 ? (a <= 0.25 ? 0 : a < 0.75 ? 0.5 : 1)
    : a <= 2.5 ? (a < 1.75 ? 1.5 : 2)
      : a < 3.5 ? 3 : a <= 5 ? 4 : a === a ? 6 : NaN;
  return x < 0 || (x === 0 && 1 / x < 0) ? -q : q;
}

/** Encode a number to a 4-bit e2m1 code (RNE, saturating, sign kept on zero). */
export function encodeE2m1(x: number): number {
  if (Number.isNaN(x)) throw new BadArgumentError('x', 'a number that is not NaN (e2m1 has no NaN)', 'NaN');
  const negative = x < 0 || (x === 0 && 1 / x < 0);
  return (negative ? 8 : 0) | e2m1MagnitudeCode(negative ? -x : x);
}

/** Decode a 4-bit e2m1 code (only the low 4 bits are read). */
export function decodeE2m1(code: number): number {
  return E2M1_VALUES[code & 15]!;
}
