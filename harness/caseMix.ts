/**
 * The scenario mix: the cases of `check --runs n` (and the first section of the default
 * run, harness/defaultRun.ts, one cycle of it). Deterministic from a seed, cycling through
 * scenarios chosen so that every fault of harness/faults.ts is exercised (deepseek cases
 * for the deepseek faults, expert-parallel slices for the offset fault, exact ties for
 * the tie fault, MXFP8 for the MX fault, token counts that are not multiples of the tile
 * sizes for partial tiles, NVFP4 with several local experts for per-expert scales),
 * with random shapes, token counts and families around them.
 */
import seedrandom from 'seedrandom';
import type { CaseSpec, LogitFamily, ScaleFamily } from '../reference/case.js';
import { BadArgumentError } from '../reference/errors.js';
import type { ActivationConfig, Problem, QuantMode, RoutingConfig, RoutingMethodName } from '../reference/problem.js';
import { validateCaseSpec } from '../reference/generate/validateCaseSpec.js';
import { routingMethod } from '../reference/routing/registry.js';

export const MIX_SIZES = ['small', 'medium'] as const;
export type MixSize = (typeof MIX_SIZES)[number];

export interface CaseMixOptions {
  readonly runs: number;
  readonly seed: number;
  /** small: H, I <= 128, E <= 16, T <= 64 (CPU, CI); medium: H, I up to 1024, E up to 64, T up to 512. */
  readonly size?: MixSize;
  readonly routing?: readonly RoutingMethodName[];
  readonly quant?: readonly QuantMode[];
  readonly logitFamilies?: readonly LogitFamily[];
  readonly scaleFamilies?: readonly ScaleFamily[];
  /** Fixed shape values (override the random ones). */
  readonly T?: readonly number[];
  readonly H?: number;
  readonly I?: number;
}

interface Scenario {
  readonly name: string;
  readonly methods: readonly RoutingMethodName[];
  readonly quant: QuantMode;
  readonly logits: readonly LogitFamily[];
  readonly E: number;
  readonly topK: number;
  /** [localOffset, localExperts] choices; full when absent. */
  readonly slices?: ReadonlyArray<readonly [number, number]>;
  readonly groups?: { readonly nGroup: number; readonly topkGroup: number };
  readonly bias?: 'float32' | 'bfloat16';
  readonly logitsDtype?: 'float32' | 'bfloat16';
  readonly activation?: ActivationConfig;
  /** Smallest T (e.g. all_negative shifts every tenth row far down: T >= 10 reaches one). */
  readonly minT?: number;
}

const GPT_OSS: ActivationConfig = { kind: 'swiglu_clamped', alpha: 1.702, beta: 1, limit: 7 };

/** The scenarios, in the order the mix cycles through them. */
export const SCENARIOS: readonly Scenario[] = [
  { name: 'plain', methods: ['renormalize'], quant: 'nvfp4', logits: ['normal'], E: 8, topK: 2 },
  { name: 'ties', methods: ['topk', 'renormalize', 'default', 'renormalize_naive'], quant: 'nvfp4', logits: ['ties', 'uniform'], E: 8, topK: 3 },
  { name: 'deepseek-grouped', methods: ['deepseek_v3'], quant: 'nvfp4', logits: ['normal', 'neg_inf', 'tiny_sigmoid', 'ties', 'huge'], E: 16, topK: 4, groups: { nGroup: 4, topkGroup: 2 }, bias: 'float32' },
  { name: 'ep-slice', methods: ['renormalize', 'deepseek_v3'], quant: 'nvfp4', logits: ['normal'], E: 16, topK: 4, slices: [[1, 6], [3, 8], [8, 8], [5, 4]], bias: 'float32' },
  { name: 'mxfp8', methods: ['renormalize'], quant: 'mxfp4_mxfp8', logits: ['normal'], E: 8, topK: 4, activation: GPT_OSS },
  { name: 'deepseek-flat', methods: ['deepseek_v3'], quant: 'nvfp4', logits: ['all_negative', 'neg_inf', 'huge', 'tiny_sigmoid', 'normal'], E: 12, topK: 3, bias: 'bfloat16', minT: 10 },
  { name: 'llama4', methods: ['llama4'], quant: 'nvfp4', logits: ['normal', 'all_negative'], E: 8, topK: 1 },
  { name: 'mx-bf16', methods: ['renormalize_naive', 'renormalize'], quant: 'mxfp4_bf16', logits: ['normal', 'ties'], E: 8, topK: 2, logitsDtype: 'bfloat16' },
  { name: 'deepseek-group-ties', methods: ['deepseek_v3'], quant: 'nvfp4', logits: ['group_ties'], E: 16, topK: 4, groups: { nGroup: 4, topkGroup: 2 }, bias: 'float32' },
  { name: 'default-slice', methods: ['default'], quant: 'nvfp4', logits: ['normal', 'huge'], E: 16, topK: 4, slices: [[2, 12], [0, 10]], logitsDtype: 'bfloat16' },
];

