/**
 * Float32 arithmetic for routing scores (docs/arithmetic.md item 5). Every arithmetic step
 * is rounded with Math.fround; exp is Math.exp (float64) rounded to float32, which is
 * within half an ulp of the true float32 exp (a kernel's exp may differ by a few ulp).
 *
 * Invalid logits: NaN and +inf are invalid input. The reference treats them exactly
 * like -inf ("masked"): ranked last, never chosen unless unavoidable, weight 0.
 */

export const f32 = Math.fround;

/** The DeepSeek-V3 normalization epsilon as float32. */
export const EPSILON_F32 = Math.fround(1e-20);

/** A logit as the reference uses it: NaN and +inf become -inf (masked). */
export function sanitizeLogit(x: number): number {
  return x === x && x !== Infinity ? x : -Infinity;
}

/** A ranking key: NaN becomes -inf so that comparisons stay total. */
export function rankKey(x: number): number {
  return x === x ? x : -Infinity;
}

/** float32 exp. */
function expF32(x: number): number {
  return f32(Math.exp(x));
}

/** float32 sigmoid 1 / (1 + exp(-x)), rounded after each step; sigmoid(-inf) = 0. */
export function sigmoidF32(x: number): number {
  const v = sanitizeLogit(x);
  if (v === -Infinity) return 0;
  return f32(1 / f32(1 + expF32(f32(-v))));
}

/**
 * float32 softmax of `n` values src[offset..offset+n) into out[0..n): subtract the row max,
 * exp, sum in index order, divide. Masked values (-inf, NaN, +inf) give 0. A row with no
 * valid value gives all zeros (never NaN).
 */
export function softmaxF32(src: ArrayLike<number>, offset: number, n: number, out: Float32Array): Float32Array {
  let max = -Infinity;
  for (let i = 0; i < n; i++) {
    const v = sanitizeLogit(src[offset + i]!);
    if (v > max) max = v;
  }
  if (max === -Infinity) {
    out.fill(0, 0, n);
    return out;
  }
  let sum = 0;
  for (let i = 0; i < n; i++) {
    const v = sanitizeLogit(src[offset + i]!);
    const e = v === -Infinity ? 0 : expF32(f32(v - max));
    out[i] = e;
    sum = f32(sum + e);
  }
  for (let i = 0; i < n; i++) out[i] = f32(out[i]! / sum);
  return out;
}
