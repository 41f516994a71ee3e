/**
 * The fault catalog: realistic kernel bugs that the campaign must kill, in one place.
 * Each fault has
 *   - `code`: the value passed to the native addon (native/src/cuda/common.cuh enum
 *     FaultCode, range-checked in native/src/cuda/engine.cu; faults.test.ts checks both
 *     against this table). Keep codes stable;
 *   - `effect`: what the faulty kernel does;
 *   - `finding`: the finding kinds (verdict.ts) a verdict against it must contain (one of);
 *   - `scenario`: the inputs that expose it (the default case mix covers every one).
 * Every fault is switchable in the emulated kernel (harness/kernels/emulated*.ts) and in the
 * test-only build of the native kernel (`node native/build.mjs --faults`, MOE_FAULTS=ON).
 */
import type { FindingKind } from './verdict.js';

export interface FaultSpec {
  readonly code: number;
  readonly effect: string;
  readonly finding: readonly FindingKind[];
  readonly scenario: string;
}

export const FAULTS = {
  dropped_last_partial_tile: {
    code: 1, effect: 'the last partial token tile of each expert is not computed', finding: ['beyond_bound'],
    scenario: 'an expert receiving a token count that is not a multiple of the tile size (most T)',
  },
  gate_up_swapped: {
    code: 2, effect: 'FC1 gate and up halves swapped', finding: ['beyond_bound'], scenario: 'any case',
  },
  neighbour_block_scale: {
    code: 3, effect: 'a block scale read from the neighbouring block (the last block of each row reads its left neighbour)',
    finding: ['beyond_bound'], scenario: 'any case with two or more scale blocks per row',
  },
  ties_high_index: {
    code: 4, effect: 'routing top-k lets the higher expert index win exact ties', finding: ['routing'],
    scenario: 'logit family ties or uniform (bit-identical logits)',
  },
  deepseek_bf16_logits: {
    code: 5, effect: 'deepseek_v3 logits rounded to bf16 before routing', finding: ['routing'],
    scenario: 'deepseek_v3 with float32 logits',
  },
  missing_epsilon: {
    code: 6, effect: 'deepseek_v3 weight normalization without the 1e-20 epsilon', finding: ['routing', 'nonfinite'],
    scenario: 'deepseek_v3 with logit family tiny_sigmoid or neg_inf (every chosen sigmoid 0)',
  },
  ep_offset_off_by_one: {
    code: 7, effect: 'expert-parallel local index computed with localOffset + 1', finding: ['beyond_bound'],
    scenario: 'an expert-parallel slice (localOffset > 0)',
  },
  nondeterministic_finalize: {
    code: 8, effect: 'finalize sums the k slots in a run-dependent order', finding: ['nondeterministic'],
    scenario: 'k >= 2 (two runs on identical inputs)',
  },
  last_row_unwritten: {
    code: 9, effect: 'the last output row is never written', finding: ['poison'], scenario: 'any case',
  },
  mx_exponent_round_down: {
    code: 10, effect: 'MX block scale exponent rounded down (floor) instead of up', finding: ['beyond_bound'],
    scenario: 'quant mode mxfp4_mxfp8',
  },
  tactic_skips_last_k_block: {
    code: 11, effect: 'one tactic skips the last K block of FC1: natively 8/3 (the decode tactic, the fastest at small T); emulated, the largest tileTokens of config 0',
    finding: ['beyond_bound'],
    scenario: 'every tactic forced (only that one tactic is faulty)',
  },
  expert_scale_ignored: {
    code: 12, effect: 'one expert (local index 1) ignores its out2Scale', finding: ['beyond_bound'],
    scenario: 'NVFP4 with two or more local experts',
  },
  group_ties_high_index: {
    code: 13, effect: 'deepseek_v3 group selection lets the higher group index win exact group ties', finding: ['routing'],
    scenario: 'grouped deepseek_v3 with logit family group_ties (groups with identical inputs)',
  },
} as const satisfies Record<string, FaultSpec>;

export type FaultName = keyof typeof FAULTS;
export const FAULT_NAMES = Object.keys(FAULTS) as FaultName[];

/** The largest fault code (the native range check is [0, MAX_FAULT_CODE]). */
export const MAX_FAULT_CODE = Math.max(...FAULT_NAMES.map((f) => FAULTS[f].code));
