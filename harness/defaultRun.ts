/**
 * The default run of `moe-harness check`: a deliberate mix of cases planned within a time
 * budget (docs/default-run.md). The plan is deterministic from (seed, budget, kernel kind,
 * repeats): the case list is built from the seed, each case's cost is estimated with the
 * kernel's cost model (caseCost.ts), and the budget is filled in a fixed priority order:
 *
 *   1. fault_scenarios   one cycle of the scenario mix (caseMix.ts) that kills the fault catalog;
 *   2. routing_logits    every routing method × every logit family it accepts (deepseek_v3
 *                        grouped and flat), the 15 (quant mode × scale family) pairs cycled over
 *                        them, fp32 and bf16 logits, some expert-parallel slices;
 *   3. many_experts      E >= 128 local experts (128, 160, 192 of 256 at an offset, 256 in 8 groups
 *                        with exact group ties);
 *   4. medium_tactics    medium shapes on which every tactic is enumerated (T > 128, H >= 256,
 *                        I = 512: the native split-K config needs I >= 512), one per quant mode;
 *   5. spec_config       a SPEC §6 configuration at its full expert count and small T
 *                        (Qwen3-30B-A3B, 128 experts, T = 8; 340 MB of weights);
 *   6. extra             random mix cases (small and medium alternating) while the budget lasts.
 *
 * A coverage case that does not fit what is left of the budget is skipped and reported (the
 * coverage line names it); later, cheaper ones still run. Every tactic runs `repeats` times
 * (3 by default) on identical inputs.
 */
import seedrandom from 'seedrandom';
import { LOGIT_FAMILIES, SCALE_FAMILIES, type CaseSpec, type LogitFamily, type ScaleFamily } from '../reference/case.js';
import { configProblem } from '../reference/configs.js';
import { BadArgumentError } from '../reference/errors.js';
import { validateCaseSpec } from '../reference/generate/validateCaseSpec.js';
import {
  QUANT_MODES, ROUTING_METHODS, type ActivationConfig, type Problem, type QuantMode, type RoutingConfig, type RoutingMethodName,
} from '../reference/problem.js';
import { routingMethod } from '../reference/routing/registry.js';
import { caseCostModel, estimateCaseMs } from './caseCost.js';
import { caseMix, SCENARIOS } from './caseMix.js';
import type { KernelKind } from './kernels/select.js';
import type { ReferencePrecision } from './referenceFor.js';

/** The default budget of the default run, seconds (target: at most this on a GPU host). */
export const DEFAULT_BUDGET_S = 60;
/** Runs of every tactic on identical inputs in the default run. */
export const DEFAULT_RUN_REPEATS = 3;
/** `check` options that shape the cases: with any of them `check` runs the old mix (or --config), not the default run. */
export const DEFAULT_RUN_SHAPING_OPTIONS = ['runs', 'config', 'T', 'H', 'I', 'local-experts', 'local-offset', 'routing', 'quant', 'logits', 'scales', 'size'] as const;

const PLAN_SECTIONS = ['fault_scenarios', 'routing_logits', 'many_experts', 'medium_tactics', 'spec_config', 'extra'] as const;
export type PlanSection = (typeof PLAN_SECTIONS)[number];

export interface PlannedCase {
  readonly section: PlanSection;
  /** What this case is for, in a few words. */
  readonly why: string;
  readonly spec: CaseSpec;
  readonly estimateMs: number;
}

export interface DefaultRunOptions {
  readonly seed: number;
  /** Seconds (> 0). */
  readonly budgetS: number;
  readonly kernel: KernelKind;
  /** Runs of each tactic (>= 2; default DEFAULT_RUN_REPEATS). */
  readonly repeats?: number;
  /** The reference the run judges against (default float32; float64 is the slower oracle). */
  readonly referencePrecision?: ReferencePrecision;
}

export interface DefaultRunPlan {
  readonly options: Required<DefaultRunOptions>;
  readonly cases: readonly PlannedCase[];
  /** Coverage cases left out because they did not fit what was left of the budget. */
  readonly skipped: readonly PlannedCase[];
  readonly estimateMs: number;
}

/** Logit families each routing method accepts in the default run: every family the generator makes. */
function acceptedLogitFamilies(method: RoutingMethodName): readonly LogitFamily[] {
  routingMethod(method); // unknown names throw BadArgumentError
  return LOGIT_FAMILIES;
}

