/**
 * The error maps of one case's incorrect tactics, reused when a tactic's results equal an
 * earlier tactic's bit for bit: a fault usually makes every tactic compute the same wrong
 * output, and classifying every element again (errorMapOf) was a large part of the cost of
 * a failing run. errorMapOf reads only the reference judged against, run 1's output, ids and
 * weights and run 2's output (plus the case's model and poison, fixed per case), so equal
 * inputs give an equal map; comparing the arrays costs far less than recomputing it.
 * One instance per case (the campaign makes one in streamOneCase).
 */
import type { Expected } from '../../reference/expected.js';
import type { Observed } from '../kernels/provider.js';
import type { ErrorMap } from './errorMap.js';

const sameBits = (a: ArrayBufferView, b: ArrayBufferView): boolean =>
  a.byteLength === b.byteLength && Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength));

export class ErrorMapReuse {
  private readonly seen: Array<{ readonly expected: Expected; readonly runs: readonly Observed[]; readonly map: ErrorMap }> = [];

  /** The map of an earlier tactic with the same reference object and the same results, else compute() (and keep it). */
  mapFor(expected: Expected, runs: readonly [Observed, Observed, ...Observed[]], compute: () => ErrorMap): ErrorMap {
    const [a1, a2] = runs;
    const hit = this.seen.find(({ expected: e, runs: [b1, b2] }) => e === expected &&
      sameBits(a1.output, b1!.output) && sameBits(a2.output, b2!.output) && sameBits(a1.ids, b1!.ids) && sameBits(a1.weights, b1!.weights));
    if (hit !== undefined) return hit.map;
    const map = compute();
    this.seen.push({ expected, runs, map });
    return map;
  }
}
