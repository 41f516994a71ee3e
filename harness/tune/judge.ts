/**
 * TuneJudge: how the tuner asks "is this tactic's output right?" before it may time it.
 * referenceJudge implements it with the one judge (harness/judge.ts), exactly as the
 * campaign judges a tactic: a crash or a refusal becomes its verdict; a run that ran is
 * judged against referenceFor (one reference per tuning case, shared by its tactics), the
 * kernel's ids asking for the one recomputation through referenceForIds. A reference that
 * fails is a harness error (disposition 'error'), never a kernel's fault.
 *
 * prefetch(case) starts a case's reference before any tactic of it is judged (the tuner asks
 * for the next bucket's while this bucket's tactics run on the kernel: the reference is CPU
 * work, the kernel GPU work). A prefetched reference is the same computation the judgement
 * would start (the same referenceFor cache entry), so judging waits for it instead of starting
 * another; a prefetch that fails is retried by the judgement, whose disposition is then 'error'.
 * With a PhaseClock, the time a judgement waits for its reference is charged to 'reference',
 * and every reference computation's wall time is recorded (referenceComputed).
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
import type { PhaseClock } from './phases.js';

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
  /** Charged with the time spent waiting for the reference (phase 'reference'). */
  readonly clock?: PhaseClock;
}

export interface TuneJudge {
  (input: TuneJudgeInput): Promise<TuneJudgement>;
  /** Start the case's reference now, so that judging it later waits less (optional: a judge without it computes on demand). Never rejects. */
  prefetch?(c: Case, conventions: Conventions, clock?: PhaseClock): Promise<void>;
}

export interface ReferenceJudgeOptions {
  readonly precision?: ReferencePrecision;
  readonly errorModel?: (p: Problem) => ErrorModel;
}

/** The tuner's judge: harness/judge.ts against referenceFor (one reference per tuning case, shared by its tactics). */
export function referenceJudge(opts: ReferenceJudgeOptions = {}): TuneJudge {
  // Tuning cases may override tensors (initializers.ts), so references are cached per Case object, not per spec.
  const caches = new WeakMap<Case, ReferenceCache>();
  const modelOf = (c: Case): ErrorModel => (opts.errorModel ?? defaultErrorModel)(c.spec.problem);
  /** The case's reference (with the kernel's ids when given): one computation per key, shared by prefetch and judgements. */
  const reference = (c: Case, conventions: Conventions, clock: PhaseClock | undefined, forcedIds?: Int32Array): Promise<Expected> => {
    let cache = caches.get(c);
    if (!cache) caches.set(c, (cache = new Map()));
    try {
      // Conventions no reference precision computes: a BadArgumentError, as in the campaign (not judged at all).
      const precision = referencePrecisionFor(conventions, opts.precision ?? 'float32');
      const before = cache.size;
      const t0 = performance.now();
      const p = referenceFor(c, modelOf(c), { precision, cache, conventions, ...(forcedIds ? { forcedIds } : {}) });
      // referenceFor adds an entry only when it starts a computation (a miss): time that one.
      if (clock && cache.size > before) p.then(() => clock.referenceComputed(performance.now() - t0), () => undefined);
      return p;
    } catch (e) {
      return Promise.reject(e);
    }
  };
  const judgeOne = async ({ case: c, outcome: o, kernelName, conventions, clock }: TuneJudgeInput): Promise<TuneJudgement> => {
    const ctx: FindingContext = { tactic: o.tactic.label, seed: c.spec.seed };
    const done = (v: Verdict): TuneJudgement => ({ disposition: v.disposition, lines: v.lines });
    if (o.kind === 'crashed') return done(crashVerdict(o.message, ctx));
    if (o.kind === 'refused') return done(refusedVerdict(o.message, ctx));
    referencePrecisionFor(conventions, opts.precision ?? 'float32'); // a BadArgumentError before anything is judged
    const model = modelOf(c);
    const waited = (p: () => Promise<Expected>): Promise<Expected> => (clock ? clock.time('reference', p) : p());
    let expected: Expected;
    try {
      expected = await waited(() => reference(c, conventions, clock));
    } catch (e) {
      return done(errorVerdict(`reference of the tuning case (seed ${c.spec.seed}): ${describeError(e)}`, ctx, 'reference'));
    }
    return done(await judge({
      kernel: kernelName, expected, runs: o.runs, poison: POISON, digests: o.digests, model, context: ctx,
      referenceForIds: (forcedIds) => waited(() => reference(c, conventions, clock, forcedIds)),
    }));
  };
  return Object.assign(judgeOne, {
    async prefetch(c: Case, conventions: Conventions, clock?: PhaseClock): Promise<void> {
      await reference(c, conventions, clock).then(() => undefined, () => undefined);
    },
  });
}
