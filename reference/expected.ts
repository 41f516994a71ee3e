/**
 * Expected: what the CPU reference says one case must produce, plus what a
 * comparator needs to explain a difference without recomputing the MoE.
 */
import type { Problem } from './problem.js';
import type { RoutingEvidence } from './routing/evidence.js';

export interface RoutingResult {
  /** Chosen expert ids [T, k], best first (ties: lower index first). */
  readonly ids: Int32Array;
  /**
   * Weights [T, k], float32. For llama4 this is sigmoid(logit), applied to the token
   * before FC1 (finalize then uses 1).
   */
  readonly weights: Float32Array;
  /**
   * The float32 score each expert was ranked by [T, E] (after group masking: -inf
   * for ineligible experts). The comparator uses it to accept ties.
   */
  readonly selectionScores: Float32Array;
  /**
   * What the judge needs to accept another valid choice without recomputing any score:
   * scores before group masking, group scores, exact-tie classes of experts and groups
   * (routing/evidence.ts). Always the reference's own (also under forced ids).
   */
  readonly evidence: RoutingEvidence;
}

export interface Expected {
  readonly problem: Problem;
  readonly routing: RoutingResult;
  /** Output before the final bf16 rounding [T, H] float32. */
  readonly outputF32: Float32Array;
  /** Output as bf16 bits [T, H]. */
  readonly outputBf16: Uint16Array;
  /**
   * Magnitude that FC2 and finalize accumulate over, [T, H]:
   * Σ_j |w_j| · |out2Scale_l| · Σ_i |W2_l[h,i] · â_i|. Accumulation-order error is bounded relative to it.
   */
  readonly absAccum: Float32Array;
  /**
   * Allowance for re-quantization flips of FC2's input, [T, H]: for every FC2-input
   * element (or whole block, when its scale is fragile) whose float32 value lies
   * within the FC1 error window of a rounding boundary, |w_j · out2Scale_l · W2_l[h,i] · (â_alt − â)|
   * summed over such elements. Zero where no fragile element feeds the token.
   */
  readonly flipAllowance: Float32Array;
  /**
   * Extra bound [T, H] derived for a declared arithmetic convention that rounds an
   * intermediate the kernel and the reference may legitimately round apart (fc2Output 'bf16':
   * Σ_j |w_j|·|out2Scale|·D_j, bf16GemmOutputConvention.ts). Absent under the default
   * conventions: nothing is ever loosened for a convention that was not declared.
   */
  readonly conventionBound?: Float32Array;
  /** Tokens [T] with at least one fragile element: 1, else 0. */
  readonly fragileTokens: Uint8Array;
  /** Counts over all local slots: elements re-quantized, fragile elements, fragile block scales. */
  readonly requant: { readonly elements: number; readonly fragileElements: number; readonly fragileBlocks: number };
  /**
   * 'output' (ReferenceOptions.analysis): only routing and the outputs were computed;
   * absAccum, flipAllowance and fragileTokens are zero-filled and requant's fragile counts
   * are 0, so it cannot judge a kernel (the comparator refuses it). Absent or 'full': the
   * whole analysis.
   */
  readonly analysis?: 'full' | 'output';
  /** Which arithmetic produced it. */
  readonly provenance: { readonly precision: 'float64' | 'float32'; readonly backend: string; readonly threads: number };
}
