/**
 * How closely a recomputation of the reference must reproduce a stored golden output.
 *
 * The goldens are produced by the float64 oracle path of the reference (pure JS
 * doubles, fixed summation order), which is deterministic on one machine: the same
 * code gives the same bits. Across machines and Node versions only the libm-like
 * functions behind Math.exp (softmax, sigmoid, SiLU) may move by an ulp of a double;
 * after rounding to float32 that is at most one float32 ulp, and only where a value
 * sits on a rounding midpoint. Such a 1-ulp move of an FC1 activation can flip one
 * re-quantized FC2 input element exactly when it lies on an FP4/FP8 rounding boundary,
 * which is what the reference's own `flipAllowance` bounds. Hence:
 *
 * - routing ids: exact (a 1-ulp score change reorders nothing but exact ties, and
 *   ties are broken by index, not by value);
 * - routing weights: within `routingWeightUlps` float32 ulps;
 * - float32 output: |new − stored| <= outputAbsAccumFactor · absAccum + flipAllowance
 *   (absAccum and flipAllowance as stored, i.e. the reference's own error model);
 * - bf16 output: the float32 bound plus `outputBf16Ulps` bf16 ulps of the larger value
 *   (a float32 difference below the bound can still cross a bf16 rounding midpoint);
 * - the error-model tensors abs_accum and flip_allowance: equal within `diagnosticsRelative`
 *   (relative to the larger magnitude), fragile_tokens and the requant element count exact.
 *   (A 1-ulp move of an FC1 value right at the edge of the fragility window could in
 *   principle reclassify one element on another machine; it has not been seen, and a real
 *   change of the reference's error analysis must make the golden stale.)
 *
 * Goldens produced by the float32 fast path (tfjs; accumulation order depends on the
 * backend and its thread count) get a bound that grows with the accumulation length:
 * outputAbsAccumFactor = (I + topK + 2) · 2^-24 (FC2 over I terms, finalize over k slots,
 * two scalings), and 2 ulps for the routing weights.
 */
import type { Problem } from '../reference/problem.js';
import { F32_UNIT_ROUNDOFF } from '../reference/formats/float.js';

export type GoldenPrecision = 'float32' | 'float64';

export interface GoldenTolerance {
  /** Routing ids must be equal element for element. */
  readonly routingIds: 'exact';
  /** Routing weights may differ by this many float32 ulps. */
  readonly routingWeightUlps: number;
  /** Float32 output bound, relative to the stored absAccum (plus the stored flipAllowance). */
  readonly outputAbsAccumFactor: number;
  /** bf16 output: ulps allowed on top of the float32 bound. */
  readonly outputBf16Ulps: number;
  /**
   * The error-model tensors (abs_accum, flip_allowance) may differ by this relative amount;
   * fragile_tokens and the requant element count must be equal. They change when the
   * reference's error analysis changes, which makes the golden stale.
   */
  readonly diagnosticsRelative: number;
  /** Why these numbers (kept with the goldens so a reader need not find this file). */
  readonly why: string;
}

export function goldenTolerance(problem: Problem, precision: GoldenPrecision): GoldenTolerance {
  if (precision === 'float64') {
    return {
      routingIds: 'exact',
      routingWeightUlps: 1,
      outputAbsAccumFactor: 2 ** -22,
      outputBf16Ulps: 1,
      diagnosticsRelative: 2 ** -20,
      why: 'float64 oracle: deterministic on one machine; across machines Math.exp may move by 1 double ulp, ' +
        'i.e. <= 1 float32 ulp after rounding, which can flip only FC2-input elements on a rounding boundary ' +
        '(covered by flipAllowance)',
    };
  }
  return {
    routingIds: 'exact',
    routingWeightUlps: 2,
    outputAbsAccumFactor: (problem.I + problem.topK + 2) * F32_UNIT_ROUNDOFF,
    outputBf16Ulps: 1,
    diagnosticsRelative: (problem.I + problem.topK + 2) * F32_UNIT_ROUNDOFF,
    why: 'float32 fast path: accumulation order depends on the tfjs backend and thread count; ' +
      'bound (I + k + 2)·2^-24·absAccum for FC2 + finalize, plus flipAllowance for re-quantization flips',
  };
}
