/**
 * Token buckets of the tuner: the powers of two 1, 2, 4, …, maxTokens (maxTokens itself a
 * power of two). A tactic is tuned per bucket; a call with T tokens uses the tactic of
 * bucketOf(T):
 *
 *   T in [1, 1]          → 1
 *   T in (2^(j-1), 2^j]  → 2^j        (the smallest bucket holding T: round T up)
 *   T > maxTokens        → maxTokens  (the largest bucket; documented, and reported)
 *
 * e.g. with maxTokens 4096: 1→1, 3→4, 4→4, 5→8, 100→128, 4096→4096, 5000→4096.
 * Rounding up (not to the nearest) tunes a bucket at the largest T it serves. A tactic valid
 * at the bucket's T may still be invalid at a smaller T of the bucket (the emulated kernel's
 * tileTokens <= 2·max(T, 8)); lookup (cache.ts) then falls back to the kernel's default
 * tactic with a warning naming the reason, never runs the unrunnable tactic.
 */
import { BadArgumentError } from '../../reference/errors.js';

/** The largest maxTokens accepted (2^20 tokens). */
const MAX_BUCKET_LIMIT = 1 << 20;

const isPow2 = (n: number): boolean => Number.isInteger(n) && n >= 1 && (n & (n - 1)) === 0;

/** Check a bucket maximum: a power of two in [1, 2^20]. */
export function checkMaxTokens(maxTokens: number, option = 'max-tokens'): void {
  if (!isPow2(maxTokens) || maxTokens > MAX_BUCKET_LIMIT) {
    throw new BadArgumentError(option, `a power of two in [1, ${MAX_BUCKET_LIMIT}]`, String(maxTokens));
  }
}

/** Every bucket up to maxTokens: [1, 2, 4, …, maxTokens]. */
export function tokenBuckets(maxTokens: number): number[] {
  checkMaxTokens(maxTokens);
  const out: number[] = [];
  for (let b = 1; b <= maxTokens; b *= 2) out.push(b);
  return out;
}

/** The bucket a call with T tokens uses (see the map above). */
export function bucketOf(T: number, maxTokens: number): number {
  checkMaxTokens(maxTokens);
  if (!Number.isInteger(T) || T < 1) throw new BadArgumentError('T', 'an integer >= 1', String(T));
  if (T >= maxTokens) return maxTokens;
  let b = 1;
  while (b < T) b *= 2;
  return b;
}
