/**
 * `deepseek_v3` ("no aux loss", SPEC §3), per token, all in float32:
 *   s = sigmoid(logit), b = s + bias (bias 0 when absent).
 *   nGroup > 1: experts split into nGroup contiguous groups; a group's score is the sum
 *   of its two largest b; the topkGroup best groups are kept (ties: lower group index);
 *   every expert outside them is ineligible (-inf).
 *   Choose the k eligible experts with the largest b (ties: lower expert index).
 *   Weights use the UNBIASED s (computed directly, never recovered as b - bias):
 *   w = s_e / (Σ_chosen s + 1e-20) · routedScalingFactor, summed in slot order over all
 *   k chosen experts, local or not. If every chosen s underflows to 0 the weights are 0.
 * A masked logit (-inf; NaN/+inf treated alike) has b = -inf and s = 0. A NaN b
 * (NaN bias) ranks as -inf.
 *
 * Limits (checked with BadArgumentError): nGroup >= 1, 1 <= topkGroup <= nGroup,
 * routedScalingFactor finite. The kernel limits of SPEC §3 apply to the grouped path
 * (nGroup > 1): nGroup <= 8, topkGroup <= 4, E % nGroup == 0, 2 <= E/nGroup <= 32,
 * k < topkGroup·E/nGroup. With nGroup = 1 (no grouping, e.g. DeepSeek-Lite, E = 72)
 * only k <= E is required.
 * Defaults when absent: nGroup 1, topkGroup 1, routedScalingFactor 1; topkGroup must
 * be given when nGroup > 1.
 */
import { BadArgumentError, describeValue } from '../errors.js';
import type { RoutingConfig } from '../problem.js';
import { defineMethod } from './defineMethod.js';
import { EPSILON_F32, f32, rankKey, sanitizeLogit, sigmoidF32 } from './float32.js';
import type { GroupScores, RoutingInput, RoutingShape } from './types.js';

const DEEPSEEK_LIMITS = { maxGroups: 8, maxTopkGroup: 4, maxGroupSize: 32, minGroupSize: 2 } as const;

export interface DeepseekParams {
  readonly nGroup: number;
  readonly topkGroup: number;
  readonly routedScalingFactor: number;
}

/** The deepseek_v3 parameters with defaults applied (no checks). */
export function deepseekParams(config: RoutingConfig): DeepseekParams {
  return {
    nGroup: config.nGroup ?? 1,
    topkGroup: config.topkGroup ?? 1,
    routedScalingFactor: config.routedScalingFactor ?? 1,
  };
}

function validateDeepseek(s: RoutingShape): void {
  const { nGroup, topkGroup, routedScalingFactor } = deepseekParams(s.config);
  const { E, topK } = s;
  const bad = (arg: string, expected: string, actual: unknown): never => {
    throw new BadArgumentError(`routing.${arg}`, expected, describeValue(actual));
  };
  if (!Number.isInteger(nGroup) || nGroup < 1) bad('nGroup', 'an integer >= 1', nGroup);
  if (nGroup > 1 && s.config.topkGroup === undefined) bad('topkGroup', `an integer in [1, nGroup=${nGroup}] (required when nGroup > 1)`, undefined);
  if (!Number.isInteger(topkGroup) || topkGroup < 1 || topkGroup > nGroup) bad('topkGroup', `an integer in [1, nGroup=${nGroup}]`, topkGroup);
  if (!Number.isFinite(routedScalingFactor)) bad('routedScalingFactor', 'a finite number', routedScalingFactor);
  if (nGroup === 1) return;
  const L = DEEPSEEK_LIMITS;
  if (nGroup > L.maxGroups) bad('nGroup', `<= ${L.maxGroups} (deepseek_v3 grouped routing)`, nGroup);
  if (topkGroup > L.maxTopkGroup) bad('topkGroup', `<= ${L.maxTopkGroup} (deepseek_v3 grouped routing)`, topkGroup);
  if (E % nGroup !== 0) {
    throw new BadArgumentError('E', `a multiple of routing.nGroup=${nGroup} (deepseek_v3 grouped routing)`, String(E));
  }
  const size = E / nGroup;
  if (size > L.maxGroupSize || size < L.minGroupSize) {
    throw new BadArgumentError('E/routing.nGroup', `experts per group in [${L.minGroupSize}, ${L.maxGroupSize}] (deepseek_v3 grouped routing)`,
      `${E}/${nGroup} = ${size}`);
  }
  if (!(topK < topkGroup * size)) {
    throw new BadArgumentError('topK', `< topkGroup·E/nGroup = ${topkGroup}·${size} = ${topkGroup * size} (deepseek_v3 grouped routing)`,
      String(topK));
  }
}

/** Biased scores b = s + bias of token t (masked logits: -inf). */
function biasedScores(input: RoutingInput, t: number): Float32Array {
  const b = new Float32Array(input.E);
  for (let e = 0; e < input.E; e++) {
    const x = sanitizeLogit(input.logits[t * input.E + e]!);
    if (x === -Infinity) {
      b[e] = -Infinity;
      continue;
    }
    const bias = input.bias === null ? 0 : input.bias[e]!;
    b[e] = rankKey(f32(sigmoidF32(x) + bias));
  }
  return b;
}

/** Group scores: the float32 sum of the two largest b of each group (NaN → -inf). */
function deepseekGroupScores(b: Float32Array, nGroup: number): Float32Array {
  const size = b.length / nGroup;
  const out = new Float32Array(nGroup);
  for (let g = 0; g < nGroup; g++) {
    let first = -Infinity;
    let second = -Infinity;
    for (let i = g * size; i < (g + 1) * size; i++) {
      const v = b[i]!;
      if (v > first) {
        second = first;
        first = v;
      } else if (v > second) {
        second = v;
      }
    }
    out[g] = rankKey(f32(first + second));
  }
  return out;
}

export const deepseekV3Method = defineMethod({
  name: 'deepseek_v3',
  usesBias: true,
  weightPlacement: 'finalize',
  configFields: ['nGroup', 'topkGroup', 'routedScalingFactor'],
  validateSpecific: validateDeepseek,
  tokenScores(input, t) {
    const scores = biasedScores(input, t);
    const { nGroup, topkGroup } = deepseekParams(input.config);
    if (nGroup <= 1) return { scores, groups: null };
    const groups: GroupScores = {
      count: nGroup, size: input.E / nGroup, keep: topkGroup, scores: deepseekGroupScores(scores, nGroup),
    };
    return { scores, groups };
  },
  tokenWeights(input, t, ids, off, out) {
    const scale = f32(deepseekParams(input.config).routedScalingFactor);
    let sum = 0;
    for (let j = 0; j < input.topK; j++) {
      const s = sigmoidF32(input.logits[t * input.E + ids[off + j]!]!);
      out[off + j] = s;
      sum = f32(sum + s);
    }
    const denom = f32(sum + EPSILON_F32);
    for (let j = 0; j < input.topK; j++) out[off + j] = f32(f32(out[off + j]! / denom) * scale);
  },
});
