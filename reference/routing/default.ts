/**
 * `default` (SPEC §3): choose the top-k of softmax(all logits); the weights are those
 * softmax probabilities, not renormalized. Ranking is by the float32 probabilities
 * (so logits whose probabilities round equal are exact ties: lower index wins);
 * masked logits (-inf; NaN/+inf treated alike) rank -inf.
 */
import { defineMethod } from './defineMethod.js';
import { sanitizeLogit, softmaxF32 } from './float32.js';
import type { RoutingInput } from './types.js';

function probabilities(input: RoutingInput, t: number): Float32Array {
  return softmaxF32(input.logits, t * input.E, input.E, new Float32Array(input.E));
}

export const defaultMethod = defineMethod({
  name: 'default',
  usesBias: false,
  weightPlacement: 'finalize',
  configFields: [],
  tokenScores(input, t) {
    const p = probabilities(input, t);
    for (let e = 0; e < input.E; e++) {
      if (sanitizeLogit(input.logits[t * input.E + e]!) === -Infinity) p[e] = -Infinity;
    }
    return { scores: p, groups: null };
  },
  tokenWeights(input, t, ids, off, out) {
    const p = probabilities(input, t);
    for (let j = 0; j < input.topK; j++) out[off + j] = p[ids[off + j]!]!;
  },
});
