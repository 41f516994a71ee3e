/**
 * Where the time of one case goes, phase by phase (wall milliseconds), recorded on every
 * CaseRecord as `phases` (optional: absent on records made elsewhere, e.g. merged or replayed)
 * and tabulated by `npm run bench:check` (harness/benchCheck.ts; docs/full-size.md).
 *
 * Case phases (the same on every record of the case):
 *   generate     the campaign's generateCase
 *   reference    from the reference's start to its Expected (it runs while the kernel runs,
 *                so it overlaps the runner's phases; the critical path is the larger)
 *   regenerate   the child's generateCase (child isolation; seen by the campaign from the
 *                child's phase messages, so it includes one message's latency)
 *   prepare      the kernel's prepare (upload and layout)
 * Tactic phases (this record's tactic):
 *   runs         the kernel's run() calls (every repeat, poison fills and output copies included)
 *   digests      the two inputsDigest() calls around them
 *   traffic      child isolation: outcomes under 1 MiB, from the child's send to the campaign's
 *                deserialization; larger ones (one file on shared memory, harness/outcomeTransfer.ts),
 *                the child's write plus the campaign's read; trafficBytes: the outputs it carried
 *   judge        judging (a reference with the kernel's ids included, when one was needed)
 *   childMaxRss  child isolation: the child's peak resident memory so far (bytes)
 */

export interface CasePhaseTimes {
  readonly generate?: number;
  readonly reference?: number;
  readonly regenerate?: number;
  readonly prepare?: number;
}

/** What the runner measures around one tactic (travels from the child with the outcome). */
export interface TacticRunTimes {
  readonly runs: number;
  readonly digests: number;
  readonly traffic?: number;
  readonly trafficBytes?: number;
  readonly childMaxRss?: number;
}

export interface TacticPhaseTimes extends Partial<TacticRunTimes> {
  readonly judge?: number;
}

export interface PhaseTimes {
  readonly case: CasePhaseTimes;
  readonly tactic: TacticPhaseTimes;
}

/** Case-level phases reported by a runner as they complete (RunCaseOptions.onPhase). */
export type RunnerPhase = 'regenerate' | 'prepare';

/** Milliseconds since the epoch with sub-millisecond resolution, comparable across processes of one host. */
export function epochMs(): number {
  return performance.timeOrigin + performance.now();
}

/** Bytes of an outcome's observed arrays (what a child sends back per tactic). */
export function observedBytes(runs: readonly { readonly output: ArrayBufferView; readonly ids: ArrayBufferView; readonly weights: ArrayBufferView }[]): number {
  return runs.reduce((s, r) => s + r.output.byteLength + r.ids.byteLength + r.weights.byteLength, 0);
}
