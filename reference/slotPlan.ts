/**
 * Which (token, slot) pairs each local expert serves: the grouping by expert that both
 * reference precisions use (gather, one dequantization per expert, scatter in slot order).
 */
import type { Problem } from './problem.js';

export interface SlotPlan {
  /** First token of the range planned. */
  readonly t0: number;
  /** One past the last token. */
  readonly t1: number;
  /**
   * CSR over local experts: the rows of local expert l are rows[start[l] .. start[l+1]),
   * each row = t·k + j (absolute token t), in increasing order.
   */
  readonly start: Int32Array;
  readonly rows: Int32Array;
}

/** Is expert id e owned by this call (SPEC §4 step 1)? */
export function isLocalExpert(p: Pick<Problem, 'localOffset' | 'localExperts'>, e: number): boolean {
  return e >= p.localOffset && e < p.localOffset + p.localExperts;
}

/** Group the slots of tokens [t0, t1) by local expert. ids: [T, k] expert ids. */
export function planSlots(p: Problem, ids: Int32Array, t0 = 0, t1 = p.T): SlotPlan {
  const { topK: k, localOffset: off, localExperts: El } = p;
  const start = new Int32Array(El + 1);
  for (let r = t0 * k; r < t1 * k; r++) {
    const l = ids[r]! - off;
    if (l >= 0 && l < El) start[l + 1]!++;
  }
  for (let l = 0; l < El; l++) start[l + 1]! += start[l]!;
  const fill = start.slice(0, El);
  const rows = new Int32Array(start[El]!);
  for (let r = t0 * k; r < t1 * k; r++) {
    const l = ids[r]! - off;
    if (l >= 0 && l < El) rows[fill[l]!++] = r;
  }
  return { t0, t1, start, rows };
}