const GPT_OSS: ActivationConfig = { kind: 'swiglu_clamped', alpha: 1.702, beta: 1, limit: 7 };
const SMALL_T = [10, 13, 17, 24, 31, 33, 40, 47, 63, 64] as const;
const SMALL_HI = [64, 128] as const;

type Rng = () => number;
const pick = <T>(rng: Rng, xs: readonly T[]): T => xs[Math.floor(rng() * xs.length)]!;
const seed32 = (rng: Rng): number => Math.floor(rng() * 2 ** 32) >>> 0;

function routingFor(method: RoutingMethodName, groups: { nGroup: number; topkGroup: number } | null): RoutingConfig {
  if (!routingMethod(method).usesBias) return { method };
  const g = groups ?? { nGroup: 1, topkGroup: 1 };
  return { method, nGroup: g.nGroup, topkGroup: g.topkGroup, routedScalingFactor: 2.5 };
}

function problemOf(o: {
  method: RoutingMethodName; quant: QuantMode; T: number; H: number; I: number; E: number; topK: number;
  slice?: readonly [number, number]; groups?: { nGroup: number; topkGroup: number } | null;
  logitsDtype?: 'float32' | 'bfloat16'; biasDtype?: 'float32' | 'bfloat16'; activation?: ActivationConfig;
}): Problem {
  const m = routingMethod(o.method);
  const [localOffset, localExperts] = o.slice ?? [0, o.E];
  return {
    T: o.T, H: o.H, I: o.I, E: o.E, topK: m.requiredTopK ?? o.topK, localOffset, localExperts,
    routing: routingFor(o.method, o.groups ?? null),
    logitsDtype: o.logitsDtype ?? 'float32',
    biasDtype: m.usesBias ? (o.biasDtype ?? 'float32') : 'none',
    quantMode: o.quant,
    activation: o.activation ?? (o.quant === 'mxfp4_mxfp8' ? GPT_OSS : { kind: 'swiglu' }),
  };
}

type Draft = Omit<PlannedCase, 'estimateMs'>;

function spec(problem: Problem, rng: Rng, logitFamily: LogitFamily, scaleFamily: ScaleFamily): CaseSpec {
  return { problem, seed: seed32(rng), logitFamily, scaleFamily };
}

/** Section 2: every method × every accepted logit family, (quant × scale) pairs cycled over them. */
function routingLogitCases(rng: Rng): Draft[] {
  const pairs = QUANT_MODES.flatMap((q) => SCALE_FAMILIES.map((s) => [q, s] as const));
  const out: Draft[] = [];
  let n = 0;
  for (const method of ROUTING_METHODS) {
    const variants: ReadonlyArray<{ groups: { nGroup: number; topkGroup: number } | null; label: string }> = routingMethod(method).configFields.includes('nGroup')
      ? [{ groups: { nGroup: 4, topkGroup: 2 }, label: 'grouped 4/2' }, { groups: null, label: 'flat' }]
      : [{ groups: null, label: '' }];
    for (const v of variants) {
      for (const logits of acceptedLogitFamilies(method)) {
        let [quant, scales] = pairs[n % pairs.length]!;
        // Skip forward over an excluded pair (keeps the cycle covering every pair elsewhere).
        const ep = n % 5 === 4;
        const problem = problemOf({
          method, quant, T: pick(rng, SMALL_T), H: pick(rng, SMALL_HI), I: pick(rng, SMALL_HI),
          E: 16, topK: 4, groups: v.groups, ...(ep ? { slice: [4, 8] as const } : {}),
          logitsDtype: n % 2 === 1 ? 'bfloat16' : 'float32', biasDtype: n % 4 < 2 ? 'float32' : 'bfloat16',
          ...(quant !== 'mxfp4_mxfp8' && n % 4 === 3 ? { activation: GPT_OSS } : {}),
        });
        out.push({
          section: 'routing_logits', why: `${method}${v.label ? ` ${v.label}` : ''} × ${logits} logits, ${quant}/${scales}${ep ? ', EP slice' : ''}`,
          spec: spec(problem, rng, logits, scales),
        });
        n++;
      }
    }
  }
  return out;
}

