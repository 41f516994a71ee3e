/**
 * The golden cases: a small, fixed regression set spanning the six routing methods, the
 * three quant modes and the edge families of reference/case.ts. Each is a CaseSpec
 * (problem + seed + families) with a short name and the reason it exists. Changing a
 * spec here changes nothing on disk until `npm run goldens:update -- <name>` is run.
 */
import type { CaseSpec, LogitFamily, ScaleFamily } from '../reference/case.js';
import { configProblem } from '../reference/configs.js';
import type { Problem, QuantMode, RoutingConfig } from '../reference/problem.js';

export interface GoldenCaseDef {
  /** Short unique name: [a-z0-9_-], used for file names. */
  readonly name: string;
  /** Why this case is in the set. */
  readonly why: string;
  readonly spec: CaseSpec;
}

const BASE: Problem = {
  T: 5, H: 128, I: 64, E: 8, topK: 2, localOffset: 0, localExperts: 8,
  routing: { method: 'renormalize' }, logitsDtype: 'float32', biasDtype: 'none',
  quantMode: 'nvfp4', activation: { kind: 'swiglu' },
};

const DSV3: Partial<Problem> = {
  E: 16, topK: 4, localExperts: 16, biasDtype: 'float32',
  routing: { method: 'deepseek_v3', nGroup: 4, topkGroup: 2, routedScalingFactor: 2.5 },
};

function def(
  name: string, why: string, seed: number, over: Partial<Problem>,
  logitFamily: LogitFamily = 'normal', scaleFamily: ScaleFamily = 'normal',
): GoldenCaseDef {
  return { name, why, spec: { problem: { ...BASE, ...over }, seed, logitFamily, scaleFamily } };
}

const MODES: ReadonlyArray<readonly [QuantMode, string]> = [['nvfp4', 'nvfp4'], ['mxfp4_mxfp8', 'mxfp8'], ['mxfp4_bf16', 'bf16']];
const METHODS: ReadonlyArray<readonly [string, Partial<Problem>]> = [
  ['default', { routing: { method: 'default' } }],
  ['renorm', { routing: { method: 'renormalize' } }],
  ['naive', { routing: { method: 'renormalize_naive' } }],
  ['dsv3', DSV3],
  ['llama4', { routing: { method: 'llama4' } as RoutingConfig, topK: 1 }],
  ['topk', { routing: { method: 'topk' }, topK: 3 }],
];

/** Every routing method in every quant mode (18 cases), with varied T and shapes. */
const MATRIX: GoldenCaseDef[] = METHODS.flatMap(([m, over], i) =>
  MODES.map(([mode, short], j) =>
    def(`${m}-${short}`, `routing ${m} x quant mode ${mode}`, 1000 + 10 * i + j,
      { ...over, quantMode: mode, T: 3 + ((i * 3 + j) % 6), H: j === 1 ? 192 : 128 })));

