/**
 * ue8m0, SPEC §2: an unsigned exponent byte e with value 2^(e-127); 255 is NaN.
 * The MX block scale rule (SPEC §2, TensorRT-LLM convention) rounds the exponent UP:
 * s = 2^ceil(log2(amax / elementMax)), so a block's largest element never saturates.
 */
import { BadArgumentError } from '../errors.js';
import { f32Bits, floorLog2, pow2 } from './float.js';

/** Largest finite code (2^127). */
const UE8M0_MAX_CODE = 254;

/** Decoded value of every byte (255 is NaN). Values are float32-exact except 2^-127, a float32 subnormal (exact too). */
export const UE8M0_VALUES: Float32Array = (() => {
  const t = new Float32Array(256);
  for (let c = 0; c < 255; c++) t[c] = pow2(c - 127);
  t[255] = NaN;
  return t;
})();

/** 2^(code-127); NaN for 255. */
export function decodeUe8m0(code: number): number {
  return UE8M0_VALUES[code & 0xff]!;
}

/**
 * The ue8m0 code of 2^ceil(log2(amax / elementMax)), decided with exact comparisons
 * (2^e·elementMax >= amax), clamped to [0, 254]. amax = 0 gives the smallest code 0.
 * The comparison is exact in float64 for elementMax 6 and 448; for a float32 amax it
 * equals taking the exponent of the float32 quotient fl32(amax / elementMax) rounded up
 * (a float32 amax never lies within half an ulp above a power of two times 6 or 448).
 */
export function ue8m0CeilScale(amax: number, elementMax: number): number {
  if (!(amax >= 0) || amax === Infinity) {
    throw new BadArgumentError('amax', 'a finite number >= 0', String(amax));
  }
  if (!(elementMax > 0) || elementMax === Infinity) {
    throw new BadArgumentError('elementMax', 'a finite number > 0', String(elementMax));
  }
  if (pow2(-127) * elementMax >= amax) return 0; // amax = 0 included
  const r = amax / elementMax;
  if (r > 2 ** 127) return UE8M0_MAX_CODE; // Infinity included
  let e = floorLog2(r); // a guess, fixed below with exact tests
  while (e > -127 && pow2(e - 1) * elementMax >= amax) e--;
  while (pow2(e) * elementMax < amax) e++;
  return Math.min(Math.max(e + 127, 0), UE8M0_MAX_CODE);
}

/**
 * Fast path of ue8m0CeilScale for hot loops: amax must be a finite float32 >= 0 (not
 * checked). Reads the exponent of fl32(amax / elementMax) and rounds it up when the
 * mantissa is non-zero; tiny quotients fall back to the exact routine. Equal to
 * ue8m0CeilScale for every float32 amax and elementMax in {6, 448} (tested).
 */
export function ue8m0CeilScaleF32(amax: number, elementMax: number): number {
  const q = Math.fround(amax / elementMax);
  if (q < 2 ** -100) return ue8m0CeilScale(amax, elementMax);
  const bits = f32Bits(q);
  const code = ((bits >>> 23) & 0xff) + ((bits & 0x7fffff) !== 0 ? 1 : 0);
  return code > UE8M0_MAX_CODE ? UE8M0_MAX_CODE : code;
}