/** Section 3: E >= 128 local experts, small H and I so that the emulated kernel stays quick. */
function manyExpertCases(rng: Rng): Draft[] {
  const c = (why: string, p: Problem, logits: LogitFamily, scales: ScaleFamily = 'normal'): Draft =>
    ({ section: 'many_experts', why, spec: spec(p, rng, logits, scales) });
  return [
    c('128 local experts, renormalize k=8', problemOf({ method: 'renormalize', quant: 'nvfp4', T: 96, H: 128, I: 128, E: 128, topK: 8 }), 'normal'),
    c('256 local experts in 8 groups (deepseek_v3 8/4), exact group ties', problemOf({
      method: 'deepseek_v3', quant: 'mxfp4_mxfp8', T: 64, H: 64, I: 64, E: 256, topK: 8, groups: { nGroup: 8, topkGroup: 4 },
    }), 'ties'),
    c('192 of 256 experts at offset 64, renormalize_naive', problemOf({
      method: 'renormalize_naive', quant: 'mxfp4_bf16', T: 128, H: 64, I: 64, E: 256, topK: 6, slice: [64, 192],
    }), 'normal', 'zero_blocks'),
    c('160 local experts, default routing, huge logits', problemOf({ method: 'default', quant: 'nvfp4', T: 80, H: 64, I: 128, E: 160, topK: 6, logitsDtype: 'bfloat16' }), 'huge'),
    c('256 local experts in 8 groups, normal logits, bf16 bias', problemOf({
      method: 'deepseek_v3', quant: 'nvfp4', T: 40, H: 128, I: 64, E: 256, topK: 8, groups: { nGroup: 8, topkGroup: 4 }, biasDtype: 'bfloat16',
    }), 'normal', 'decades'),
  ];
}

/** Section 4: medium shapes on which every tactic (native and emulated) is enumerated. */
function mediumTacticCases(rng: Rng): Draft[] {
  const c = (why: string, p: Problem, logits: LogitFamily, scales: ScaleFamily = 'normal'): Draft =>
    ({ section: 'medium_tactics', why, spec: spec(p, rng, logits, scales) });
  return [
    c('medium nvfp4, every tactic', problemOf({ method: 'renormalize', quant: 'nvfp4', T: 200, H: 512, I: 512, E: 32, topK: 4 }), 'normal'),
    c('medium mxfp4_mxfp8 (gpt-oss SwiGLU), every tactic', problemOf({ method: 'renormalize', quant: 'mxfp4_mxfp8', T: 257, H: 256, I: 512, E: 32, topK: 4 }), 'huge'),
    c('medium mxfp4_bf16 deepseek_v3 8/4, every tactic', problemOf({
      method: 'deepseek_v3', quant: 'mxfp4_bf16', T: 129, H: 256, I: 512, E: 64, topK: 8, groups: { nGroup: 8, topkGroup: 4 },
    }), 'ties', 'zero_expert'),
  ];
}

/** Section 5: a SPEC §6 configuration at full expert count and small T. */
function specConfigCases(rng: Rng): Draft[] {
  return [{ section: 'spec_config', why: 'SPEC §6 qwen3-30b-a3b, all 128 experts, T=8', spec: spec(configProblem('qwen3-30b-a3b', 8), rng, 'normal', 'normal') }];
}

function check(o: DefaultRunOptions): Required<DefaultRunOptions> {
  if (!Number.isInteger(o.seed) || o.seed < 0 || o.seed > 2 ** 32 - 1) throw new BadArgumentError('seed', 'an integer in [0, 2^32-1]', String(o.seed));
  if (!(typeof o.budgetS === 'number' && Number.isFinite(o.budgetS) && o.budgetS > 0)) throw new BadArgumentError('--budget', 'seconds > 0', String(o.budgetS));
  const repeats = o.repeats ?? DEFAULT_RUN_REPEATS;
  if (!Number.isInteger(repeats) || repeats < 2) throw new BadArgumentError('repeats', 'an integer >= 2', String(repeats));
  caseCostModel(o.kernel);
  const referencePrecision = o.referencePrecision ?? 'float32';
  if (referencePrecision !== 'float32' && referencePrecision !== 'float64') throw new BadArgumentError('--reference', 'float32 or float64', String(referencePrecision));
  return { seed: o.seed, budgetS: o.budgetS, kernel: o.kernel, repeats, referencePrecision };
}

/** Candidates for the extra section: random mix cases, small and medium alternating. */
const EXTRA_CANDIDATES = 400;

