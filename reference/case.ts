/**
 * Case: every input tensor of one problem, as bytes exactly as a kernel receives
 * them, in the canonical layout of SPEC §1 (linear scales, rows 0..I-1 of FC1 = up,
 * rows I..2I-1 = gate).
 */
import type { ExpertBytes } from './expertBytes.js';
import type { Problem } from './problem.js';

/** Families of routing logits the generator produces on purpose. */
export const LOGIT_FAMILIES = [
  'normal',        // N(0, 1)·scale
  'ties',          // values from a tiny set: many exact ties
  'all_negative',  // every logit < 0
  'huge',          // magnitudes around 1e4..1e30
  'tiny_sigmoid',  // very negative logits (sigmoid ~1e-8) with large biases (deepseek_v3)
  'neg_inf',       // some entries -inf (never a whole row when a method cannot cope: see generate.ts)
  'uniform',       // every logit of a row equal
  'group_ties',    // blocks of experts (deepseek_v3 groups) that copy each other: exact group ties
] as const;
export type LogitFamily = (typeof LOGIT_FAMILIES)[number];

/** Families of scales and hidden states. */
export const SCALE_FAMILIES = [
  'normal',        // ordinary magnitudes
  'decades',       // global scales spread over several decades
  'zero_blocks',   // some all-zero blocks in hidden states and weights
  'zero_expert',   // one expert's weights all zero
  'zero_hidden',   // all hidden states zero
] as const;
export type ScaleFamily = (typeof SCALE_FAMILIES)[number];

/** Everything needed to rebuild a Case byte for byte. */
export interface CaseSpec {
  readonly problem: Problem;
  /** Data seed (uint32) fed to seedrandom. */
  readonly seed: number;
  readonly logitFamily: LogitFamily;
  readonly scaleFamily: ScaleFamily;
}

export type HiddenStates =
  /** bf16 bits [T, H] (mxfp4_bf16). */
  | { readonly format: 'bf16'; readonly data: Uint16Array }
  /** NVFP4: packed e2m1 [T, H/2], e4m3 scales [T, H/16] linear, global encode scale `a`. */
  | { readonly format: 'nvfp4'; readonly packed: Uint8Array; readonly scales: Uint8Array; readonly globalScale: number }
  /** MXFP8: e4m3 [T, H], ue8m0 scales [T, H/32] linear. */
  | { readonly format: 'mxfp8'; readonly data: Uint8Array; readonly scales: Uint8Array };

/**
 * Block-quantized FP4 weights of all local experts, stored per expert (expertBytes.ts: no
 * typed array ≥ 4 GiB, whatever the expert count).
 */
export interface Fp4Weights {
  /** Packed e2m1, [El, rows, cols/2], low nibble first: expert l is `packed.expert(l)`. */
  readonly packed: ExpertBytes;
  /** Block scales [El, rows, cols/sf] linear: e4m3 (NVFP4) or ue8m0 (MXFP4). */
  readonly scales: ExpertBytes;
  /** Per-expert global encode scale [El] (NVFP4); all 1 for MXFP4. */
  readonly globalScale: Float32Array;
}

export interface Case {
  readonly spec: CaseSpec;
  /** [T, E] float32, or bf16 bits when problem.logitsDtype is 'bfloat16'. */
  readonly logits: Float32Array | Uint16Array;
  /** [E] float32 or bf16 bits (deepseek_v3 with biasDtype != 'none'), else null. */
  readonly bias: Float32Array | Uint16Array | null;
  readonly hidden: HiddenStates;
  /** FC1: rows 2I (up then gate), cols H. */
  readonly fc1: Fp4Weights;
  /** FC2: rows H, cols I. */
  readonly fc2: Fp4Weights;
  /** SPEC §4.3 scalars [El] each (all 1 outside NVFP4). */
  readonly out1Scale: Float32Array;
  readonly out1GateScale: Float32Array;
  readonly out2Scale: Float32Array;
  /** NVFP4 only: the global encode scale `c` of FC2's input the caller calibrated (1 otherwise). */
  readonly fc2InputGlobalScale: number;
  /** Per-expert SwiGLU parameters [El] (activation 'swiglu_clamped'), else null. */
  readonly swiglu: { readonly alpha: Float32Array; readonly beta: Float32Array; readonly limit: Float32Array } | null;
}
