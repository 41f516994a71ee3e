/**
 * Dequantization as the emulated kernel does it: FP4 weights to q·s (no global scale:
 * it enters through the §4.3 scalars), hidden states to q·s, from the case's bytes, with
 * the neighbour_block_scale fault switchable on FC1's scales.
 */
import type { Case, Fp4Weights } from '../../reference/case.js';
import { bf16ArrayToF32 } from '../../reference/formats/bf16.js';
import { E4M3_VALUES } from '../../reference/formats/e4m3.js';
import { E2M1_PAIR_VALUES } from '../../reference/formats/fp4pack.js';
import { UE8M0_VALUES } from '../../reference/formats/ue8m0.js';
import { weightBlock } from '../../reference/problem.js';
import { dequantizeMxfp8 } from '../../reference/quant/mxfp8.js';
import { dequantizeNvfp4 } from '../../reference/quant/nvfp4.js';

export type ScaleRead = 'own' | 'last_block_reads_left_neighbour';

/** Local expert l's weights [rows, cols] in q·s units. */
export function dequantizeWeights(c: Case, w: Fp4Weights, l: number, rows: number, cols: number, read: ScaleRead = 'own'): Float32Array {
  const sf = weightBlock(c.spec.problem.quantMode);
  const table = sf === 16 ? E4M3_VALUES : UE8M0_VALUES;
  const blocksPerRow = cols / sf;
  const out = new Float32Array(rows * cols);
  const packed = w.packed.expert(l);
  const scales = w.scales.expert(l);
  for (let r = 0; r < rows; r++) {
    for (let b = 0; b < blocksPerRow; b++) {
      const sb = read === 'last_block_reads_left_neighbour' && b === blocksPerRow - 1 && b > 0 ? b - 1 : b;
      const s = table[scales[r * blocksPerRow + sb]!]!;
      const o = r * cols + b * sf;
      const p = o / 2;
      for (let j = 0; j < sf / 2; j++) {
        const byte = packed[p + j]!;
        out[o + 2 * j] = E2M1_PAIR_VALUES[2 * byte]! * s;
        out[o + 2 * j + 1] = E2M1_PAIR_VALUES[2 * byte + 1]! * s;
      }
    }
  }
  return out;
}

/** Hidden states [T, H] in q·s units (bf16 decoded exactly). */
export function dequantizeHiddenStates(c: Case): Float32Array {
  const { T, H } = c.spec.problem;
  const h = c.hidden;
  if (h.format === 'bf16') return bf16ArrayToF32(h.data);
  if (h.format === 'nvfp4') return dequantizeNvfp4(h.packed, h.scales, T, H, 1);
  return dequantizeMxfp8(h.data, h.scales, T, H);
}
