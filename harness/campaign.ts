/**
 * A campaign: cases × every valid tactic of a kernel, each tactic forced and run twice,
 * judged against the reference (SPEC §5), aggregated into records per (case, tactic).
 *
 * Per case: the case is generated once here (and regenerated from its CaseSpec inside the
 * child process), the reference runs once while the kernel runs, and is recomputed with
 * the kernel's ids only when a tactic chose another (valid or not) expert set.
 */
import type { CaseSpec } from '../reference/case.js';
import type { Expected } from '../reference/expected.js';
import { generateCase } from '../reference/generate.js';
import { describeProblem, type Problem } from '../reference/problem.js';
import { routingInputFromCase } from '../reference/routing/routingInput.js';
import { describeError, POISON, type CaseOutcome, type CaseRunner, type TacticOutcome } from './caseRunner.js';
import { ChildRunner } from './childRunner.js';
import { compare, crashVerdict, malformedVerdict, notSupportedVerdict, refusedVerdict } from './compare.js';
import { errorModel as defaultErrorModel, type ErrorModel } from './errorModel.js';
import { InlineRunner } from './inlineRunner.js';
import { referencePrecisionFor, type Conventions } from '../reference/conventions.js';
import { observedViolations } from './kernels/observedViolations.js';
import type { ProviderDescription } from './kernels/provider.js';
import { createKernel, kernelLabel, runnerIsolation, type KernelChoice } from './kernels/select.js';
import { referenceFor, type ReferenceCache, type ReferencePrecision } from './referenceFor.js';
import { replayCommand, type CaseOrigin } from './replayCommand.js';
import { forcedIdsFor, unusableRows } from './routingJudge.js';
import type { Disposition, FindingContext, Verdict } from './verdict.js';

export interface CampaignCase {
  readonly spec: CaseSpec;
  readonly origin?: CaseOrigin;
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
  readonly errorModel?: (p: Problem) => ErrorModel;
  readonly onEvent?: (e: CampaignEvent) => void;
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
  /** Kernel time of the two runs when measured, else wall time of the tactic (ms). */
  readonly ms?: number;
}

export interface CampaignResult {
  readonly kernel: string;
  readonly cases: number;
  readonly records: CaseRecord[];
  readonly elapsedMs: number;
  /** Child processes started (1 + restarts), 0 inline. */
  readonly childStarts: number;
  /** What the kernel said about itself (name, version, device, conventions), when it started. */
  readonly description?: ProviderDescription;
}

export type CampaignEvent =
  | { readonly type: 'case_start'; readonly index: number; readonly total: number; readonly problem: string }
  | { readonly type: 'record'; readonly index: number; readonly total: number; readonly record: CaseRecord }
  | { readonly type: 'case_done'; readonly index: number; readonly total: number };

export async function makeRunner(kernel: KernelChoice, isolation: Isolation, timeoutMs?: number): Promise<CaseRunner> {
  if (runnerIsolation(kernel, isolation) === 'inline') return new InlineRunner(await createKernel(kernel));
  return new ChildRunner(kernel, timeoutMs !== undefined ? { timeoutMs } : {});
}

