/**
 * The fault catalog: realistic kernel bugs that the campaign must kill. Each fault is
 * switchable in the emulated kernel (harness/kernels/emulated.ts) and in the test-only
 * build of the native kernel (native/, built with MOE_FAULTS=ON). The numeric code is
 * the value passed to the native addon; keep it stable.
 */
export const FAULTS = {
  dropped_last_partial_tile: { code: 1, what: 'the last partial token tile of each expert is not computed' },
  gate_up_swapped: { code: 2, what: 'FC1 gate and up halves swapped' },
  neighbour_block_scale: { code: 3, what: 'a block scale read from the neighbouring block (the last block of each row reads its left neighbour)' },
  ties_high_index: { code: 4, what: 'routing top-k lets the higher expert index win exact ties' },
  deepseek_bf16_logits: { code: 5, what: 'deepseek_v3 logits rounded to bf16 before routing' },
  missing_epsilon: { code: 6, what: 'deepseek_v3 weight normalization without the 1e-20 epsilon' },
  ep_offset_off_by_one: { code: 7, what: 'expert-parallel local index computed with localOffset + 1' },
  nondeterministic_finalize: { code: 8, what: 'finalize sums the k slots in a run-dependent order' },
  last_row_unwritten: { code: 9, what: 'the last output row is never written' },
  mx_exponent_round_down: { code: 10, what: 'MX block scale exponent rounded down (floor) instead of up' },
  tactic_skips_last_k_block: { code: 11, what: 'one tactic (largest tileTokens, config 0) skips the last K block of FC1' },
  expert_scale_ignored: { code: 12, what: 'one expert (local index 1) ignores its out2Scale' },
} as const;

export type FaultName = keyof typeof FAULTS;
export const FAULT_NAMES = Object.keys(FAULTS) as FaultName[];
