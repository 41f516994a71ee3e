/**
 * FC2-input re-quantization (README "Arithmetic contract" item 3): replace a float32
 * activation slice by its fake-quantized value â, in place, straight from float32
 * (no bf16 step). Runs over T·k·I elements per case, so it is written for speed.
 *
 * nvfp4 (blocks of 16, global scale already applied, i.e. g = 1):
 *   s = e4m3(fl32(amax_b / 6)) decoded; â = e2m1(fl32(a / s)) · s   (true division).
 *   A block whose scale encodes to 0 (all zero, or fl32(amax_b / 6) <= 2^-10) becomes all +0.
 * mxfp8 (blocks of 32): s = 2^ceil(log2(amax_b / 448)) (ue8m0, clamped to [2^-127, 2^127]);
 *   â = e4m3(fl32(a / s)) · s.  An all-zero block stays zero.
 * bf16: â = bf16(a), round to nearest even.
 * Rounding everywhere: nearest, ties to even; e2m1 saturates at ±6 and e4m3 at ±448
 * (cannot happen for finite input except by the scale rounding of nvfp4, where the
 * largest element may reach 6.4·s and saturates to 6·s).
 * Non-finite input: in nvfp4 and mxfp8 a block holding NaN or ±Infinity becomes all NaN
 * (so a non-finite activation is never silently saturated into a finite output); bf16
 * keeps NaN and ±Infinity.
 */
import { BadArgumentError } from '../errors.js';
import { roundBf16InPlace } from '../formats/bf16.js';
import { E4M3_VALUES, encodeE4m3F32 } from '../formats/e4m3.js';
import { UE8M0_VALUES, ue8m0CeilScaleF32 } from '../formats/ue8m0.js';
import type { Fc2InputFormat } from '../problem.js';


/** Block size of each re-quantization format (1 for bf16). */
export function requantBlock(format: Fc2InputFormat): number {
  return format === 'nvfp4' ? 16 : format === 'mxfp8' ? 32 : 1;
}

/**
 * The block scale (value) of a block of FC2's input with this amax (float32, |x| maxima),
 * NaN when amax is not finite (the block holds NaN or an infinity: it becomes all NaN).
 * nvfp4: e4m3(fl32(amax / 6)) (0: the block becomes +0); mxfp8: 2^ceil(log2(amax / 448)).
 */
export function requantBlockScale(format: 'nvfp4' | 'mxfp8', amax: number): number {
  const code = requantBlockCode(format, amax);
  return code < 0 ? NaN : format === 'nvfp4' ? E4M3_VALUES[code]! : UE8M0_VALUES[code]!;
}

/** The code of requantBlockScale's scale (e4m3 or ue8m0 byte); -1 when amax is not finite. */
export function requantBlockCode(format: 'nvfp4' | 'mxfp8', amax: number): number {
  if (amax - amax !== 0) return -1;
  return format === 'nvfp4' ? encodeE4m3F32(Math.fround(amax / 6)) : ue8m0CeilScaleF32(amax, 448);
}

// Both fake-quantizers work on the float32 bit pattern of the scaled element in place
// (an Int32Array view of v): v[i] is overwritten by a/s (the store rounds to float32,
// i.e. fl32(a/s)), rounded on its bits with round-half-even, and multiplied back by s.
// Below the formats' normal range the rounding uses the float64 magic-number trick
// (x + 2^M) - 2^M, which rounds to a multiple of 2^(M-52) with ties to even.

const TWO_51 = 2 ** 51; // rounds to multiples of 0.5 (e2m1 below 1)
const TWO_43 = 2 ** 43; // rounds to multiples of 2^-9 (e4m3 subnormals)

