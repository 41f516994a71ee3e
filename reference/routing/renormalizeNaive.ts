/**
 * `renormalize_naive` (SPEC §3): choose the top-k of softmax(all logits) (as `default`);
 * the weights are the chosen probabilities divided by their float32 sum (slot order).
 * Equal to `renormalize` in exact arithmetic. A zero sum (every chosen expert masked)
 * gives zero weights, never NaN.
 */
import { defaultMethod } from './default.js';
import { defineMethod } from './defineMethod.js';
import { f32, softmaxF32 } from './float32.js';

export const renormalizeNaiveMethod = defineMethod({
  name: 'renormalize_naive',
  usesBias: false,
  weightPlacement: 'finalize',
  configFields: [],
  tokenScores: (input, t) => defaultMethod.tokenScores(input, t),
  tokenWeights(input, t, ids, off, out) {
    const p = softmaxF32(input.logits, t * input.E, input.E, new Float32Array(input.E));
    let sum = 0;
    for (let j = 0; j < input.topK; j++) sum = f32(sum + p[ids[off + j]!]!);
    for (let j = 0; j < input.topK; j++) out[off + j] = sum > 0 ? f32(p[ids[off + j]!]! / sum) : 0;
  },
});
