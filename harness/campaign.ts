/**
 * A campaign: cases × every valid tactic of a kernel, each tactic forced and run `repeats` times (default 2),
 * judged against the reference (SPEC §5), aggregated into records per (case, tactic).
 *
 * Per case: the case is generated once here (and regenerated from its CaseSpec inside the
 * child process), the reference runs once while the kernel runs, and is recomputed with
 * the kernel's ids only when a tactic chose another (valid or not) expert set.
 */
import type { Case, CaseSpec } from '../reference/case.js';
import type { Expected } from '../reference/expected.js';
import { generateCaseParallel } from '../reference/generate/parallel.js';
import { describeProblem, type Problem } from '../reference/problem.js';
import { describeError, POISON, type CaseOutcome, type CaseRunner, type RunnableCase, type TacticOutcome } from './caseRunner.js';
import { ChildRunner } from './childRunner.js';
import { crashVerdict, errorVerdict, notSupportedVerdict, refusedVerdict } from './compare.js';
import { errorModel as defaultErrorModel, type ErrorModel } from './errorModel.js';
import { InlineRunner } from './inlineRunner.js';
import { judgeWithReference } from './judge.js';
import { errorMapOf, type ErrorMap } from './report/errorMap.js';
import { ErrorMapReuse } from './report/errorMapReuse.js';
import { unusableRows } from './routingJudge.js';
import { referencePrecisionFor, type Conventions } from '../reference/conventions.js';
import type { ProviderDescription } from './kernels/provider.js';
import { createKernel, kernelLabel, runnerIsolation, type KernelChoice } from './kernels/select.js';
import { referenceFor, type ReferenceCache, type ReferencePrecision } from './referenceFor.js';
import { replayCommand, type CaseOrigin } from './replayCommand.js';
import type { Disposition, FindingContext, Verdict } from './verdict.js';
import type { CasePhaseTimes, PhaseTimes, RunnerPhase, TacticPhaseTimes } from './phaseTimes.js';

export interface CampaignCase {
  readonly spec: CaseSpec;
  readonly origin?: CaseOrigin;
  /** Index in the unsharded case list (harness/shard.ts); the position in this list when absent. */
  readonly index?: number;
}

/** Where tactics run: a child process restarted after crashes (default), or this process. */
export type Isolation = 'child' | 'inline';

export interface CampaignOptions {
  readonly kernel: KernelChoice;
  readonly isolation?: Isolation;
  /** Tactic filter patterns (tacticFilter.ts); all tactics when absent. */
  readonly tactics?: readonly string[];
  readonly referencePrecision?: ReferencePrecision;
  /** Share references between campaigns over the same cases (e.g. one per fault). */
  readonly referenceCache?: ReferenceCache;
  /** Child isolation: longest a tactic may run (ms). */
  readonly timeoutMs?: number;
  /** Runs of each tactic on identical inputs, compared bit for bit (>= 2; default 2). */
  readonly repeats?: number;
  readonly errorModel?: (p: Problem) => ErrorModel;
  /**
   * The campaign's own copy of each case, for the reference (default generateCaseParallel; a
   * child process regenerates its copy from the spec regardless). Tests make it fail.
   */
  readonly generate?: (spec: CaseSpec) => Promise<Case>;
  readonly onEvent?: (e: CampaignEvent) => void;
  /** Stops the campaign between or during tactics (SIGINT/SIGTERM); the result says `interrupted`. */
  readonly signal?: AbortSignal;
  /**
   * A resumed campaign (resume.ts): per case index, 'case' when the case is complete, or
   * the tactic labels it already has (not run again).
   */
  readonly resumeFrom?: ReadonlyMap<number, 'case' | ReadonlySet<string>>;
}

export interface CaseRecord {
  readonly caseIndex: number;
  readonly spec: CaseSpec;
  readonly origin?: CaseOrigin;
  readonly problem: string;
  readonly tactic: string;
  readonly disposition: Disposition;
  readonly verdict: Verdict;
  readonly replay: string;
  /** Kernel time of all runs when measured, else wall time of the tactic (ms). */
  readonly ms?: number;
  /** Where the errors sit (incorrect records with well-formed results only): report/errorMap.ts. */
  readonly errorMap?: ErrorMap;
  /** Where the case's and this tactic's wall time went (harness/phaseTimes.ts). */
  readonly phases?: PhaseTimes;
}