function requantNvfp4(v: Float32Array, bits: Int32Array, offset: number, length: number): void {
  for (let base = offset, end = offset + length; base < end; base += 16) {
    let amax = 0;
    let sum = 0;
    for (let i = base; i < base + 16; i++) {
      const x = v[i]!;
      sum += x;
      const a = Math.abs(x);
      amax = a > amax ? a : amax;
    }
    if (sum - sum !== 0) { // NaN or ±Infinity in the block
      v.fill(NaN, base, base + 16);
      continue;
    }
    const s = requantBlockScale('nvfp4', amax);
    if (s === 0) {
      v.fill(0, base, base + 16);
      continue;
    }
    for (let i = base; i < base + 16; i++) {
      v[i] = v[i]! / s; // fl32(a / s): true division
      const b = bits[i]!;
      const mag = b & 0x7fffffff;
      if (mag >= 0x3f800000) { // >= 1: keep 1 mantissa bit, saturate at 6
        let r = (mag + 0x1fffff + ((mag >>> 22) & 1)) & 0x7fc00000;
        if (r > 0x40c00000) r = 0x40c00000;
        bits[i] = (b & 0x80000000) | r;
        v[i] = v[i]! * s;
      } else { // [0, 1): multiples of 0.5
        const x = v[i]!;
        const q = (Math.abs(x) + TWO_51) - TWO_51;
        v[i] = (b < 0 ? -q : q) * s;
      }
    }
  }
}

function requantMxfp8(v: Float32Array, bits: Int32Array, offset: number, length: number): void {
  for (let base = offset, end = offset + length; base < end; base += 32) {
    let amax = 0;
    let sum = 0;
    for (let i = base; i < base + 32; i++) {
      const x = v[i]!;
      sum += x;
      const a = Math.abs(x);
      amax = a > amax ? a : amax;
    }
    if (sum - sum !== 0) {
      v.fill(NaN, base, base + 32);
      continue;
    }
    const s = requantBlockScale('mxfp8', amax);
    const inv = 1 / s; // exact: s is a power of two in [2^-127, 2^127]
    for (let i = base; i < base + 32; i++) {
      v[i] = v[i]! * inv; // = fl32(a / s)
      const b = bits[i]!;
      const mag = b & 0x7fffffff;
      if (mag >= 0x3c800000) { // >= 2^-6: keep 3 mantissa bits, saturate at 448
        let r = (mag + 0x7ffff + ((mag >>> 20) & 1)) & 0x7ff00000;
        if (r > 0x43e00000) r = 0x43e00000;
        bits[i] = (b & 0x80000000) | r;
        v[i] = v[i]! * s;
      } else { // subnormal range: multiples of 2^-9
        const x = v[i]!;
        const q = (Math.abs(x) + TWO_43) - TWO_43;
        v[i] = (b < 0 ? -q : q) * s;
      }
    }
  }
}

/**
 * Re-quantize v[offset, offset+length) in place. `length` must be a multiple of the
 * format's block (16 nvfp4, 32 mxfp8); the slice must lie inside v.
 */
export function requantizeInPlace(format: Fc2InputFormat, v: Float32Array, offset: number, length: number): void {
  const block = requantBlock(format);
  if (block === 1 && format !== 'bf16') throw new BadArgumentError('format', "'nvfp4', 'mxfp8' or 'bf16'", String(format));
  if (!Number.isSafeInteger(offset) || offset < 0) throw new BadArgumentError('offset', 'an integer >= 0', String(offset));
  if (!Number.isSafeInteger(length) || length < 0 || length % block !== 0) {
    throw new BadArgumentError('length', `an integer >= 0, a multiple of the ${format} block ${block}`, String(length));
  }
  if (offset + length > v.length) {
    throw new BadArgumentError('offset + length', `<= v.length = ${v.length}`, String(offset + length));
  }
  if (format === 'bf16') {
    roundBf16InPlace(v, offset, length);
    return;
  }
  const bits = new Int32Array(v.buffer, v.byteOffset, v.length);
  if (format === 'nvfp4') requantNvfp4(v, bits, offset, length);
  else requantMxfp8(v, bits, offset, length);
}
