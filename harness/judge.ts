/**
 * The judge: the one way a kernel's results become a Verdict, used by the campaign, the
 * goldens (and the tuner and every kernel provider).
 *
 *   judge({ kernel, expected, runs, poison, digests, model, context, referenceForIds }) → Verdict
 *
 * 1. A run that did not echo the tactic it was forced to run, or in which the provider saw a
 *    contract violation (Observed.violations), is incorrect (kernels/observedViolations.ts);
 *    then the results' shapes and types are checked: wrong ones are the kernel's fault
 *    (malformedVerdict, disposition 'incorrect').
 * 2. Routing is judged from `expected` alone (its routing evidence: scores, group scores,
 *    exact-tie classes; routingJudge.ts). When the kernel chose another expert set in some
 *    usable row (a valid near-tie choice, or a wrong one), the MoE output for the kernel's
 *    ids is needed to judge the output: that is the ONE recomputation, asked of the
 *    caller through `referenceForIds` (the campaign passes its cached reference, the
 *    goldens theirs). A kernel that chose the reference's sets never triggers it.
 * 3. compare() (pure) produces the verdict.
 * Any exception in steps 2–3 (a harness bug, the reference failing) is a harness error:
 * disposition 'error', never 'incorrect'.
 */
import type { Expected } from '../reference/expected.js';
import { compare, errorVerdict, malformedResults, malformedVerdict } from './compare.js';
import type { ErrorModel } from './errorModel.js';
import type { Observed } from './kernels/kernel.js';
import { forcedIdsFor, unusableRows } from './routingJudge.js';
import { runViolations, violationsVerdict } from './kernels/observedViolations.js';
import type { FindingContext, Verdict } from './verdict.js';

/** The reference recomputed with the given ids [T, k] (the kernel's, in its usable rows). */
export type ReferenceForIds = (forcedIds: Int32Array) => Promise<Expected>;

export interface JudgeInput {
  /** The kernel's name (kernelLabel, Provider.name), named by the violation findings. */
  readonly kernel: string;
  /** The reference for the case, with the full analysis (ReferenceOptions.analysis 'full'). */
  readonly expected: Expected;
  /** Two runs of the same tactic on the same inputs, poisoned with poison[0] and poison[1]. */
  readonly runs: readonly [Observed, Observed, ...Observed[]];
  readonly poison: readonly [number, number];
  /** Inputs digest before the first run and after the second. */
  readonly digests: readonly [string, string];
  readonly model: ErrorModel;
  readonly context: FindingContext;
  readonly referenceForIds: ReferenceForIds;
}

/** A verdict and the reference it was judged against (the recomputed one when the kernel chose other ids). */
export interface Judgement {
  readonly verdict: Verdict;
  /** null when the results were malformed or judging failed. */
  readonly judgedAgainst: Expected | null;
}

export async function judge(input: JudgeInput): Promise<Verdict> {
  return (await judgeWithReference(input)).verdict;
}

/** judge(), also returning the reference the output was judged against (the report's error maps use it). */
export async function judgeWithReference(input: JudgeInput): Promise<Judgement> {
  const { expected, runs, context } = input;
  // The tactic echo and what the provider saw: the arrays of such a run may be empty or partial.
  const violations = runViolations(input.kernel, context.tactic, runs);
  if (violations.length > 0) return { verdict: violationsVerdict(violations, context), judgedAgainst: null };
  const malformed = malformedResults(expected, runs);
  if (malformed !== null) return { verdict: malformedVerdict(malformed, context), judgedAgainst: null };
  try {
    const p = expected.problem;
    const ids = runs[0].ids;
    const forced = forcedIdsFor(expected.routing.ids, ids, unusableRows(ids, p.T, p.topK, p.E), p.topK);
    const referenceForIds = forced === null ? null : await input.referenceForIds(forced);
    const verdict = compare({
      reference: expected, referenceForIds, runs, poison: input.poison, digests: input.digests, model: input.model, context,
    });
    return { verdict, judgedAgainst: referenceForIds ?? expected };
  } catch (e) {
    return { verdict: errorVerdict(e instanceof Error ? e.message : String(e), context), judgedAgainst: null };
  }
}
