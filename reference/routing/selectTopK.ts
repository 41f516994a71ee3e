/**
 * Top-k selection used by every routing method: higher score first; on an exact tie
 * the lower index wins. NaN scores rank as -inf. When fewer than k scores are finite,
 * -inf entries fill the remaining slots, lowest index first.
 */
import { rankKey } from './float32.js';

/**
 * Write the indices of the k best of scores[offset..offset+n) (relative to offset),
 * best first, into out[outOffset..outOffset+k). Requires 1 <= k <= n.
 */
export function selectTopK(
  scores: ArrayLike<number>, offset: number, n: number, k: number, out: Int32Array, outOffset: number,
): void {
  let count = 0;
  for (let i = 0; i < n; i++) {
    const s = rankKey(scores[offset + i]!);
    if (count === k && !(s > rankKey(scores[offset + out[outOffset + k - 1]!]!))) continue;
    // Insertion: move worse entries down; an equal score stays ahead (lower index wins).
    let pos = count < k ? count++ : k - 1;
    while (pos > 0 && s > rankKey(scores[offset + out[outOffset + pos - 1]!]!)) {
      out[outOffset + pos] = out[outOffset + pos - 1]!;
      pos--;
    }
    out[outOffset + pos] = i;
  }
}