const SHAPES: Readonly<Record<MixSize, { T: readonly number[]; HI: readonly number[]; scale: number }>> = {
  small: { T: [1, 3, 5, 7, 9, 13, 17, 24, 31, 33, 40, 47, 63, 64], HI: [64, 128, 96], scale: 1 },
  medium: { T: [1, 7, 33, 63, 65, 127, 129, 255, 257, 511], HI: [256, 512, 1024, 384], scale: 4 },
};

const OTHER_SCALES: readonly ScaleFamily[] = ['decades', 'zero_blocks', 'zero_expert', 'zero_hidden'];

function pick<T>(rng: () => number, xs: readonly T[]): T {
  return xs[Math.floor(rng() * xs.length)]!;
}

function scenarioProblem(s: Scenario, method: RoutingMethodName, quant: QuantMode, rng: () => number, size: MixSize, o: CaseMixOptions): Problem {
  const shapes = SHAPES[size];
  const E = s.E * shapes.scale;
  const [localOffset, localExperts] = s.slices ? pick(rng, s.slices).map((v) => v * shapes.scale) as [number, number] : [0, E];
  const usesBias = routingMethod(method).usesBias;
  let routing: RoutingConfig = { method };
  if (usesBias) {
    routing = s.groups
      ? { method, nGroup: s.groups.nGroup, topkGroup: s.groups.topkGroup, routedScalingFactor: 2.5 }
      : { method, nGroup: 1, topkGroup: 1, routedScalingFactor: 2.5 };
  }
  const mx = quant !== 'nvfp4';
  const hi = mx ? shapes.HI.filter((v) => v % 32 === 0) : shapes.HI;
  return {
    T: pick(rng, o.T ?? shapes.T.filter((t) => t >= (s.minT ?? 1))),
    H: o.H ?? pick(rng, hi),
    I: o.I ?? pick(rng, hi),
    E,
    topK: method === 'llama4' ? 1 : s.topK,
    localOffset,
    localExperts,
    routing,
    logitsDtype: s.logitsDtype ?? 'float32',
    biasDtype: usesBias ? (s.bias ?? 'float32') : 'none',
    quantMode: quant,
    activation: s.activation ?? { kind: 'swiglu' },
  };
}

/** The CaseSpecs of a campaign (validated; throws BadArgumentError on bad options). */
export function caseMix(o: CaseMixOptions): CaseSpec[] {
  if (!Number.isInteger(o.runs) || o.runs < 1) throw new BadArgumentError('runs', 'an integer >= 1', String(o.runs));
  if (!Number.isInteger(o.seed) || o.seed < 0 || o.seed > 2 ** 32 - 1) throw new BadArgumentError('seed', 'an integer in [0, 2^32-1]', String(o.seed));
  const size = o.size ?? 'small';
  const rng = seedrandom(`moe-harness-mix:${o.seed}`);
  // Scenarios kept by the filters; when none fits, a plain scenario per allowed (method, quant).
  let scenarios = SCENARIOS.filter((s) => (!o.routing || s.methods.some((m) => o.routing!.includes(m))) && (!o.quant || o.quant.includes(s.quant)));
  if (scenarios.length === 0) {
    const methods = o.routing ?? ['renormalize'];
    const quants = o.quant ?? ['nvfp4'];
    scenarios = methods.flatMap((m) => quants.map((q): Scenario => ({
      name: `${m}-${q}`, methods: [m], quant: q, logits: ['normal', 'ties'], E: 8, topK: m === 'llama4' ? 1 : 2,
      ...(q === 'mxfp4_mxfp8' ? { activation: GPT_OSS } : {}),
    })));
  }
  const specs: CaseSpec[] = [];
  for (let n = 0; n < o.runs; n++) {
    const s = scenarios[n % scenarios.length]!;
    const methods = o.routing ? s.methods.filter((m) => o.routing!.includes(m)) : s.methods;
    const method = methods[Math.floor(n / scenarios.length) % methods.length]!;
    const problem = scenarioProblem(s, method, s.quant, rng, size, o);
    const logitFamily = o.logitFamilies ? pick(rng, o.logitFamilies) : s.logits[Math.floor(n / scenarios.length) % s.logits.length]!;
    const scaleFamily = o.scaleFamilies ? pick(rng, o.scaleFamilies) : (n % 4 === 3 ? pick(rng, OTHER_SCALES) : 'normal');
    const spec: CaseSpec = { problem, seed: Math.floor(rng() * 2 ** 32) >>> 0, logitFamily, scaleFamily };
    routingMethod(problem.routing.method).validate(problem);
    validateCaseSpec(spec);
    specs.push(spec);
  }
  return specs;
}