/** Plan the default run (validated: BadArgumentError on bad options). */
export function planDefaultRun(opts: DefaultRunOptions): DefaultRunPlan {
  const o = check(opts);
  const model = caseCostModel(o.kernel);
  const rng = seedrandom(`moe-harness-default-run:${o.seed}`);
  const coverage: Draft[] = [
    ...caseMix({ runs: SCENARIOS.length, seed: o.seed }).map((s, i): Draft => ({ section: 'fault_scenarios', why: `scenario ${SCENARIOS[i]!.name}`, spec: s })),
    ...routingLogitCases(rng),
    ...manyExpertCases(rng),
    ...mediumTacticCases(rng),
    ...specConfigCases(rng),
  ];
  const budgetMs = o.budgetS * 1000;
  const cases: PlannedCase[] = [];
  const skipped: PlannedCase[] = [];
  let used = model.constants.startupMs;
  const estimate = (d: Draft): PlannedCase => {
    routingMethod(d.spec.problem.routing.method).validate(d.spec.problem);
    validateCaseSpec(d.spec);
    return { ...d, estimateMs: estimateCaseMs(model, d.spec.problem, o.repeats, o.referencePrecision) };
  };
  for (const d of coverage) {
    const pc = estimate(d);
    if (used + pc.estimateMs <= budgetMs) {
      cases.push(pc);
      used += pc.estimateMs;
    } else skipped.push(pc);
  }
  const small = caseMix({ runs: EXTRA_CANDIDATES / 2, seed: (o.seed + 1) >>> 0, size: 'small' });
  const medium = caseMix({ runs: EXTRA_CANDIDATES / 2, seed: (o.seed + 2) >>> 0, size: 'medium' });
  for (let i = 0; i < EXTRA_CANDIDATES / 2; i++) {
    for (const [s, size] of [[medium[i]!, 'medium'], [small[i]!, 'small']] as const) {
      const pc = estimate({ section: 'extra', why: `random ${size} mix case`, spec: s });
      if (used + pc.estimateMs <= budgetMs) {
        cases.push(pc);
        used += pc.estimateMs;
      }
    }
  }
  return { options: o, cases, skipped, estimateMs: used };
}

const fmtS = (ms: number): string => `${(ms / 1000).toFixed(1)} s`;

/** One line saying what the plan covers (printed at the start of the run). */
export function coverageLine(plan: DefaultRunPlan): string {
  const { cases, skipped, options: o } = plan;
  const count = (s: PlanSection): number => cases.filter((c) => c.section === s).length;
  const pl = cases.map((c) => c.spec.problem);
  const methods = new Set(cases.filter((c) => c.section === 'routing_logits').map((c) => c.spec.problem.routing.method));
  const methodLogits = new Set(cases.map((c) => `${c.spec.problem.routing.method}/${c.spec.logitFamily}`));
  const quantScales = new Set(cases.map((c) => `${c.spec.problem.quantMode}/${c.spec.scaleFamily}`));
  const maxLocal = Math.max(...pl.map((p) => p.localExperts));
  const spec = cases.filter((c) => c.section === 'spec_config').map((c) => `${c.spec.problem.name} E=${c.spec.problem.E} T=${c.spec.problem.T}`);
  const parts = [
    `fault scenarios ${count('fault_scenarios')}`,
    `routing × logits ${methodLogits.size}/${ROUTING_METHODS.length * LOGIT_FAMILIES.length} (${methods.size} methods)`,
    `quant × scales ${quantScales.size}/${QUANT_MODES.length * SCALE_FAMILIES.length}`,
    `E ≥ 128 local: ${count('many_experts')} (max ${maxLocal} local)`,
    `medium on every tactic: ${count('medium_tactics')}`,
    `SPEC §6 full: ${spec.length > 0 ? spec.join(', ') : 'none'}`,
    `extra random ${count('extra')}`,
  ];
  // Skipped coverage, per section: the count, and the first two cases by name.
  const skip = skipped.length === 0 ? '' : `; SKIPPED (over budget): ${PLAN_SECTIONS.map((s) => {
    const xs = skipped.filter((x) => x.section === s);
    if (xs.length === 0) return null;
    const named = xs.slice(0, 2).map((x) => `${x.why} (est. ${fmtS(x.estimateMs)})`).join('; ');
    return `${s} ${xs.length}: ${named}${xs.length > 2 ? `; … ${xs.length - 2} more` : ''}`;
  }).filter((x) => x !== null).join(' | ')}`;
  return `default run: ${cases.length} cases, est. ${fmtS(plan.estimateMs)} of a ${o.budgetS} s budget (${o.kernel} cost model`
    + `${o.referencePrecision === 'float64' ? ', float64 reference' : ''}), `
    + `each tactic run ${o.repeats}× on identical inputs — ${parts.join(', ')}${skip}`;
}