export interface CampaignResult {
  readonly kernel: string;
  readonly cases: number;
  readonly records: CaseRecord[];
  readonly elapsedMs: number;
  /** Child processes started (1 + restarts), 0 inline. */
  readonly childStarts: number;
  /** Set when the signal stopped the campaign: the case in flight (its finished tactics are in records). */
  readonly interrupted?: { readonly caseIndex: number; readonly problem: string };
  /** What the kernel said about itself (name, version, device, conventions), when it started. */
  readonly description?: ProviderDescription;
}

export type CampaignEvent =
  | { readonly type: 'case_start'; readonly index: number; readonly total: number; readonly problem: string }
  | { readonly type: 'record'; readonly index: number; readonly total: number; readonly record: CaseRecord }
  | { readonly type: 'case_done'; readonly index: number; readonly total: number };

async function makeRunner(kernel: KernelChoice, isolation: Isolation, timeoutMs?: number, repeats?: number): Promise<CaseRunner> {
  if (runnerIsolation(kernel, isolation) === 'inline') return new InlineRunner(await createKernel(kernel), repeats);
  return new ChildRunner(kernel, { ...(timeoutMs !== undefined ? { timeoutMs } : {}), ...(repeats !== undefined ? { repeats } : {}) });
}

export async function runCampaign(cases: readonly CampaignCase[], opts: CampaignOptions): Promise<CampaignResult> {
  const started = performance.now();
  const runner = await makeRunner(opts.kernel, opts.isolation ?? 'child', opts.timeoutMs, opts.repeats);
  const records: CaseRecord[] = [];
  let interrupted: CampaignResult['interrupted'];
  let description: ProviderDescription | undefined;
  try {
    for (const [index, cc] of cases.entries()) {
      const total = cases.length;
      // Resume state is keyed by the record's case index (the unsharded one under sharding).
      const done = opts.resumeFrom?.get(cc.index ?? index);
      if (done === 'case') continue;
      if (opts.signal?.aborted) {
        interrupted = { caseIndex: index, problem: describeProblem(cc.spec.problem) };
        break;
      }
      opts.onEvent?.({ type: 'case_start', index, total, problem: describeProblem(cc.spec.problem) });
      const run = await streamOneCase(cc.index ?? index, cc, runner, opts, (r) => {
        records.push(r);
        opts.onEvent?.({ type: 'record', index, total, record: r });
      }, done);
      description = run.description ?? description;
      if (run.interrupted) {
        interrupted = { caseIndex: index, problem: describeProblem(cc.spec.problem) };
        break;
      }
      opts.onEvent?.({ type: 'case_done', index, total });
    }
  } finally {
    await runner.close();
  }
  return {
    kernel: kernelLabel(opts.kernel), cases: cases.length, records,
    elapsedMs: performance.now() - started, childStarts: runner instanceof ChildRunner ? runner.starts : 0,
    ...(interrupted ? { interrupted } : {}),
    ...(description !== undefined ? { description } : {}),
  };
}

/**
 * A campaign kept open between cases (e.g. inside a fast-check property): one runner,
 * one child process, cases judged one at a time. Close it when done.
 */
export interface CampaignSession {
  run(cc: CampaignCase): Promise<CaseRecord[]>;
  close(): Promise<void>;
  /** Child processes started so far (1 + restarts), 0 inline. */
  childStarts(): number;
}

export async function openCampaignSession(opts: CampaignOptions): Promise<CampaignSession> {
  const runner = await makeRunner(opts.kernel, opts.isolation ?? 'child', opts.timeoutMs, opts.repeats);
  let index = 0;
  return {
    run: (cc) => runOneCase(index++, cc, runner, opts),
    close: () => runner.close(),
    childStarts: () => (runner instanceof ChildRunner ? runner.starts : 0),
  };
}

/** Run and judge one case on a runner: one record per tactic (or one '*' record). */
export async function runOneCase(index: number, cc: CampaignCase, runner: CaseRunner, opts: CampaignOptions): Promise<CaseRecord[]> {
  const out: CaseRecord[] = [];
  await streamOneCase(index, cc, runner, opts, (r) => out.push(r));
  return out;
}

