/**
 * TuneJudge: how the tuner asks "is this tactic's output right?" before it may time it.
 * referenceJudge implements it with the one judge (harness/judge.ts), exactly as the
 * campaign judges a tactic: a crash or a refusal becomes its verdict; a run that ran is
 * judged against referenceFor (one reference per tuning case, shared by its tactics), the
 * kernel's ids asking for the one recomputation through referenceForIds. A reference that
 * fails is a harness error (disposition 'error'), never a kernel's fault.
 */
import type { Case } from '../../reference/case.js';
import { referencePrecisionFor, type Conventions } from '../../reference/conventions.js';
import type { Expected } from '../../reference/expected.js';
import type { Problem } from '../../reference/problem.js';
import { describeError, POISON, type TacticOutcome } from '../caseRunner.js';
import { crashVerdict, errorVerdict, refusedVerdict } from '../compare.js';
import { errorModel as defaultErrorModel, type ErrorModel } from '../errorModel.js';
import { judge } from '../judge.js';
import { referenceFor, type ReferenceCache, type ReferencePrecision } from '../referenceFor.js';
import type { Disposition, FindingContext, Verdict } from '../verdict.js';

export interface TuneJudgement {
  readonly disposition: Disposition;
  /** Finding lines (verdict.ts grammar); empty when passed. */
  readonly lines: readonly string[];
}

export interface TuneJudgeInput {
  readonly case: Case;
  /** What running the tactic (two poisons, digests around) produced. */
  readonly outcome: TacticOutcome;
  /** The kernel's name (Provider description), named by violation findings. */
  readonly kernelName: string;
  readonly conventions: Conventions;
}

export type TuneJudge = (input: TuneJudgeInput) => Promise<TuneJudgement>;

export interface ReferenceJudgeOptions {
  readonly precision?: ReferencePrecision;
  readonly errorModel?: (p: Problem) => ErrorModel;
}

/** The tuner's judge: harness/judge.ts against referenceFor (one reference per tuning case, shared by its tactics). */
export function referenceJudge(opts: ReferenceJudgeOptions = {}): TuneJudge {
  // Tuning cases may override tensors (initializers.ts), so references are cached per Case object, not per spec.
  const caches = new WeakMap<Case, ReferenceCache>();
  return async ({ case: c, outcome: o, kernelName, conventions }) => {
    const ctx: FindingContext = { tactic: o.tactic.label, seed: c.spec.seed };
    const done = (v: Verdict): TuneJudgement => ({ disposition: v.disposition, lines: v.lines });
    if (o.kind === 'crashed') return done(crashVerdict(o.message, ctx));
    if (o.kind === 'refused') return done(refusedVerdict(o.message, ctx));
    let cache = caches.get(c);
    if (!cache) caches.set(c, (cache = new Map()));
    const model = (opts.errorModel ?? defaultErrorModel)(c.spec.problem);
    // Conventions no reference precision computes: a BadArgumentError, as in the campaign (not judged at all).
    const precision = referencePrecisionFor(conventions, opts.precision ?? 'float32');
    const reference = (forcedIds?: Int32Array): Promise<Expected> => {
      try {
        return referenceFor(c, model, { precision, cache, conventions, ...(forcedIds ? { forcedIds } : {}) });
      } catch (e) {
        return Promise.reject(e);
      }
    };
    let expected: Expected;
    try {
      expected = await reference();
    } catch (e) {
      return done(errorVerdict(`reference of the tuning case (seed ${c.spec.seed}): ${describeError(e)}`, ctx, 'reference'));
    }
    return done(await judge({
      kernel: kernelName, expected, runs: o.runs, poison: POISON, digests: o.digests, model, context: ctx,
      referenceForIds: (forcedIds) => reference(forcedIds),
    }));
  };
}
