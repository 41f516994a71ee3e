/**
 * Finalize (docs/arithmetic.md item 4): out_t = Σ_j w_j·y_j in float32 in slot order
 * j = 0..k-1, rounded once to bf16 later; non-local slots contribute exactly 0. Also sums
 * the per-slot magnitudes into absAccum and flipAllowance (weighted by |w_j|).
 */
import type { Problem } from './problem.js';
import type { WeightPlacement } from './routing/types.js';
import { isLocalExpert } from './slotPlan.js';

/** Per-slot results of tokens [t0, t1): index ((t - t0)·k + j)·H + h. */
export interface SlotOutputs {
  /** y = fl(fl(W2·â) · out2Scale), float32. */
  readonly y: Float32Array;
  /** |out2Scale|·Σ_i |W2[h,i]·â_i|. */
  readonly absY: Float32Array;
  /** |out2Scale|·Σ_{fragile i} |W2[h,i]|·Δ_i. */
  readonly flipY: Float32Array;
}

export interface FinalOutputs {
  readonly outputF32: Float32Array;
  readonly absAccum: Float32Array;
  readonly flipAllowance: Float32Array;
}

const fl = Math.fround;

/**
 * Finalize tokens [t0, t1) into out (full [T, H] arrays; their rows t0..t1-1 are
 * overwritten). `placement` 'finalize': finalize multiplies by the routing weight
 * ('before_fc1', llama4: the weight was applied before FC1, finalize uses 1). `analysis` 'output': only
 * outputF32 is summed (the same arithmetic); absAccum and flipAllowance rows are zero-filled
 * and slots.absY / slots.flipY are not read.
 */
export function finalizeTokens(
  p: Pick<Problem, 'H' | 'topK' | 'localOffset' | 'localExperts'>, ids: Int32Array, weights: Float32Array, placement: WeightPlacement,
  slots: SlotOutputs, t0: number, t1: number, out: FinalOutputs, analysis: 'full' | 'output' = 'full',
): void {
  const { H, topK: k } = p;
  const { y, absY, flipY } = slots;
  for (let t = t0; t < t1; t++) {
    const o = t * H;
    // The sums start from +0 (a token with no local slot gets exact zeros).
    out.outputF32.fill(0, o, o + H);
    out.absAccum.fill(0, o, o + H);
    out.flipAllowance.fill(0, o, o + H);
    if (analysis === 'output') {
      for (let j = 0; j < k; j++) {
        if (!isLocalExpert(p, ids[t * k + j]!)) continue;
        const w = placement === 'finalize' ? weights[t * k + j]! : 1;
        const s = ((t - t0) * k + j) * H;
        for (let h = 0; h < H; h++) out.outputF32[o + h] = fl(out.outputF32[o + h]! + fl(w * y[s + h]!));
      }
      continue;
    }
    for (let j = 0; j < k; j++) {
      if (!isLocalExpert(p, ids[t * k + j]!)) continue;
      const w = placement === 'finalize' ? weights[t * k + j]! : 1;
      const aw = Math.abs(w);
      const s = ((t - t0) * k + j) * H;
      for (let h = 0; h < H; h++) {
        out.outputF32[o + h] = fl(out.outputF32[o + h]! + fl(w * y[s + h]!));
        out.absAccum[o + h] = out.absAccum[o + h]! + aw * absY[s + h]!;
        out.flipAllowance[o + h] = out.flipAllowance[o + h]! + aw * flipY[s + h]!;
      }
    }
  }
}
