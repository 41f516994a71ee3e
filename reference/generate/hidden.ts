/**
 * Hidden states [T, H] per ScaleFamily: made as float32 rows, then stored as the quant
 * mode's kernel input with the real quantizers (NVFP4 packed + e4m3 scales + global scale
 * a; MXFP8 e4m3 + ue8m0 scales; bf16). Rows are produced in chunks from per-row
 * sub-streams, so memory stays at one chunk of floats and NVFP4's two passes (tensor
 * amax first, then quantization) regenerate identical rows.
 *
 * Row t of the 'hidden' stream: x[t, h] = σ_t · chan[h] · z with z bell-shaped (Rng.normal),
 *   chan[h] = 1 except about one channel in 64 (outlier channels) with 4, 8 or 16;
 *   σ_t = m·2^k, m in [1,2): k in [-1, 0] (normal, zero_blocks, zero_expert) or
 *   k in [-10, 9] (decades: about 6 decades of per-token magnitude).
 * zero_blocks: each aligned 32-element block is zero with probability 1/8, and the first
 *   block of token 0 always is. zero_hidden: every element 0.
 */
import type { HiddenStates, ScaleFamily } from '../case.js';
import { f32ArrayToBf16 } from '../formats/bf16.js';
import { nvfp4GlobalScale, quantizeNvfp4Into } from '../quant/nvfp4.js';
import { quantizeMxfp8Into } from '../quant/mxfp8.js';
import { hiddenFormat, type Problem } from '../problem.js';
import { streamRng, type Rng } from '../rng.js';
import { logUniform } from './logits.js';

export interface GeneratedHidden {
  readonly hidden: HiddenStates;
  /** Σ x² over all float elements before quantization (for calibrating c). */
  readonly sumSquares: number;
}

function fillRow(rng: Rng, t: number, row: Float32Array, family: ScaleFamily, chan: Float32Array): void {
  const H = row.length;
  if (family === 'zero_hidden') {
    row.fill(0);
    return;
  }
  const sigma = family === 'decades' ? logUniform(rng, -10, 9) : logUniform(rng, -1, 0);
  for (let h = 0; h < H; h++) row[h] = sigma * chan[h]! * rng.normal();
  if (family === 'zero_blocks') {
    for (let b = 0; b * 32 < H; b++) {
      if ((t === 0 && b === 0) || rng.below(8) === 0) row.fill(0, b * 32, Math.min(H, (b + 1) * 32));
    }
  }
}

/** Generate and store the hidden states of a problem. */
export function generateHidden(seed: number, p: Problem, family: ScaleFamily): GeneratedHidden {
  const { T, H } = p;
  const base = streamRng(seed, 'hidden');
  const chan = new Float32Array(H).fill(1);
  for (let n = Math.max(1, H >> 6); n > 0; n--) chan[base.below(H)] = [4, 8, 16][base.below(3)]!;
  const chunkRows = Math.max(1, Math.min(T, Math.floor((1 << 20) / H)));
  const chunk = new Float32Array(chunkRows * H);

  /** Fill the chunk with rows t0 … t0+n-1. */
  const produce = (t0: number, n: number): void => {
    for (let r = 0; r < n; r++) fillRow(base.derive(t0 + r), t0 + r, chunk.subarray(r * H, (r + 1) * H), family, chan);
  };

  let sumSquares = 0;
  let amax = 0;
  const accumulate = (n: number): void => {
    for (let i = 0; i < n * H; i++) {
      const v = chunk[i]!;
      sumSquares += v * v;
      const a = Math.abs(v);
      if (a > amax) amax = a;
    }
  };

  const format = hiddenFormat(p.quantMode);
  if (format === 'nvfp4') {
    for (let t0 = 0; t0 < T; t0 += chunkRows) {
      const n = Math.min(chunkRows, T - t0);
      produce(t0, n);
      accumulate(n);
    }
    const a = nvfp4GlobalScale(amax);
    const packed = new Uint8Array((T * H) / 2);
    const scales = new Uint8Array((T * H) / 16);
    for (let t0 = 0; t0 < T; t0 += chunkRows) {
      const n = Math.min(chunkRows, T - t0);
      produce(t0, n);
      quantizeNvfp4Into(chunk, 0, n, H, a, packed, (t0 * H) / 2, scales, (t0 * H) / 16, 'hidden');
    }
    return { hidden: { format: 'nvfp4', packed, scales, globalScale: a }, sumSquares };
  }
  if (format === 'mxfp8') {
    const data = new Uint8Array(T * H);
    const scales = new Uint8Array((T * H) / 32);
    for (let t0 = 0; t0 < T; t0 += chunkRows) {
      const n = Math.min(chunkRows, T - t0);
      produce(t0, n);
      accumulate(n);
      quantizeMxfp8Into(chunk, 0, n, H, data, t0 * H, scales, (t0 * H) / 32, 'hidden');
    }
    return { hidden: { format: 'mxfp8', data, scales }, sumSquares };
  }
  const data = new Uint16Array(T * H);
  for (let t0 = 0; t0 < T; t0 += chunkRows) {
    const n = Math.min(chunkRows, T - t0);
    produce(t0, n);
    accumulate(n);
    data.set(f32ArrayToBf16(chunk.subarray(0, n * H)), t0 * H);
  }
  return { hidden: { format: 'bf16', data }, sumSquares };
}
