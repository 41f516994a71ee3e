/**
 * TuneJudge: how the tuner asks "is this tactic's output right?" before it may time it. On
 * this branch it is implemented with the campaign's pieces (compare.ts against referenceFor,
 * the kernel's ids forcing a recomputed reference when it chose another valid set, exactly
 * as campaign.ts judges a tactic); at merge the one judge (harness/judge.ts) replaces
 * referenceJudge without touching the tuner.
 */
import type { Case } from '../../reference/case.js';
import { referencePrecisionFor, type Conventions } from '../../reference/conventions.js';
import { routingInputFromCase } from '../../reference/routing/routingInput.js';
import { POISON, type TacticOutcome } from '../caseRunner.js';
import { compare, crashVerdict, malformedVerdict, refusedVerdict } from '../compare.js';
import { errorModel as defaultErrorModel, type ErrorModel } from '../errorModel.js';
import { observedViolations } from '../kernels/observedViolations.js';
import type { Problem } from '../../reference/problem.js';
import { referenceFor, type ReferenceCache, type ReferencePrecision } from '../referenceFor.js';
import { forcedIdsFor, unusableRows } from '../routingJudge.js';
import type { Disposition, FindingContext, Verdict } from '../verdict.js';

export interface TuneJudgement {
  readonly disposition: Disposition;
  /** Finding lines (verdict.ts grammar); empty when passed. */
  readonly lines: readonly string[];
}

export interface TuneJudgeInput {
  readonly case: Case;
  /** What running the tactic twice (two poisons, digests around) produced. */
  readonly outcome: TacticOutcome;
  readonly kernelName: string;
  readonly conventions: Conventions;
}

export type TuneJudge = (input: TuneJudgeInput) => Promise<TuneJudgement>;

export interface ReferenceJudgeOptions {
  readonly precision?: ReferencePrecision;
  readonly errorModel?: (p: Problem) => ErrorModel;
}

/** The judge built from compare.ts + referenceFor (one reference per tuning case, shared by its tactics). */
export function referenceJudge(opts: ReferenceJudgeOptions = {}): TuneJudge {
  // Tuning cases may override tensors (initializers.ts), so references are cached per Case object, not per spec.
  const caches = new WeakMap<Case, ReferenceCache>();
  return async ({ case: c, outcome: o, kernelName, conventions }) => {
    const p = c.spec.problem;
    const ctx: FindingContext = { tactic: o.tactic.label, seed: c.spec.seed };
    const done = (v: Verdict): TuneJudgement => ({ disposition: v.disposition, lines: v.lines });
    if (o.kind === 'crashed') return done(crashVerdict(o.message, ctx));
    if (o.kind === 'refused') return done(refusedVerdict(o.message, ctx));
    const violations = observedViolations(kernelName, o.tactic, o.runs);
    if (violations.length > 0) return done(malformedVerdict(violations.join('; '), ctx));
    let cache = caches.get(c);
    if (!cache) caches.set(c, (cache = new Map()));
    const model = (opts.errorModel ?? defaultErrorModel)(p);
    const precision = referencePrecisionFor(conventions, opts.precision ?? 'float32');
    const expected = await referenceFor(c, model, { precision, cache, conventions });
    const ids = o.runs[0].ids;
    let referenceForIds = null;
    if (ids instanceof Int32Array && ids.length === p.T * p.topK) {
      const forced = forcedIdsFor(expected.routing.ids, ids, unusableRows(ids, p.T, p.topK, p.E), p.topK);
      if (forced !== null) referenceForIds = await referenceFor(c, model, { precision, forcedIds: forced, cache, conventions });
    }
    try {
      return done(compare({ routingInput: routingInputFromCase(c), reference: expected, referenceForIds, runs: o.runs, poison: POISON, digests: o.digests, model, context: ctx }));
    } catch (e) {
      return done(malformedVerdict((e as Error).message, ctx));
    }
  };
}