/**
 * Run and judge one case, handing each record to `emit` as soon as it is judged (a tactic's
 * record while the next tactic runs). `done`: tactic labels a resumed campaign already has.
 * A failure to generate the case or to compute its reference is the case's (or each
 * tactic's) disposition 'error', never an exception that ends the campaign.
 */
async function streamOneCase(
  index: number, cc: CampaignCase, runner: CaseRunner, opts: CampaignOptions, emit: (r: CaseRecord) => void, done?: ReadonlySet<string>,
): Promise<{ readonly interrupted: boolean; readonly description?: ProviderDescription }> {
  const { spec, origin } = cc;
  const p = spec.problem;
  const ctx = (tactic: string): FindingContext => ({
    tactic, seed: spec.seed,
    ...(origin?.fcSeed !== undefined ? { fcSeed: origin.fcSeed } : {}),
    ...(origin?.fcPath !== undefined ? { fcPath: origin.fcPath } : {}),
  });
  /** The case's phase times so far (phaseTimes.ts); filled in as phases complete. */
  const casePhases: { -readonly [K in keyof CasePhaseTimes]: CasePhaseTimes[K] } = {};
  const record = (tactic: string, verdict: Verdict, ms?: number, tacticPhases?: TacticPhaseTimes): CaseRecord => ({
    caseIndex: index, spec, ...(origin ? { origin } : {}), problem: describeProblem(p), tactic,
    disposition: verdict.disposition, verdict, replay: replayCommand(spec, tactic, opts.kernel, origin),
    ...(ms !== undefined ? { ms } : {}),
    phases: { case: { ...casePhases }, tactic: tacticPhases ?? {} },
  });
  const where = `case ${index} (${describeProblem(p)}, seed ${spec.seed})`;
  // Generated here for the reference while the kernel's process (a 'spec' runner) starts and
  // regenerates its own copy from the spec: the two no longer wait for each other. A failure
  // to generate is the case's disposition, reported before anything else (as when the
  // generation came first).
  const t0 = performance.now();
  const generation: Promise<Case> = (opts.generate ?? generateCaseParallel)(spec); // every core for large weights, the same bytes
  generation.then(() => { casePhases.generate = performance.now() - t0; }, () => undefined);
  const generationError = generation.then(() => null, (e: unknown) => e);
  const generateFailed = async (): Promise<boolean> => {
    const e = await generationError;
    if (e !== null) emit(record('*', errorVerdict(`generating ${where}: ${describeError(e)}`, ctx('*'), 'generate')));
    return e !== null;
  };
  let model: ErrorModel;
  try {
    model = (opts.errorModel ?? defaultErrorModel)(p);
  } catch (e) {
    if (await generateFailed()) return { interrupted: false };
    emit(record('*', errorVerdict(`error model of ${where}: ${describeError(e)}`, ctx('*'), 'error model')));
    return { interrupted: false };
  }
  // The reference computes with the kernel's declared conventions (reference/conventions.ts); a
  // convention only the float64 oracle computes selects it. A kernel that cannot even describe
  // itself (its process does not start) crashes the case, not the campaign.
  let description: ProviderDescription;
  try {
    description = await runner.describe();
  } catch (e) {
    if (await generateFailed()) return { interrupted: false };
    emit(record('*', crashVerdict(`kernel ${kernelLabel(opts.kernel)} could not start: ${describeError(e)}`, ctx('*'))));
    return { interrupted: false };
  }
  // A kernel config's conventions replace what the kernel declares (docs/providers.md).
  const conventions: Conventions = opts.kernel.conventions ?? description.conventions;
  // Conventions no reference precision computes: a BadArgumentError (exit 2); such a kernel is not judged at all.
  const precision = referencePrecisionFor(conventions, opts.referencePrecision ?? 'float32');
  // Without a shared cache, one per case: tactics choosing the same other ids share a reference.
  const cache: ReferenceCache = opts.referenceCache ?? new Map();
  const safeReference = (generated: Case, forcedIds?: Int32Array): Promise<Expected> => {
    try {
      return referenceFor(generated, model, { precision, cache, conventions, ...(forcedIds ? { forcedIds } : {}) });
    } catch (e) {
      return Promise.reject(e);
    }
  };
  // The reference starts as soon as the case is generated, while the kernel runs.
  const reference: Promise<Expected> = generation.then((generated) => {
    const start = performance.now();
    const r = safeReference(generated);
    r.then(() => { casePhases.reference = performance.now() - start; }, () => undefined);
    return r;
  });
  reference.catch(() => undefined); // awaited while judging; avoid an unhandled rejection meanwhile
  /** The generated case, set by the first step of `judging`: every judging step comes after it. */
  let c: Case | null = null;
  let judging: Promise<void> = generation.then((generated) => { c = generated; }, () => undefined);
  const tacticWall = new Map<string, number>();
  const errorMaps = new ErrorMapReuse();
  let last = performance.now();
  // Judged one at a time, in the order the tactics finish, while later tactics run. Outcomes
  // of a case that failed to generate are dropped (the case's record says why).
  const startRun = (input: RunnableCase): Promise<CaseOutcome> => runner.runCase(input, opts.tactics, (o) => {
    const now = performance.now();
    tacticWall.set(o.tactic.label, now - last);
    last = now;
    judging = judging.then(async () => {
      if (c !== null) emit(await judgeOutcome(o, c));
    });
    judging.catch(() => undefined); // rethrown by the await below, not an unhandled rejection meanwhile
  }, {
    ...(done ? { skip: done } : {}), ...(opts.signal ? { signal: opts.signal } : {}),
    onPhase: (phase: RunnerPhase, ms: number) => { casePhases[phase] = ms; },
  });
  // A 'spec' runner starts now, regenerating the case in its own process while this one
  // generates; a 'data' runner waits for the generated case.
  const early = runner.input === 'spec' ? startRun({ spec }) : null;
  early?.catch(() => undefined); // awaited below
  const generated = await generation.catch(() => null);
  if (generated === null) {
    // A run started early ends first (its outcomes dropped): its process is then free for the next case.
    await early?.catch(() => undefined);
    await judging;
    await generateFailed();
    return { interrupted: false };
  }
  const outcome: CaseOutcome = await (early ?? startRun(generated));
  await judging;
  if (outcome.kind === 'not_supported') emit(record('*', notSupportedVerdict(outcome.message, ctx('*'))));
  else if (outcome.kind === 'prepare_crashed') emit(record('*', crashVerdict(outcome.message, ctx('*'))));
  return { interrupted: outcome.kind === 'ran' && outcome.interrupted === true, description };

  async function judgeOutcome(o: TacticOutcome, c: Case): Promise<CaseRecord> {
    const label = o.tactic.label;
    const wall = tacticWall.get(label);
    if (o.kind === 'crashed') return record(label, crashVerdict(o.message, ctx(label)), wall);
    if (o.kind === 'refused') return record(label, refusedVerdict(o.message, ctx(label)), wall);
    let expected: Expected;
    try {
      expected = await reference;
    } catch (e) {
      return record(label, errorVerdict(`reference of ${where}: ${describeError(e)}`, ctx(label), 'reference'), wall);
    }
    const judgeStart = performance.now();
    const { verdict, judgedAgainst } = await judgeWithReference({
      kernel: kernelLabel(opts.kernel), expected, runs: o.runs, poison: POISON, digests: o.digests, model, context: ctx(label),
      referenceForIds: (forcedIds) => safeReference(c, forcedIds),
    });
    const kernelMs = o.runs.every((r) => r.ms !== undefined) ? o.runs.reduce((a, r) => a + r.ms!, 0) : wall;
    // Report: where the errors sit, while the kernel's output is at hand (report/errorMap.ts).
    const rec = record(label, verdict, kernelMs, { ...o.times, judge: performance.now() - judgeStart });
    if (verdict.disposition !== 'incorrect' || judgedAgainst === null) return rec;
    // Tactics that computed the same wrong results share one map (report/errorMapReuse.ts).
    const errorMap = errorMaps.mapFor(judgedAgainst, o.runs, () => errorMapOf({
      expected: judgedAgainst, runs: o.runs, poison: POISON, model, unjudged: unusableRows(o.runs[0].ids, p.T, p.topK, p.E),
    }));
    return { ...rec, errorMap };
  }
}

