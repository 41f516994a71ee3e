/**
 * `topk` (SPEC §3): top-k of the logits; the weights are the raw logits (float32).
 * A masked logit (-inf; NaN/+inf treated alike), chosen only when fewer than k logits
 * are valid, gets weight 0 so that it contributes nothing.
 */
import { defineMethod } from './defineMethod.js';
import { sanitizeLogit } from './float32.js';
import { renormalizeMethod } from './renormalize.js';

export const topkMethod = defineMethod({
  name: 'topk',
  usesBias: false,
  weightPlacement: 'finalize',
  configFields: [],
  tokenScores: (input, t) => renormalizeMethod.tokenScores(input, t),
  tokenWeights(input, t, ids, off, out) {
    for (let j = 0; j < input.topK; j++) {
      const v = sanitizeLogit(input.logits[t * input.E + ids[off + j]!]!);
      out[off + j] = v === -Infinity ? 0 : v;
    }
  },
});