export async function runCampaign(cases: readonly CampaignCase[], opts: CampaignOptions): Promise<CampaignResult> {
  const started = performance.now();
  const runner = await makeRunner(opts.kernel, opts.isolation ?? 'child', opts.timeoutMs);
  const records: CaseRecord[] = [];
  let description: ProviderDescription | undefined;
  try {
    for (const [index, cc] of cases.entries()) {
      const total = cases.length;
      opts.onEvent?.({ type: 'case_start', index, total, problem: describeProblem(cc.spec.problem) });
      for (const r of await runOneCase(index, cc, runner, opts)) {
        records.push(r);
        opts.onEvent?.({ type: 'record', index, total, record: r });
      }
      opts.onEvent?.({ type: 'case_done', index, total });
    }
    if (cases.length > 0) description = await runner.describe().catch(() => undefined);
  } finally {
    await runner.close();
  }
  return {
    kernel: kernelLabel(opts.kernel), cases: cases.length, records,
    elapsedMs: performance.now() - started, childStarts: runner instanceof ChildRunner ? runner.starts : 0,
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
  const runner = await makeRunner(opts.kernel, opts.isolation ?? 'child', opts.timeoutMs);
  let index = 0;
  return {
    run: (cc) => runOneCase(index++, cc, runner, opts),
    close: () => runner.close(),
    childStarts: () => (runner instanceof ChildRunner ? runner.starts : 0),
  };
}

/** Run and judge one case on a runner: one record per tactic (or one '*' record). */
export async function runOneCase(index: number, cc: CampaignCase, runner: CaseRunner, opts: CampaignOptions): Promise<CaseRecord[]> {
  const { spec, origin } = cc;
  const p = spec.problem;
  const c = generateCase(spec);
  const model = (opts.errorModel ?? defaultErrorModel)(p);
  const ctx = (tactic: string): FindingContext => ({
    tactic, seed: spec.seed,
    ...(origin?.fcSeed !== undefined ? { fcSeed: origin.fcSeed } : {}),
    ...(origin?.fcPath !== undefined ? { fcPath: origin.fcPath } : {}),
  });
  const record = (tactic: string, verdict: Verdict, ms?: number): CaseRecord => ({
    caseIndex: index, spec, ...(origin ? { origin } : {}), problem: describeProblem(p), tactic,
    disposition: verdict.disposition, verdict, replay: replayCommand(spec, tactic, opts.kernel, origin),
    ...(ms !== undefined ? { ms } : {}),
  });
  // The reference computes with the kernel's declared conventions (reference/conventions.ts); a
  // convention only the float64 oracle computes selects it. A kernel that cannot even describe
  // itself (its process does not start) crashes the case, not the campaign.
  let conventions: Conventions;
  try {
    // A kernel config's conventions replace what the kernel declares (docs/providers.md).
    conventions = opts.kernel.conventions ?? (await runner.describe()).conventions;
  } catch (e) {
    return [record('*', crashVerdict(`kernel ${kernelLabel(opts.kernel)} could not start: ${describeError(e)}`, ctx('*')))];
  }
  const precision = referencePrecisionFor(conventions, opts.referencePrecision ?? 'float32');
  // Without a shared cache, one per case: tactics choosing the same other ids share a reference.
  const cache: ReferenceCache = opts.referenceCache ?? new Map();
  const reference = referenceFor(c, model, { precision, cache, conventions });
  reference.catch(() => undefined); // awaited below; avoid an unhandled rejection meanwhile
  const tacticWall = new Map<string, number>();
  let last = performance.now();
  const outcome: CaseOutcome = await runner.runCase(c, opts.tactics, (o) => {
    const now = performance.now();
    tacticWall.set(o.tactic.label, now - last);
    last = now;
  });
  if (outcome.kind === 'not_supported') return [record('*', notSupportedVerdict(outcome.message, ctx('*')))];
  if (outcome.kind === 'prepare_crashed') return [record('*', crashVerdict(`prepare: ${outcome.message}`, ctx('*')))];
  let expected: Expected;
  try {
    expected = await reference;
  } catch (e) {
    throw new Error(`reference failed for case ${index} (${describeProblem(p)}, seed ${spec.seed}): ${(e as Error).message}`, { cause: e });
  }
  const input = routingInputFromCase(c);
  const out: CaseRecord[] = [];
  for (const o of outcome.outcomes) {
    out.push(await judgeOutcome(o));
  }
  return out;

  async function judgeOutcome(o: TacticOutcome): Promise<CaseRecord> {
    const label = o.tactic.label;
    const wall = tacticWall.get(label);
    if (o.kind === 'crashed') return record(label, crashVerdict(o.message, ctx(label)), wall);
    if (o.kind === 'refused') return record(label, refusedVerdict(o.message, ctx(label)), wall);
    const violations = observedViolations(kernelLabel(opts.kernel), o.tactic, o.runs);
    if (violations.length > 0) return record(label, malformedVerdict(violations.join('; '), ctx(label)), wall);
    const ids = o.runs[0].ids;
    let referenceForIds = null;
    if (ids instanceof Int32Array && ids.length === p.T * p.topK) {
      const forced = forcedIdsFor(expected.routing.ids, ids, unusableRows(ids, p.T, p.topK, p.E), p.topK);
      if (forced !== null) {
        referenceForIds = await referenceFor(c, model, { precision, forcedIds: forced, cache, conventions });
      }
    }
    let verdict: Verdict;
    try {
      verdict = compare({ routingInput: input, reference: expected, referenceForIds, runs: o.runs, poison: POISON, digests: o.digests, model, context: ctx(label) });
    } catch (e) {
      // Wrong shapes or types from the kernel: incorrect, never a harness crash.
      verdict = malformedVerdict((e as Error).message, ctx(label));
    }
    const kernelMs = o.runs[0].ms !== undefined && o.runs[1].ms !== undefined ? o.runs[0].ms + o.runs[1].ms : wall;
    return record(label, verdict, kernelMs);
  }
}
