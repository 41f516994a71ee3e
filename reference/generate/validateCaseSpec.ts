/**
 * Checks a CaseSpec before generation: every field named in the error, with what was
 * expected and what was found. Only what generation needs is checked here; a routing
 * method's own limits (e.g. DeepSeek-V3 group limits) are the routing registry's.
 */
import { LOGIT_FAMILIES, SCALE_FAMILIES, type CaseSpec } from '../case.js';
import { BadArgumentError, describeValue } from '../errors.js';
import { checkGenerationFits } from '../resourceEstimate.js';
import { BIAS_DTYPES, LOGITS_DTYPES, QUANT_MODES, ROUTING_METHODS, hiddenFormat, weightBlock, type Problem } from '../problem.js';

function int(name: string, v: unknown, lo: number, hi: number): void {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < lo || v > hi) {
    throw new BadArgumentError(name, `an integer in [${lo}, ${hi}]`, describeValue(v));
  }
}

function oneOf(name: string, v: unknown, allowed: readonly string[]): void {
  if (typeof v !== 'string' || !allowed.includes(v)) {
    throw new BadArgumentError(name, `one of ${allowed.join(', ')}`, describeValue(v));
  }
}

function multiple(name: string, v: number, block: number, why: string): void {
  if (v % block !== 0) throw new BadArgumentError(name, `a multiple of ${block} (${why})`, String(v));
}

/** Validate the problem fields generation relies on. */
function validateProblemShape(p: Problem, prefix = 'problem'): void {
  if (p === null || typeof p !== 'object') throw new BadArgumentError(prefix, 'a Problem object', describeValue(p));
  const MAX = 2 ** 31 - 1;
  int(`${prefix}.T`, p.T, 1, MAX);
  int(`${prefix}.H`, p.H, 1, MAX);
  int(`${prefix}.I`, p.I, 1, MAX);
  int(`${prefix}.E`, p.E, 1, MAX);
  int(`${prefix}.topK`, p.topK, 1, p.E);
  int(`${prefix}.localOffset`, p.localOffset, 0, p.E - 1);
  int(`${prefix}.localExperts`, p.localExperts, 1, p.E - p.localOffset);
  oneOf(`${prefix}.quantMode`, p.quantMode, QUANT_MODES);
  oneOf(`${prefix}.logitsDtype`, p.logitsDtype, LOGITS_DTYPES);
  oneOf(`${prefix}.biasDtype`, p.biasDtype, BIAS_DTYPES);
  if (p.routing === null || typeof p.routing !== 'object') {
    throw new BadArgumentError(`${prefix}.routing`, 'a RoutingConfig object', describeValue(p.routing));
  }
  oneOf(`${prefix}.routing.method`, p.routing.method, ROUTING_METHODS);
  const wb = weightBlock(p.quantMode);
  const hf = hiddenFormat(p.quantMode);
  // H is FC1's contracted dim (weights' block wb, hidden block 16 nvfp4 / 32 mxfp8);
  // I is FC2's contracted dim (weights' block wb, FC2-input block 16 nvfp4 / 32 mxfp8).
  const hBlock = Math.max(wb, hf === 'nvfp4' ? 16 : hf === 'mxfp8' ? 32 : 1);
  multiple(`${prefix}.H`, p.H, hBlock, `FC1 weight block ${wb}${hf !== 'bf16' ? `, ${hf} hidden-state block` : ''}`);
  multiple(`${prefix}.I`, p.I, hBlock, `FC2 weight block ${wb}${hf !== 'bf16' ? `, ${hf} FC2-input block` : ''}`);
  const act = p.activation;
  if (act === null || typeof act !== 'object') throw new BadArgumentError(`${prefix}.activation`, 'an ActivationConfig', describeValue(act));
  oneOf(`${prefix}.activation.kind`, act.kind, ['swiglu', 'swiglu_clamped']);
  if (act.kind === 'swiglu_clamped') {
    if (!Number.isFinite(act.alpha)) throw new BadArgumentError(`${prefix}.activation.alpha`, 'a finite number', describeValue(act.alpha));
    if (!Number.isFinite(act.beta)) throw new BadArgumentError(`${prefix}.activation.beta`, 'a finite number', describeValue(act.beta));
    if (!(act.limit > 0)) throw new BadArgumentError(`${prefix}.activation.limit`, 'a number > 0 (Infinity allowed)', describeValue(act.limit));
  }
}

/**
 * Validate a whole CaseSpec (problem, seed, families), then refuse it when its case cannot
 * be generated in the memory available now (reference/resourceEstimate.ts).
 */
export function validateCaseSpec(spec: CaseSpec): void {
  if (spec === null || typeof spec !== 'object') throw new BadArgumentError('spec', 'a CaseSpec object', describeValue(spec));
  validateProblemShape(spec.problem, 'spec.problem');
  int('spec.seed', spec.seed, 0, 2 ** 32 - 1);
  oneOf('spec.logitFamily', spec.logitFamily, LOGIT_FAMILIES);
  oneOf('spec.scaleFamily', spec.scaleFamily, SCALE_FAMILIES);
  // Last: every field is well formed; now whether its arrays fit (estimate vs. memory now).
  checkGenerationFits(spec.problem, 'spec.problem');
}
