/**
 * Types shared by the routing methods of SPEC §3. A method is looked up by name in
 * registry.ts; nothing outside reference/routing/ switches on method names: callers
 * read the method's properties (usesBias, weightPlacement, ...) instead.
 */
import type { Problem, RoutingConfig, RoutingMethodName } from '../problem.js';
import type { RoutingResult } from '../expected.js';

/** One routing call, logits and bias already decoded to float32. */
export interface RoutingInput {
  readonly T: number;
  readonly E: number;
  readonly topK: number;
  /** [T, E] float32 (bf16 logits decoded exactly). */
  readonly logits: Float32Array;
  /** [E] float32 (deepseek_v3 only), else null. */
  readonly bias: Float32Array | null;
  readonly config: RoutingConfig;
}

/**
 * Group structure of one token's scores (deepseek_v3 with nGroup > 1): experts are split
 * into `count` contiguous groups of `size`; `keep` groups survive, chosen by `scores`
 * (float32, higher first, exact ties: lower group index).
 */
export interface GroupScores {
  readonly count: number;
  readonly size: number;
  readonly keep: number;
  /** [count] float32 group scores. */
  readonly scores: Float32Array;
}

/** What one token is ranked by, before group masking. */
export interface TokenScores {
  /**
   * [E] float32 score each expert is ranked by. Masked experts (logit -inf, and
   * invalid logits NaN/+inf, which the reference treats as -inf) score -inf.
   */
  readonly scores: Float32Array;
  /** Group structure, or null when the method does not group (or nGroup = 1). */
  readonly groups: GroupScores | null;
}

/** Where the MoE applies the routing weight (SPEC §3, docs/arithmetic.md item 2). */
export type WeightPlacement =
  /** w multiplies the expert's FC2 output in finalize (every method but llama4). */
  | 'finalize'
  /** w multiplies the token before FC1 (equivalently both FC1 accumulators); finalize uses 1. */
  | 'before_fc1';

/** Shape-level facts a method validates (from a Problem or from a RoutingInput). */
export interface RoutingShape {
  readonly E: number;
  readonly topK: number;
  readonly config: RoutingConfig;
  /** Whether a bias tensor is present. */
  readonly hasBias: boolean;
}

export interface RoutingMethod {
  readonly name: RoutingMethodName;
  /** Whether the method reads the routing bias (only deepseek_v3). */
  readonly usesBias: boolean;
  /** Where the MoE applies the weight. */
  readonly weightPlacement: WeightPlacement;
  /** The only k the method accepts (llama4: 1), or null when any 1 <= k <= E goes. */
  readonly requiredTopK: number | null;
  /** RoutingConfig fields besides `method` this method accepts. */
  readonly configFields: readonly (keyof Omit<RoutingConfig, 'method'>)[];
  /** Throws BadArgumentError unless the problem's routing part is valid for this method. */
  validate(p: Problem): void;
  /** Same checks on shape level (used by validate and by route/weightsFor). */
  validateShape(s: RoutingShape): void;
  /** Shape checks plus array types and lengths of a RoutingInput. */
  validateInput(input: RoutingInput): void;
  /** Float32 ranking scores of token t, before group masking. */
  tokenScores(input: RoutingInput, t: number): TokenScores;
  /** Full routing: ids [T,k] best first (ties: lower index), weights [T,k], selectionScores [T,E]. */
  route(input: RoutingInput): RoutingResult;
  /** The method's weights [T,k] for the given ids [T,k] (e.g. a kernel's valid tie choice). */
  weightsFor(input: RoutingInput, ids: Int32Array): Float32Array;
}
