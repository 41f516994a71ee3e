/**
 * Builds a complete RoutingMethod from the few things that differ between methods:
 * ranking scores, per-token weights and method-specific checks. Generic validation,
 * group masking, top-k and result assembly live here once.
 */
import { BadArgumentError, describeValue } from '../errors.js';
import type { RoutingResult } from '../expected.js';
import { BIAS_DTYPES, LOGITS_DTYPES, type Problem, type RoutingConfig, type RoutingMethodName } from '../problem.js';
import { EvidenceBuilder } from './evidence.js';
import { applyGroupMask } from './groups.js';
import { selectTopK } from './selectTopK.js';
import type { RoutingInput, RoutingMethod, RoutingShape, TokenScores, WeightPlacement } from './types.js';

type ConfigField = keyof Omit<RoutingConfig, 'method'>;
const CONFIG_FIELDS: readonly ConfigField[] = ['nGroup', 'topkGroup', 'routedScalingFactor'];

export interface MethodSpec {
  readonly name: RoutingMethodName;
  readonly usesBias: boolean;
  readonly weightPlacement: WeightPlacement;
  readonly configFields: readonly ConfigField[];
  readonly requiredTopK?: number;
  /** Method-specific shape checks, after the generic ones passed. */
  readonly validateSpecific?: (s: RoutingShape) => void;
  readonly tokenScores: (input: RoutingInput, t: number) => TokenScores;
  /**
   * Weights of token t for ids[idsOffset .. idsOffset+k) into out[idsOffset ..): float32,
   * summing in slot order. Ids are in [0, E).
   */
  readonly tokenWeights: (input: RoutingInput, t: number, ids: Int32Array, idsOffset: number, out: Float32Array) => void;
}

function isInt(x: unknown): x is number {
  return typeof x === 'number' && Number.isInteger(x);
}

function validateShape(spec: MethodSpec, s: RoutingShape): void {
  if (s.config.method !== spec.name) {
    throw new BadArgumentError('routing.method', JSON.stringify(spec.name), describeValue(s.config.method));
  }
  if (!isInt(s.E) || s.E < 1) throw new BadArgumentError('E', 'an integer >= 1', describeValue(s.E));
  if (!isInt(s.topK) || s.topK < 1 || s.topK > s.E) {
    throw new BadArgumentError('topK', `an integer in [1, E=${s.E}]`, describeValue(s.topK));
  }
  for (const f of CONFIG_FIELDS) {
    if (s.config[f] !== undefined && !spec.configFields.includes(f)) {
      throw new BadArgumentError(`routing.${f}`, `absent for method ${spec.name} (only deepseek_v3 uses it)`,
        describeValue(s.config[f]));
    }
  }
  if (s.hasBias && !spec.usesBias) {
    throw new BadArgumentError('bias', `none for method ${spec.name} (only deepseek_v3 reads a routing bias)`, 'a bias');
  }
  if (spec.requiredTopK !== undefined && s.topK !== spec.requiredTopK) {
    throw new BadArgumentError('topK', `${spec.requiredTopK} for method ${spec.name}`, String(s.topK));
  }
  spec.validateSpecific?.(s);
}

function validateProblem(spec: MethodSpec, p: Problem): void {
  if (!isInt(p.T) || p.T < 1) throw new BadArgumentError('T', 'an integer >= 1', describeValue(p.T));
  if (!(LOGITS_DTYPES as readonly string[]).includes(p.logitsDtype)) {
    throw new BadArgumentError('logitsDtype', `one of ${LOGITS_DTYPES.join(', ')}`, describeValue(p.logitsDtype));
  }
  if (!(BIAS_DTYPES as readonly string[]).includes(p.biasDtype)) {
    throw new BadArgumentError('biasDtype', `one of ${BIAS_DTYPES.join(', ')}`, describeValue(p.biasDtype));
  }
  validateShape(spec, { E: p.E, topK: p.topK, config: p.routing, hasBias: p.biasDtype !== 'none' });
}

function validateInput(spec: MethodSpec, input: RoutingInput): void {
  const { T, E, topK, logits, bias } = input;
  if (!isInt(T) || T < 1) throw new BadArgumentError('T', 'an integer >= 1', describeValue(T));
  validateShape(spec, { E, topK, config: input.config, hasBias: bias !== null });
  if (!(logits instanceof Float32Array) || logits.length !== T * E) {
    throw new BadArgumentError('logits', `Float32Array of length T·E = ${T}·${E} = ${T * E}`, describeValue(logits));
  }
  if (bias !== null && (!(bias instanceof Float32Array) || bias.length !== E)) {
    throw new BadArgumentError('bias', `Float32Array of length E = ${E}`, describeValue(bias));
  }
}

function validateIds(input: RoutingInput, ids: Int32Array): void {
  const n = input.T * input.topK;
  if (!(ids instanceof Int32Array) || ids.length !== n) {
    throw new BadArgumentError('ids', `Int32Array of length T·k = ${input.T}·${input.topK} = ${n}`, describeValue(ids));
  }
  for (let i = 0; i < n; i++) {
    const id = ids[i]!;
    if (id < 0 || id >= input.E) {
      throw new BadArgumentError(`ids[${i}] (token ${Math.floor(i / input.topK)}, slot ${i % input.topK})`,
        `an expert id in [0, E=${input.E})`, String(id));
    }
  }
}

export function defineMethod(spec: MethodSpec): RoutingMethod {
  const weights = (input: RoutingInput, ids: Int32Array): Float32Array => {
    const out = new Float32Array(input.T * input.topK);
    for (let t = 0; t < input.T; t++) spec.tokenWeights(input, t, ids, t * input.topK, out);
    return out;
  };
  return {
    name: spec.name,
    usesBias: spec.usesBias,
    weightPlacement: spec.weightPlacement,
    configFields: spec.configFields,
    requiredTopK: spec.requiredTopK ?? null,
    validate: (p) => validateProblem(spec, p),
    validateShape: (s) => validateShape(spec, s),
    validateInput: (input) => validateInput(spec, input),
    tokenScores: (input, t) => spec.tokenScores(input, t),
    route(input: RoutingInput): RoutingResult {
      validateInput(spec, input);
      const { T, E, topK } = input;
      const ids = new Int32Array(T * topK);
      const selectionScores = new Float32Array(T * E);
      const evidence = new EvidenceBuilder(input);
      for (let t = 0; t < T; t++) {
        const ts = spec.tokenScores(input, t);
        evidence.add(t, ts);
        const row = applyGroupMask(ts.scores, ts.groups);
        selectionScores.set(row, t * E);
        selectTopK(row, 0, E, topK, ids, t * topK);
      }
      return { ids, weights: weights(input, ids), selectionScores, evidence: evidence.finish() };
    },
    weightsFor(input: RoutingInput, ids: Int32Array): Float32Array {
      validateInput(spec, input);
      validateIds(input, ids);
      return weights(input, ids);
    },
  };
}
