/**
 * Options of the reference MoE (runReference, runOracle64) and what both precisions
 * derive from them before any arithmetic: the routing and the FC1 error window.
 */
import type { Case } from './case.js';
import { checkForcedIds } from './checkCase.js';
import { BadArgumentError, describeValue } from './errors.js';
import { defaultFc1RelativeError } from './errorWindow.js';
import type { RoutingResult } from './expected.js';
import { DEFAULT_CONVENTIONS, parseConventions, REFERENCE_SUPPORT, CONVENTION_NAMES, type Conventions } from './conventions.js';
import { routeCase, routingMethod } from './routing/registry.js';
import type { WeightPlacement } from './routing/types.js';
import { defaultThreads } from './backend.js';
import { checkReferenceThreads } from './resourceEstimate.js';
import { resolveFastPathOptions, type FastPathOptions } from './fastpath/fastPathOptions.js';

export interface ReferenceOptions {
  /** 'float32' (default): the tfjs fast path; 'float64': the plain-JS oracle (small problems). */
  readonly precision?: 'float32' | 'float64';
  /** Route with these expert ids [T, k] (e.g. a kernel's valid tie choice) instead of the reference's. */
  readonly forcedIds?: Int32Array;
  /**
   * FC1 error window ρ, relative to Σ|W1·x̂| of each accumulator, used for the
   * re-quantization fragility analysis. Default defaultFc1RelativeError(H) = 4·sqrt(H)·2^-24.
   */
  readonly fc1RelativeError?: number;
  /** Worker threads of the fast path (default: every core, os.availableParallelism()). */
  readonly threads?: number;
  /**
   * 'full' (default): outputs plus everything the comparator needs (absAccum, the
   * re-quantization fragility analysis and flip allowance). 'output': routing and the outputs
   * (f32 and bf16, bitwise the same as 'full') only: the fast path skips the |W2|·|Â|ᵀ GEMM
   * and the fragility analysis; absAccum, flipAllowance and fragileTokens are zero-filled
   * and Expected.analysis is 'output' (the comparator refuses such an Expected).
   */
  readonly analysis?: 'full' | 'output';
  /**
   * The kernel's declared arithmetic conventions (conventions.ts; default: SPEC §4). The
   * reference computes with them; a convention this precision does not compute is refused
   * (BadArgumentError naming opts.conventions.<point>), never approximated.
   */
  readonly conventions?: Conventions;
  /**
   * The float32 fast path's switches (fastpath/fastPathOptions.ts; each gives the same
   * outputs). Left out, they come from the environment (referenceEnvironment.ts).
   */
  readonly fastPath?: Partial<FastPathOptions>;
}

export interface PreparedReference {
  readonly routing: RoutingResult;
  readonly rho: number;
  /** Where the routing weight multiplies ('before_fc1': llama4, finalize uses 1). */
  readonly weightPlacement: WeightPlacement;
  readonly analysis: 'full' | 'output';
  readonly conventions: Conventions;
}

/** Validate the options and route the case (the case itself is checked by checkCase). */
export function prepareReference(c: Case, opts: ReferenceOptions): PreparedReference {
  const { rho, analysis, conventions } = checkReferenceOptions(c, opts);
  const p = c.spec.problem;
  const routing = opts.forcedIds === undefined ? routeCase(c) : routeCase(c, { forcedIds: opts.forcedIds });
  const { weightPlacement } = routingMethod(p.routing.method);
  return { routing, rho, weightPlacement, analysis, conventions };
}

/** Validate the options (BadArgumentError naming the option); returns ρ and the analysis. */
export function checkReferenceOptions(c: Case, opts: ReferenceOptions): { rho: number; analysis: 'full' | 'output'; conventions: Conventions } {
  if (typeof opts !== 'object' || opts === null) throw new BadArgumentError('opts', 'a ReferenceOptions object', describeValue(opts));
  const p = c.spec.problem;
  if (opts.precision !== undefined && opts.precision !== 'float32' && opts.precision !== 'float64') {
    throw new BadArgumentError('opts.precision', "'float32' or 'float64'", describeValue(opts.precision));
  }
  if (opts.threads !== undefined && !(Number.isSafeInteger(opts.threads) && opts.threads >= 1)) {
    throw new BadArgumentError('opts.threads', 'an integer >= 1', describeValue(opts.threads));
  }
  if (opts.analysis !== undefined && opts.analysis !== 'full' && opts.analysis !== 'output') {
    throw new BadArgumentError('opts.analysis', "'full' or 'output'", describeValue(opts.analysis));
  }
  const analysis = opts.analysis ?? 'full';
  const rho = opts.fc1RelativeError ?? defaultFc1RelativeError(p.H);
  if (typeof rho !== 'number' || !(rho >= 0) || !Number.isFinite(rho)) {
    throw new BadArgumentError('opts.fc1RelativeError', 'a finite number >= 0', describeValue(rho));
  }
  if (opts.forcedIds !== undefined) checkForcedIds(p, opts.forcedIds);
  resolveFastPathOptions(opts.fastPath);
  const conventions = opts.conventions === undefined ? DEFAULT_CONVENTIONS : parseConventions(opts.conventions, 'opts.conventions');
  const precision = opts.precision ?? 'float32';
  for (const point of CONVENTION_NAMES) {
    const supported = (REFERENCE_SUPPORT[point] as Record<string, readonly string[]>)[conventions[point]]!;
    if (!supported.includes(precision)) {
      throw new BadArgumentError(`opts.conventions.${point}`, `a value the ${precision} reference computes`,
        `${conventions[point]} (computed by: ${supported.length ? supported.join(', ') : 'no reference precision yet'})`);
    }
  }
  // Before any worker starts (resourceEstimate.ts); the memory estimate is the caller's
  // (runFast.ts, oracle64.ts), which knows what it already holds.
  if (precision === 'float32') checkReferenceThreads(opts.threads ?? defaultThreads());
  return { rho, analysis, conventions };
}
