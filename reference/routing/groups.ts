/**
 * Group masking (deepseek_v3 with nGroup > 1): keep the `keep` best groups (ties: lower
 * group index) and make every expert outside them ineligible (-inf, not multiplied by 0).
 */
import { selectTopK } from './selectTopK.js';
import type { GroupScores } from './types.js';

/** The kept group indices, best first. */
function keptGroups(g: GroupScores): Int32Array {
  const out = new Int32Array(g.keep);
  selectTopK(g.scores, 0, g.count, g.keep, out, 0);
  return out;
}

/** A copy of `scores` with every expert outside `groups` set to -inf. */
export function maskToGroups(scores: Float32Array, size: number, groups: ArrayLike<number>): Float32Array {
  const out = new Float32Array(scores.length).fill(-Infinity);
  for (let i = 0; i < groups.length; i++) {
    const start = groups[i]! * size;
    out.set(scores.subarray(start, start + size), start);
  }
  return out;
}

/** Apply the method's own group choice; returns scores unchanged when there are no groups. */
export function applyGroupMask(scores: Float32Array, g: GroupScores | null): Float32Array {
  return g === null ? scores : maskToGroups(scores, g.size, keptGroups(g));
}
