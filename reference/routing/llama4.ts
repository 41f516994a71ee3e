/**
 * `llama4` (SPEC §3): top-1 of the logits (k must be 1); the weight sigmoid(logit) is
 * applied to the token before FC1 and finalize uses 1 (weightPlacement 'before_fc1').
 * A masked logit (-inf; NaN/+inf treated alike) has weight sigmoid(-inf) = 0.
 */
import { defineMethod } from './defineMethod.js';
import { sigmoidF32 } from './float32.js';
import { renormalizeMethod } from './renormalize.js';

export const llama4Method = defineMethod({
  name: 'llama4',
  usesBias: false,
  weightPlacement: 'before_fc1',
  configFields: [],
  requiredTopK: 1,
  tokenScores: (input, t) => renormalizeMethod.tokenScores(input, t),
  tokenWeights(input, t, ids, off, out) {
    for (let j = 0; j < input.topK; j++) out[off + j] = sigmoidF32(input.logits[t * input.E + ids[off + j]!]!);
  },
});
