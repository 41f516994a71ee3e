/**
 * The error model: how far a correct kernel's output may lie from the reference, derived
 * from the computation (README "Arithmetic contract"), never a blanket percentage.
 *
 * Notation: u = 2^-24 (float32 unit roundoff), γ(n) = n·u / (1 - n·u) (Higham). A float32
 * sum of n terms in ANY order (sequential, split-K, tree) with round-to-nearest has
 * |fl(Σ) - Σ| <= γ(n-1)·Σ|x_i|. Tensor-core MMAs (mma.sync, fp32 accumulate) form exact
 * products but align and truncate their sums (round toward zero; Fasi, Higham, Mikaitis,
 * Pranesh 2021): each step then costs up to 2u, plus at most one MMA block (16 terms) of
 * alignment loss, i.e. <= 2·γ(n + 16) for the kernel side.
 *
 * Output element out[t,h] = bf16( Σ_j fl(w_j · fl(out2Scale_l · Σ_i W2[h,i]·â_i)) ).
 * Given the same FC2 input â on both sides (a different â is a re-quantization flip,
 * handled apart by the reference's flipAllowance):
 *   - FC2 products W2·â are exact in float32 (e2m1·scale has <= 6 significant bits,
 *     â <= 8, so a product has <= 14 bits): FC2 costs γ(I-1) relative to A = Σ_i |W2[h,i]·â_i|;
 *   - the out2Scale product and the weight product cost one rounding each: 2u;
 *   - finalize sums k slots in float32: γ(k-1);
 *   so the reference (round to nearest) lies within γ(I+k)·S of the exact value, with
 *   S = absAccum[t,h] = Σ_j |w_j|·|out2Scale_l|·A_j (first order: γ(a)+γ(b) <= γ(a+b)),
 *   and the kernel within 2·γ(I+k+16)·S. Together: 3·γ(I+k+16)·S.
 *   - the kernel's routing weights may differ from the reference's by ρ_w relative
 *     (judged separately, see weightRelative), which moves the output by <= ρ_w·S;
 *   - products that underflow below 2^-126 lose up to 2^-149 each: an absolute floor
 *     3·(I+1)·k·2^-149;
 *   - the kernel rounds its float32 result K once to bf16: |out - K| <= ½·ulp_bf16(K's binade)
 *     <= ½·ulp_bf16(|out|). We compare out (bf16) with the reference's float32 result R
 *     before its own rounding, so the rounding costs ½ ulp of out, not 1 ulp.
 * Hence  bound[t,h] = (3·γ(I+k+16) + ρ_w)·absAccum[t,h] + ½·ulp_bf16(|out[t,h]|) + 3·(I+1)·k·2^-149.
 *
 * FC1 is not in the bound: its error reaches the output only through the re-quantization
 * of FC2's input, where it either changes nothing or flips an element (or a block scale)
 * to a neighbouring value. The reference marks every element whose FC1 window holds a
 * rounding boundary (fragile) and sums what such flips could do into flipAllowance. The
 * window is ρ_1 = 4·sqrt(H)·u relative to Σ|W1·x̂| (the reference's default, a
 * probabilistic bound: the difference of two round-to-nearest orders of random terms has
 * a standard deviation <= 0.41·sqrt(H)·u·Σ|terms|, so 4·sqrt(H)·u is about 10σ), plus ρ_w
 * (llama4 multiplies the FC1 accumulators by the weight). The rigorous window 2·γ(H) would
 * mark 5–30% of a large problem's output as "explainable" and blind the comparator there.
 *
 * Declared arithmetic conventions (reference/conventions.ts, docs/conventions.md) change what the
 * reference computes, not this model: a bf16 FC1 output or activation only moves the FC1 window
 * the reference's fragility analysis uses; a bf16 FC2 output adds the per-element
 * Expected.conventionBound (Σ_j |w_j|·|out2Scale|·D_j, zero where no slot's accumulation window
 * holds a bf16 rounding boundary), which the comparator adds to the bound. Under the default
 * conventions both are absent: nothing here widens for a convention that was not declared.
 */
import { defaultFc1RelativeError } from '../reference/errorWindow.js';
import type { Problem } from '../reference/problem.js';
import { routingMethod } from '../reference/routing/registry.js';
import type { SelectionTolerance } from '../reference/routing/checkSelection.js';
import { F32_UNIT_ROUNDOFF as U, gamma } from '../reference/formats/float.js';

export interface ErrorModel {
  /** Multiplies absAccum: 3·γ(I+k+16) + weightRelative. */
  readonly accumulationFactor: number;
  /** Absolute floor for underflowing products. */
  readonly absoluteFloor: number;
  /**
   * Relative tolerance of a routing weight: 2·γ(E+k+16): softmax sums over up to E terms,
   * the renormalization over k, exp/sigmoid/division within a few (<= 16) ulps, both sides.
   */
  readonly weightRelative: number;
  /** Absolute tolerance of a routing weight: differences below the float32 normal range. */
  readonly weightAbsolute: number;
  /**
   * Near-tie tolerance of routing scores for checkSelection: 16 ulps relative (a kernel's
   * exp/sigmoid/division); methods that add a bias (scores s + bias with s in [0,1]) also
   * 16·u absolute, the few ulps of s that survive the addition.
   */
  readonly scoreTolerance: SelectionTolerance;
  /**
   * Relative FC1 error window handed to the reference for fragility (ReferenceOptions
   * fc1RelativeError): the reference's default 4·sqrt(H)·u plus weightRelative (llama4
   * scales the accumulators by w). The reference adds the epilogue's own slack.
   */
  readonly fc1RelativeError: number;
  /**
   * Flip budget: at most this fraction of the T token rows (rounded up) may hold
   * flip-explained elements; each such row must be fragile (flipAllowance > 0 there).
   */
  readonly flipRowFraction: number;
}

