/**
 * `renormalize` (SPEC §3): choose the top-k of the logits; the weights are the softmax
 * over the k chosen logits (max subtracted first, sum in slot order). Masked logits
 * (-inf; NaN/+inf treated alike) get weight 0; k masked logits give k zeros.
 */
import { defineMethod } from './defineMethod.js';
import { sanitizeLogit, softmaxF32 } from './float32.js';

export const renormalizeMethod = defineMethod({
  name: 'renormalize',
  usesBias: false,
  weightPlacement: 'finalize',
  configFields: [],
  tokenScores(input, t) {
    const scores = new Float32Array(input.E);
    for (let e = 0; e < input.E; e++) scores[e] = sanitizeLogit(input.logits[t * input.E + e]!);
    return { scores, groups: null };
  },
  tokenWeights(input, t, ids, off, out) {
    const chosen = new Float32Array(input.topK);
    for (let j = 0; j < input.topK; j++) chosen[j] = input.logits[t * input.E + ids[off + j]!]!;
    out.set(softmaxF32(chosen, 0, input.topK, new Float32Array(input.topK)), off);
  },
});
