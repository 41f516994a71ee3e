/**
 * The tactic echo (issue 10): a run returns the tactic it actually executed, and a run that
 * does not echo the forced tactic is incorrect, never "passed" — a kernel that silently
 * falls back to another tactic has not been tested on the one it was asked for.
 * Kernels that do not report an executed tactic (Observed.executedTactic undefined) are not
 * judged here.
 */
import type { Observed } from './kernels/kernel.js';
import { formatFinding, RATIO_BIN_LABELS, zeroCounts, type Finding, type FindingContext, type Verdict } from './verdict.js';

/** Why the runs fail the echo ("run 1 executed 8/0"), or null when every reported echo matches. */
export function tacticEchoMismatch(runs: readonly Observed[], forced: string): string | null {
  const bad = runs.map((r, i) => ({ i, e: r.executedTactic })).filter((x) => x.e !== undefined && x.e !== forced);
  if (bad.length === 0) return null;
  return bad.map((x) => `run ${x.i + 1} executed ${x.e === 'none' ? 'no tactic it would name' : x.e}`).join(', ');
}

/** The verdict of a tactic whose runs did not echo it: incorrect, one 'malformed' finding at "tactic". */
export function tacticEchoVerdict(mismatch: string, context: FindingContext): Verdict {
  const f: Finding = {
    kind: 'malformed', where: 'tactic', observed: mismatch, reference: `the forced tactic ${context.tactic}`,
    detail: 'the run did not execute (or did not echo) the tactic it was forced to run',
  };
  return {
    disposition: 'incorrect', tactic: context.tactic, counts: zeroCounts(), worst: null, findings: [f],
    lines: [formatFinding(f, context)], histogram: new Array<number>(RATIO_BIN_LABELS.length).fill(0),
  };
}
