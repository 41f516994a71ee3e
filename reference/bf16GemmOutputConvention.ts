/**
 * The GEMM-output conventions (reference/conventions.ts, points fc1Output and fc2Output) as
 * arithmetic: a kernel whose GEMM writes bf16 (torch._grouped_mm, cuBLAS with a bf16 output)
 * rounds each float32 accumulator to bf16 before anything else touches it.
 *
 * The reference rounds its own float32 accumulator the same way. A kernel's accumulator lies
 * within e of the reference's (e: the accumulation window the caller derives); rounding is
 * monotone, so the kernel's bf16 value lies in [bf16(acc - e), bf16(acc + e)], and it differs
 * from the reference's bf16(acc) by at most
 *   D = max(bf16(acc + e) - bf16(acc), bf16(acc) - bf16(acc - e)),
 * which is 0 when the window holds no bf16 rounding boundary and one or two bf16 ulps when it
 * does. D replaces e downstream: exact where the kernel must agree bit for bit, one ulp where
 * it may legitimately round the other way. Nothing here applies to a kernel that did not
 * declare the convention.
 */
import { roundBf16 } from './formats/bf16.js';
import { gamma } from './formats/float.js';


/** The largest distance between bf16(acc) and the bf16 rounding of any value within e of acc. */
export function bf16RoundingSpread(acc: number, e: number): number {
  const c = roundBf16(acc);
  return Math.max(roundBf16(acc + e) - c, c - roundBf16(acc - e));
}

/**
 * FC2 accumulation window for fc2Output 'bf16': the kernel's float32 FC2 sum (any order, or a
 * truncating MMA: 2·γ(I+16)) and the reference's (γ(I)) differ by at most 3·γ(I+16)·Σ|W2·â|,
 * plus what re-quantization flips of â can move it (flipSum = Σ_fragile |W2|·Δ).
 */
export function fc2AccumulatorWindow(I: number, absSum: number, flipSum: number): number {
  return 3 * gamma(I + 16) * absSum + flipSum;
}