export function errorModel(p: Problem): ErrorModel {
  const k = p.topK;
  const weightRelative = 2 * gamma(p.E + k + 16);
  const usesBias = routingMethod(p.routing.method).usesBias;
  return {
    accumulationFactor: 3 * gamma(p.I + k + 16) + weightRelative,
    absoluteFloor: 3 * (p.I + 1) * k * 2 ** -149,
    weightRelative,
    weightAbsolute: 2 ** -126,
    scoreTolerance: { relative: 16 * U, absolute: usesBias ? 16 * U : 0 },
    fc1RelativeError: defaultFc1RelativeError(p.H) + weightRelative,
    flipRowFraction: 0.5,
  };
}

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** The spacing of bf16 numbers in the binade of |x| (subnormal range: 2^-133); NaN for non-finite x. */
export function ulpBf16(x: number): number {
  if (!Number.isFinite(x)) return NaN;
  f32[0] = Math.abs(x);
  const e = (u32[0]! >>> 23) & 0xff;
  if (e === 0) return 2 ** -133;
  if (e === 0xff) return 2 ** 120; // |x| rounded to float32 overflowed; largest binade's ulp
  return 2 ** (e - 127 - 7);
}

/** bound[t,h] for one element, given absAccum and the kernel's output value. */
export function elementBound(model: ErrorModel, absAccum: number, out: number): number {
  return model.accumulationFactor * absAccum + 0.5 * ulpBf16(out) + model.absoluteFloor;
}

/**
 * The bf16 overflow threshold X = (2 − 2^-8)·2^127: the smallest magnitude that rounds to
 * infinity in bf16 (round to nearest even). It is the midpoint between the largest finite
 * bf16, (2 − 2^-7)·2^127 (mantissa 0x7f, odd), and 2^128, so the tie goes to the even
 * neighbour: infinity. Every float32 K with |K| >= X has bf16(K) = ±Inf, every |K| < X a
 * finite bf16.
 */
export const BF16_OVERFLOW_THRESHOLD = (2 - 2 ** -8) * 2 ** 127;

/**
 * Whether an infinite bf16 output `out` (±Inf) is a correct result, given the reference's
 * float32 value `ref` (before its bf16 rounding) and absAccum at that element.
 *
 * Derivation: a correct kernel's float32 result K (before its own bf16 rounding) lies
 * within reach = accumulationFactor·absAccum + absoluteFloor of ref (the bound of
 * elementBound without its ½-ulp term, which belongs to the final rounding). bf16(K) is
 * +Inf exactly when K >= X. So +Inf is a correct output iff ref > 0 and ref + reach >= X
 * (some admissible K rounds to +Inf), and likewise −Inf with the signs mirrored. When the
 * reference's own float32 arithmetic overflowed to the same infinity (ref = ±Inf: a slot
 * product or a finalize partial sum passed float32's largest value, (2 − 2^-24)·2^127 > X),
 * the same float32 computation with errors within the bound overflows too, or lands at or
 * beyond X: the same infinity is correct. Every other non-finite output is rejected: NaN
 * always (ref NaN included), an infinity of the other sign, and an infinity where the
 * reference lies inside the threshold by more than its reach.
 * (A stricter reading, "ref − reach >= X", would call a correct kernel wrong whenever ref
 * lies within reach of X and the kernel's rounding carries it across: a false alarm.)
 */
export function infinityIsCorrect(model: ErrorModel, out: number, ref: number, absAccum: number): boolean {
  if (out !== Infinity && out !== -Infinity) return false;
  if (Number.isNaN(ref) || ref === 0 || Math.sign(ref) !== Math.sign(out)) return false;
  if (!Number.isFinite(ref)) return true;
  const reach = model.accumulationFactor * absAccum + model.absoluteFloor;
  return Math.abs(ref) + reach >= BF16_OVERFLOW_THRESHOLD;
}

/**
 * Whether a finite output `out` faces a reference that left float32's range: ref = ±Inf
 * (the reference's own float32 slot products or partial sums overflowed) with absAccum =
 * Inf (the magnitudes summed exceed float32's range, so the bound is infinite). The exact
 * value then lies somewhere beyond the reach of float32 bookkeeping: a correct kernel that
 * saturates (a truncating MMA never rounds up to Inf) or sums in another order can stay
 * finite, and nothing bounds how far from the overflow it may land. Such an element cannot
 * be judged; the caller counts it apart (overflow_undefined). A finite output of the
 * OPPOSITE sign is not covered (it stays beyond_bound), nor is a NaN output.
 */
export function beyondFloat32(ref: number, absAccum: number, out: number): boolean {
  return (ref === Infinity || ref === -Infinity) && absAccum === Infinity && Number.isFinite(out) && Math.sign(out) === Math.sign(ref);
}

/** Rows allowed to hold flip-explained elements. */
export function flipRowBudget(model: ErrorModel, T: number): number {
  return Math.ceil(model.flipRowFraction * T);
}
