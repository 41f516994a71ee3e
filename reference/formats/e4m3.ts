/**
 * e4m3 "fn" (FP8), SPEC §2: sign, 4 exponent bits (bias 7), 3 mantissa bits.
 * Normal values 2^(e-7)·(1 + m/8) for e = 1..15, subnormals m·2^-9 (e = 0), largest
 * finite 448 (0x7E), no infinities, NaN is S.1111.111 (0x7F and 0xFF).
 *
 * Encoding rounds the exact input to nearest, ties to even (even mantissa code), and
 * saturates at ±448 (±Infinity included: the "satfinite" conversion). NaN encodes to
 * 0x7F. The sign is kept on zero: -0 and tiny negatives encode to 0x80 (decodes to -0),
 * so every code except the NaN 0xFF round-trips (0xFF decodes to NaN, which encodes to 0x7F).
 */
import { f32Bits, bitsF32, floorLog2, pow2, roundHalfEvenNonNeg } from './float.js';

const E4M3_MAX = 448;
const E4M3_NAN_CODE = 0x7f;
/** Smallest positive normal value, 2^-6. */
const E4M3_MIN_NORMAL = 2 ** -6;

function decodeExact(code: number): number {
  const sign = code & 0x80 ? -1 : 1;
  const e = (code >> 3) & 15;
  const m = code & 7;
  if (e === 15 && m === 7) return NaN;
  const mag = e === 0 ? m * pow2(-9) : (8 + m) * pow2(e - 10);
  return sign * mag;
}

/** Decoded value of every byte 0..255 (0x80 is -0, 0x7F and 0xFF are NaN). */
export const E4M3_VALUES: Float32Array = (() => {
  const t = new Float32Array(256);
  for (let c = 0; c < 256; c++) t[c] = decodeExact(c);
  return t;
})();

/** Decode one e4m3 byte (only the low 8 bits are read). */
export function decodeE4m3(code: number): number {
  return E4M3_VALUES[code & 0xff]!;
}

/** Encode any number (rounded exactly, not via float32 first) to an e4m3 byte. */
export function encodeE4m3(x: number): number {
  if (Number.isNaN(x)) return E4M3_NAN_CODE;
  const sign = x < 0 || (x === 0 && 1 / x < 0) ? 0x80 : 0;
  const a = Math.abs(x);
  if (a >= E4M3_MAX) return sign | 0x7e;
  if (a === 0) return sign;
  // Below 2^-6 the subnormal spacing 2^-9 applies, which equals the spacing of [2^-6, 2^-5).
  const e = a < E4M3_MIN_NORMAL ? -6 : floorLog2(a);
  // a·2^(3-e) is exact; its rounded value lies in [8, 16] (normal) or [0, 8] (subnormal),
  // and a carry to 16 rolls into the next exponent by plain addition of the code.
  const m = roundHalfEvenNonNeg(a * pow2(3 - e));
  const code = ((e + 7) << 3) + m - 8;
  return sign | Math.min(code, 0x7e);
}

/**
 * Fast path for a value that is already a float32 (e.g. the result of Math.fround):
 * the e4m3 VALUE nearest to it (same rounding and saturation as encodeE4m3), sign kept,
 * NaN stays NaN. Used by re-quantization, where it runs over every FC2 input element.
 */
export function roundE4m3F32(x: number): number {
  const a = Math.abs(x);
  let q: number;
  if (a >= E4M3_MIN_NORMAL) {
    // Round the float32 mantissa to 3 bits, ties to even, on the bit pattern.
    const bits = f32Bits(a);
    q = bitsF32((bits + 0x7ffff + ((bits >>> 20) & 1)) & 0xfff00000);
    if (q > E4M3_MAX) q = E4M3_MAX; // also Infinity; NaN fails the comparison and stays NaN
  } else {
    q = roundHalfEvenNonNeg(a * 512) / 512;
  }
  return x < 0 || (x === 0 && 1 / x < 0) ? -q : q;
}

/** Fast path: e4m3 byte of a float32 value (same result as encodeE4m3 for float32 inputs). */
export function encodeE4m3F32(x: number): number {
  if (x !== x) return E4M3_NAN_CODE;
  const sign = x < 0 || (x === 0 && 1 / x < 0) ? 0x80 : 0;
  const a = x < 0 ? -x : x;
  if (a >= E4M3_MIN_NORMAL) {
    const bits = f32Bits(a);
    if (bits >= 0x43e00000) return sign | 0x7e; // a >= 448 (and Infinity)
    // (bits >>> 20) = exponent32 << 3 | top 3 mantissa bits; rebias 127 -> 7.
    const r = (bits + 0x7ffff + ((bits >>> 20) & 1)) >>> 20;
    const code = r - (120 << 3);
    return sign | (code > 0x7e ? 0x7e : code);
  }
  return sign | roundHalfEvenNonNeg(a * 512);
}
