/**
 * FP4 packing, SPEC §2: two e2m1 codes per byte, element 2j in the LOW nibble and
 * element 2j+1 in the high nibble.
 */
import { BadArgumentError } from '../errors.js';
import { E2M1_VALUES } from './e2m1.js';

/** Pack 4-bit codes (only the low 4 bits of each are read); an odd count leaves the last high nibble 0. */
export function packE2m1(codes: Uint8Array): Uint8Array {
  const n = codes.length;
  const out = new Uint8Array((n + 1) >> 1);
  for (let j = 0; 2 * j + 1 < n; j++) out[j] = (codes[2 * j]! & 15) | ((codes[2 * j + 1]! & 15) << 4);
  if (n & 1) out[n >> 1] = codes[n - 1]! & 15;
  return out;
}

/** Unpack `count` codes from packed bytes (low nibble first). */
export function unpackE2m1(packed: Uint8Array, count: number): Uint8Array {
  if (!Number.isInteger(count) || count < 0 || (count + 1) >> 1 > packed.length) {
    throw new BadArgumentError('count', `an integer in [0, ${2 * packed.length}]`, String(count));
  }
  const out = new Uint8Array(count);
  for (let i = 0; i < count; i++) {
    const b = packed[i >> 1]!;
    out[i] = i & 1 ? b >> 4 : b & 15;
  }
  return out;
}

/**
 * E2M1_PAIR_VALUES[2b] and [2b+1]: the two values a packed byte b holds (low nibble,
 * then high nibble). Dequantizing a row is then one table read per element.
 */
export const E2M1_PAIR_VALUES: Float32Array = (() => {
  const t = new Float32Array(512);
  for (let b = 0; b < 256; b++) {
    t[2 * b] = E2M1_VALUES[b & 15]!;
    t[2 * b + 1] = E2M1_VALUES[b >> 4]!;
  }
  return t;
})();
