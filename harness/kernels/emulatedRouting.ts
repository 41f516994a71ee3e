/**
 * Routing as the emulated kernel does it: the reference's routing methods, plus the
 * routing faults of the catalog (ties_high_index, group_ties_high_index, deepseek_bf16_logits,
 * missing_epsilon).
 */
import type { RoutingResult } from '../../reference/expected.js';
import { roundBf16 } from '../../reference/formats/bf16.js';
import { deepseekParams } from '../../reference/routing/deepseekV3.js';
import { f32, sigmoidF32 } from '../../reference/routing/float32.js';
import { maskToGroups } from '../../reference/routing/groups.js';
import { routingMethod } from '../../reference/routing/registry.js';
import { selectTopK } from '../../reference/routing/selectTopK.js';
import type { RoutingInput } from '../../reference/routing/types.js';
import type { FaultName } from '../faults.js';

/** Experts renumbered e → E-1-e (logits and bias), so the reference's "lower index wins" picks the higher one. */
function reversed(input: RoutingInput): RoutingInput {
  const { T, E } = input;
  const logits = new Float32Array(T * E);
  for (let t = 0; t < T; t++) for (let e = 0; e < E; e++) logits[t * E + e] = input.logits[t * E + (E - 1 - e)]!;
  const bias = input.bias === null ? null : Float32Array.from(input.bias).reverse();
  return { ...input, logits, bias };
}

/** deepseek_v3 weights without the 1e-20 epsilon: s / Σs · scale (0/0 = NaN when every chosen s underflowed). */
function weightsWithoutEpsilon(input: RoutingInput, ids: Int32Array): Float32Array {
  const { T, E, topK: k } = input;
  const scale = f32(deepseekParams(input.config).routedScalingFactor);
  const out = new Float32Array(T * k);
  for (let t = 0; t < T; t++) {
    let sum = 0;
    for (let j = 0; j < k; j++) {
      const s = sigmoidF32(input.logits[t * E + ids[t * k + j]!]!);
      out[t * k + j] = s;
      sum = f32(sum + s);
    }
    for (let j = 0; j < k; j++) out[t * k + j] = f32(f32(out[t * k + j]! / sum) * scale);
  }
  return out;
}

/**
 * Grouped deepseek_v3 whose group selection lets the higher group index win exact group
 * ties (experts are then chosen within the kept groups as usual). Null when the method
 * does not group this problem.
 */
function groupTiesHighIndex(input: RoutingInput): Int32Array | null {
  const method = routingMethod(input.config.method);
  const { T, E, topK: k } = input;
  const ids = new Int32Array(T * k);
  for (let t = 0; t < T; t++) {
    const ts = method.tokenScores(input, t);
    const g = ts.groups;
    if (g === null) return null;
    const reversed = Float32Array.from(g.scores).reverse();
    const kept = new Int32Array(g.keep);
    selectTopK(reversed, 0, g.count, g.keep, kept, 0);
    const masked = maskToGroups(ts.scores, g.size, kept.map((r) => g.count - 1 - r));
    selectTopK(masked, 0, E, k, ids, t * k);
  }
  return ids;
}

/** The emulated kernel's routing of `input` under `fault`. */
export function emulatedRouting(input: RoutingInput, fault: FaultName | undefined): RoutingResult {
  const method = routingMethod(input.config.method);
  // Only deepseek_v3 reads a bias: the two deepseek faults apply exactly to the methods that do.
  const deepseekLike = method.usesBias;
  if (fault === 'ties_high_index') {
    const r = method.route(reversed(input));
    const ids = r.ids.map((e) => input.E - 1 - e);
    const { T, E } = input;
    const selectionScores = new Float32Array(T * E);
    for (let t = 0; t < T; t++) for (let e = 0; e < E; e++) selectionScores[t * E + e] = r.selectionScores[t * E + (E - 1 - e)]!;
    return { ...r, ids, weights: method.weightsFor(input, ids), selectionScores };
  }
  if (fault === 'group_ties_high_index') {
    const ids = groupTiesHighIndex(input);
    if (ids !== null) return { ...method.route(input), ids, weights: method.weightsFor(input, ids) };
  }
  if (fault === 'deepseek_bf16_logits' && deepseekLike) {
    const rounded = { ...input, logits: input.logits.map(roundBf16) };
    return method.route(rounded);
  }
  const r = method.route(input);
  if (fault === 'missing_epsilon' && deepseekLike) return { ...r, weights: weightsWithoutEpsilon(input, r.ids) };
  return r;
}