const EDGES: GoldenCaseDef[] = [
  def('t1', 'a single token (T=1)', 2001, { T: 1, E: 16, topK: 4, localExperts: 16 }),
  def('ties', 'many exact ties in the logits: lower expert index must win', 2002,
    { T: 8, E: 16, topK: 4, localExperts: 16 }, 'ties'),
  def('ties-dsv3', 'exact ties in deepseek_v3 group selection (many near-equal groups)', 2003,
    { ...DSV3, T: 6, E: 32, routing: { method: 'deepseek_v3', nGroup: 8, topkGroup: 4, routedScalingFactor: 2.5 }, topK: 8, localExperts: 32, H: 64 }, 'ties'),
  def('group-ties', 'deepseek_v3 groups with identical inputs: exact group ties, the lower group index must be kept', 2020,
    { ...DSV3, T: 6 }, 'group_ties'),
  {
    name: 'flip-bf16',
    why: 'a real re-quantization flip: fragile FC2 inputs, and valid float32 FC1 orders (sequential, reverse, 16-term MMA) flip some (goldens/flipSearch.ts)',
    spec: { problem: flipCaseProblem('mxfp4_bf16'), seed: 4, logitFamily: 'normal', scaleFamily: 'normal' },
  },
  {
    name: 'flip-bf16-llama4',
    why: 'a real re-quantization flip with llama4 (weight applied before FC1): valid float32 FC1 orders flip fragile FC2 inputs (goldens/flipSearch.ts)',
    spec: { problem: flipCaseProblem('mxfp4_bf16', 'llama4'), seed: 1, logitFamily: 'normal', scaleFamily: 'normal' },
  },
  def('all-negative', 'every logit negative (FlashInfer #2822: 0% accuracy with renormalize)', 2004,
    { T: 6, E: 16, topK: 4, localExperts: 16 }, 'all_negative'),
  def('dsv3-tiny-sigmoid', 'sigmoid ~1e-8 with large biases: weights from the unbiased s, 1e-20 epsilon (#3803, #3875)', 2005,
    { ...DSV3, T: 6 }, 'tiny_sigmoid'),
  def('dsv3-bf16-bias', 'deepseek_v3 with a bf16 routing bias and no grouping', 2006,
    { ...DSV3, T: 4, biasDtype: 'bfloat16', routing: { method: 'deepseek_v3', nGroup: 1, topkGroup: 1, routedScalingFactor: 2.5 } }),
  def('ep-slice', 'expert-parallel slice with a nonzero offset: non-local slots contribute nothing', 2007,
    { T: 8, E: 32, topK: 4, localOffset: 12, localExperts: 6 }),
  def('zero-hidden', 'all hidden states zero: output exactly zero', 2008, { T: 4 }, 'normal', 'zero_hidden'),
  def('zero-blocks', 'all-zero scale blocks in hidden states and weights (NVFP4 scale 0)', 2009, { T: 4 }, 'normal', 'zero_blocks'),
  def('zero-expert', 'one expert with all-zero weights (global scale g = 1)', 2010, { T: 6, topK: 3 }, 'normal', 'zero_expert'),
  def('decades', 'global scales over several decades', 2011, { T: 4, quantMode: 'mxfp4_mxfp8' }, 'normal', 'decades'),
  def('residue-nvfp4', 'H and I not multiples of 64 (NVFP4 blocks of 16)', 2012, { T: 5, H: 80, I: 48 }),
  def('residue-mx', 'H and I not multiples of 64 (MX blocks of 32)', 2013, { T: 5, H: 96, I: 160, quantMode: 'mxfp4_mxfp8' }),
  def('bf16-logits', 'bf16 routing logits (decoded exactly to float32)', 2014, { T: 6, E: 16, topK: 4, localExperts: 16, logitsDtype: 'bfloat16' }),
  def('huge-logits', 'logit magnitudes 1e4..1e30: softmax must subtract the row max', 2015, { T: 4, routing: { method: 'default' } }, 'huge'),
  def('neg-inf', 'some logits -inf (masked experts)', 2016, { T: 6, E: 16, topK: 4, localExperts: 16 }, 'neg_inf'),
  def('uniform', 'every logit of a row equal: ids 0..k-1', 2017, { T: 3, routing: { method: 'topk' } }, 'uniform'),
  def('clamped-mxfp8', 'gpt-oss clamped SwiGLU (alpha 1.702, beta 1, limit 7) with MXFP8 activations', 2018,
    { T: 6, quantMode: 'mxfp4_mxfp8', activation: { kind: 'swiglu_clamped', alpha: 1.702, beta: 1, limit: 7 } }),
  def('clamped-nvfp4', 'clamped SwiGLU in NVFP4 mode: the clamp applies to up·c (c = out1Scale/out1GateScale)', 2019,
    { T: 6, activation: { kind: 'swiglu_clamped', alpha: 1.702, beta: 1, limit: 7 } }),
  {
    name: 'qwen3-30b-ep',
    why: 'SPEC §6 Qwen3-30B-A3B (E=128, k=8, H=2048, I=768) as an EP slice of 2 experts at offset 40',
    spec: { problem: configProblem('qwen3-30b-a3b', 32, { localOffset: 40, localExperts: 2 }), seed: 3001, logitFamily: 'normal', scaleFamily: 'normal' },
  },
  {
    name: 'deepseek-lite-ep',
    why: 'SPEC §6 DeepSeek-Lite (E=72, k=6, deepseek_v3 with bias and no grouping, H=2048, I=1408) as an EP slice of 1 expert at offset 33',
    spec: { problem: configProblem('deepseek-lite', 24, { localOffset: 33, localExperts: 1 }), seed: 3002, logitFamily: 'normal', scaleFamily: 'normal' },
  },
];

/**
 * The shape of the flip cases (flipSearch.ts): bf16 activations (mxfp4_bf16) and a long FC1
 * (H = 1024) make FC1 sums inexact in float32, so the accumulation order matters; a short
 * FC2 (I = 32) makes one flipped FC2 input visible beyond the accumulation bound.
 */
export function flipCaseProblem(quantMode: QuantMode, method: 'renormalize' | 'llama4' = 'renormalize'): Problem {
  return { ...BASE, T: 32, H: 1024, I: 256, E: 4, topK: method === 'llama4' ? 1 : 2, localExperts: 4, quantMode, routing: { method } };
}

export const GOLDEN_CASES: readonly GoldenCaseDef[] = [...MATRIX, ...EDGES];
