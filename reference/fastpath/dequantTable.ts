/**
 * Fast FP4 weight dequantization for the fast path: one table lookup per packed byte.
 *
 * A weight element is q·s (docs/arithmetic.md item 1: no global scale), q an e2m1 value and
 * s the block's scale (e4m3 for NVFP4, ue8m0 for MXFP4). There are only 256 scale bytes
 * and 256 packed bytes, so a 65536-entry table holds, for every (scale, byte) pair, the
 * two float32 products side by side; read as one float64 they are copied with a single
 * load and store. A float64 read this way is never a NaN (that would need a non-finite
 * float32 in the high half), so no NaN canonicalization can alter the bits; scale bytes
 * whose products are not finite float32 (ue8m0 253..255) fall back to the exact loop.
 */
import { E2M1_VALUES } from '../formats/e2m1.js';
import { E4M3_VALUES } from '../formats/e4m3.js';
import { UE8M0_VALUES } from '../formats/ue8m0.js';
import type { Fp4Rows } from './fp4Rows.js';

export type WeightFormat = 'nvfp4' | 'mxfp4';

interface PairTable {
  readonly pairs: Float64Array;
  /** Scale bytes whose products are all finite float32. */
  readonly finite: Uint8Array;
  readonly scale: Float32Array;
}

const tables = new Map<WeightFormat, PairTable>();

function pairTable(fmt: WeightFormat): PairTable {
  let t = tables.get(fmt);
  if (t !== undefined) return t;
  const scale = fmt === 'nvfp4' ? E4M3_VALUES : UE8M0_VALUES;
  const f32 = new Float32Array(65536 * 2);
  const finite = new Uint8Array(256);
  for (let s = 0; s < 256; s++) {
    const sv = scale[s]!;
    finite[s] = Number.isFinite(Math.fround(6 * sv)) ? 1 : 0;
    if (!finite[s]) continue;
    for (let b = 0; b < 256; b++) {
      f32[2 * ((s << 8) | b)] = E2M1_VALUES[b & 15]! * sv;
      f32[2 * ((s << 8) | b) + 1] = E2M1_VALUES[b >> 4]! * sv;
    }
  }
  t = { pairs: new Float64Array(f32.buffer), finite, scale };
  tables.set(fmt, t);
  return t;
}

/** Per packed byte: q_lo² + q_hi² (the two codes' squared magnitudes). */
const PAIR_SQUARES: Float64Array = (() => {
  const t = new Float64Array(256);
  for (let b = 0; b < 256; b++) t[b] = E2M1_VALUES[b & 15]! ** 2 + E2M1_VALUES[b >> 4]! ** 2;
  return t;
})();

/**
 * Dequantize rows×cols FP4 weights (src: packed [rows, cols/2] from packedOffset, scales
 * [rows, cols/block] from scalesOffset) into out[outOffset ..+ rows·cols]; outOffset must
 * be even (8-byte aligned float64 view). Exactly q·s in float32.
 * With rowSq, also rowSq[r] = Σ_c W[r,c]² (exact: Σ_b s_b²·Σ q², in double).
 */
export function dequantizeFp4Into(src: Fp4Rows, out: Float32Array, outOffset: number, rowSq: Float64Array | null = null): void {
  const { fmt, packed, packedOffset, scales, scalesOffset, rows, cols } = src;
  const { pairs, finite, scale } = pairTable(fmt);
  const half = fmt === 'nvfp4' ? 8 : 16; // bytes per block
  const blocksPerRow = cols / (2 * half);
  if ((out.byteOffset + outOffset * 4) % 8 !== 0) throw new RangeError('dequantizeFp4Into: output not 8-byte aligned');
  const o64 = new Float64Array(out.buffer, out.byteOffset + outOffset * 4, (rows * cols) / 2);
  let pi = packedOffset;
  let si = scalesOffset;
  let o = 0;
  for (let r = 0; r < rows; r++) {
    let sq = 0;
    for (let b = 0; b < blocksPerRow; b++) {
      const sb = scales[si++]!;
      if (finite[sb] === 0) {
        const sv = scale[sb]!;
        for (let j = 0; j < half; j++) {
          const byte = packed[pi + j]!;
          out[outOffset + 2 * (o + j)] = E2M1_VALUES[byte & 15]! * sv;
          out[outOffset + 2 * (o + j) + 1] = E2M1_VALUES[byte >> 4]! * sv;
        }
      } else {
        const s = sb << 8;
        if (half === 8) {
          const b0 = packed[pi]!, b1 = packed[pi + 1]!, b2 = packed[pi + 2]!, b3 = packed[pi + 3]!;
          const b4 = packed[pi + 4]!, b5 = packed[pi + 5]!, b6 = packed[pi + 6]!, b7 = packed[pi + 7]!;
          o64[o] = pairs[s | b0]!;
          o64[o + 1] = pairs[s | b1]!;
          o64[o + 2] = pairs[s | b2]!;
          o64[o + 3] = pairs[s | b3]!;
          o64[o + 4] = pairs[s | b4]!;
          o64[o + 5] = pairs[s | b5]!;
          o64[o + 6] = pairs[s | b6]!;
          o64[o + 7] = pairs[s | b7]!;
          if (rowSq !== null) {
            const sv = scale[sb]!;
            sq += (PAIR_SQUARES[b0]! + PAIR_SQUARES[b1]! + PAIR_SQUARES[b2]! + PAIR_SQUARES[b3]!
              + PAIR_SQUARES[b4]! + PAIR_SQUARES[b5]! + PAIR_SQUARES[b6]! + PAIR_SQUARES[b7]!) * sv * sv;
          }
        } else {
          let q2 = 0;
          for (let j = 0; j < 16; j++) {
            const byte = packed[pi + j]!;
            o64[o + j] = pairs[s | byte]!;
            q2 += PAIR_SQUARES[byte]!;
          }
          if (rowSq !== null) sq += q2 * scale[sb]! * scale[sb]!;
        }
      }
      if (rowSq !== null && finite[sb] === 0) {
        for (let j = 0; j < half; j++) sq += PAIR_SQUARES[packed[pi + j]!]! * scale[sb]! * scale[sb]!;
      }
      pi += half;
      o += half;
    }
    if (rowSq !== null) rowSq[r] = sq;
  }
}
