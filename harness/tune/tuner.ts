/**
 * The tuner: per token bucket, every tactic of the kernel is first VERIFIED on the
 * bucket's tuning inputs (run twice with two poisons, inputs digested, judged against the
 * reference by a TuneJudge) and only then TIMED under the noise policy; the fastest verified
 * tactic wins the bucket. A tactic that fails or crashes goes on the blocklist with its
 * finding lines and replay command and is never selected, however fast. Every timed tactic
 * was judged; a timed run that does not echo the forced tactic blocklists it too.
 *
 * Crash handling: the tuner drives the provider in this process. A fatal error (CudaError:
 * the CUDA context is poisoned) blocklists the tactic; then, for kinds that keep their kernel
 * in a process of their own (cmd:, isolation 'self'), the provider is closed and a fresh one
 * started before the next tactic. For in-process kinds (native) the poisoned context cannot be
 * recovered in this process: the tune STOPS (TuneResult.aborted says why; the command writes
 * no cache and exits 1) rather than blocklisting every later tactic for a crash not its own.
 * A harness error while judging (the one judge's disposition 'error': the reference or the
 * judge failed) is neither a pass nor the tactic's fault: the tune stops too (abortCause
 * 'harness_error'; the command writes no cache and exits 70), nothing is blocklisted.
 *
 * Pipeline (referenceSchedule 'ahead', the default): the reference is CPU work and the
 * kernel's runs GPU work, so while bucket b's tactics are verified and timed, bucket b+1's
 * tuning inputs are already generated and its reference computed (started as soon as b's is
 * done: one reference at a time). 'on_demand' computes each reference when the first tactic
 * of its bucket is judged (the order before the pipeline; for measuring what it saves).
 * What is shared by the buckets is computed once: the weights (initializers.ts), the
 * provider's description, the environment, the timing modes.
 *
 * Where the time goes: every phase (phases.ts) is timed and returned (TuneResult.phases).
 */
import type { Case } from '../../reference/case.js';
import type { Conventions } from '../../reference/conventions.js';
import { describeProblem, type Problem } from '../../reference/problem.js';
import { describeError, executeTactic, isFatal, isUnsupported, POISON } from '../caseRunner.js';
import type { Provider, ProviderDescription, Tactic } from '../kernels/provider.js';
import { createKernel, kernelArgs, runnerIsolation, shellQuote, type KernelChoice } from '../kernels/select.js';
import { replayCommand } from '../replayCommand.js';
import { matchesTactic } from '../tacticFilter.js';
import { BLOCKED_LINES, type BlockedTactic } from './blocklist.js';
import { tokenBuckets } from './buckets.js';
import type { BucketChoice, ProblemEntry } from './cache.js';
import { defaultTacticOf } from './defaultTactic.js';
import { detectEnvironment, type TuneEnvironment } from './environment.js';
import { describeInitializers, tuningCase, warmTuningWeights, type InitializerChoice, type TuningCase } from './initializers.js';
import type { TuneJudge } from './judge.js';
import { PhaseClock, type PhaseTimes } from './phases.js';
import { TimedProvider } from './timedProvider.js';
import { DEFAULT_NOISE_POLICY, measure, type ClockFallback, type NoisePolicy, type Timing } from './timing.js';
import { applyTimingModes, DEFAULT_TIMING_MODES, timedRunOptions, type AppliedTimingModes, type TimingModes, type UnsupportedTiming } from './timingModes.js';

/** When each bucket's reference is computed: ahead (overlapping the previous bucket's kernel runs) or when first needed. */
export type ReferenceSchedule = 'ahead' | 'on_demand';
export const REFERENCE_SCHEDULES: readonly ReferenceSchedule[] = ['ahead', 'on_demand'];

export interface TuneOptions {
  readonly kernel: KernelChoice;
  /** The problem to tune (its T is replaced by each bucket's). */
  readonly problem: Problem;
  readonly maxTokens: number;
  /** Only these buckets (each a power of two <= maxTokens); all when absent. */
  readonly buckets?: readonly number[];
  readonly seed: number;
  readonly initializers?: InitializerChoice;
  readonly policy?: NoisePolicy;
  readonly judge: TuneJudge;
  /** Tactic filter patterns (tacticFilter.ts). */
  readonly tactics?: readonly string[];
  /** Start the provider (default createKernel(kernel)); called again after a fatal crash. */
  readonly createProvider?: () => Promise<Provider>;
  /** The environment keying the cache (default detectEnvironment(describe())). */
  readonly environment?: TuneEnvironment;
  /** A provider that reports no kernel time: timed by the host clock (default 'host_wall'), or an error ('refuse', MOE_HARNESS_REQUIRE_GPU=1). */
  readonly clockFallback?: ClockFallback;
  /** Cold L2 / CUDA-graph replay (default warm, stream), asked of the provider where it supports them. */
  readonly timingModes?: TimingModes;
  /** A requested timing mode the provider does not support: timed without it and reported (default), or refused ('refuse', MOE_HARNESS_REQUIRE_GPU=1). */
  readonly unsupportedTiming?: UnsupportedTiming;
  /** Default 'ahead': the next bucket's reference computed while this bucket's tactics run. */
  readonly referenceSchedule?: ReferenceSchedule;
  readonly log?: (line: string) => void;
  /** Called as each bucket finishes (a benchmark prints and saves as it goes). */
  readonly onBucket?: (r: BucketResult) => void | Promise<void>;
}

export interface TacticResult {
  readonly tactic: string;
  readonly disposition: 'passed' | BlockedTactic['disposition'];
  /** Present when it passed verification (and was timed). */
  readonly timing?: Timing;
  readonly verifyMs: number;
}

export type AbortCause = 'kernel_fatal_error' | 'harness_error';

export interface BucketResult {
  readonly bucket: number;
  /** null: no tactic passed verification, or the kernel does not support the bucket (see note). */
  readonly choice: BucketChoice | null;
  readonly results: readonly TacticResult[];
  readonly note?: string;
  /** Wall ms the bucket took (its inputs generated ahead are charged to the bucket before it). */
  readonly wallMs?: number;
}

export interface TuneResult {
  readonly environment: TuneEnvironment;
  readonly description: ProviderDescription;
  readonly entry: ProblemEntry;
  readonly buckets: readonly BucketResult[];
  readonly blocklist: readonly BlockedTactic[];
  readonly elapsedMs: number;
  /** Time spent verifying (runs, digests, waiting for the reference, judging) and timing, summed over buckets. */
  readonly verifyMs: number;
  readonly timeMs: number;
  /** Wall time per phase (phases.ts): where the elapsed time went. */
  readonly phases: PhaseTimes;
  /** The timing modes requested and used, with a note for each the provider could not honour. */
  readonly timingModes: AppliedTimingModes;
  readonly referenceSchedule: ReferenceSchedule;
  /** Why the tune stopped early (a fatal error in an in-process kernel, or a harness error while judging), when it did. */
  readonly aborted?: string;
  /** What stopped it: the kernel (a fatal error) or the harness (it could not judge a tactic). */
  readonly abortCause?: AbortCause;
}

/** The replay of one tactic on a bucket's tuning inputs: `replay` when the bytes are generateCase(spec)'s, else the tune command itself. */
export function tuneReplay(tc: TuningCase, tactic: string, kernel: KernelChoice): string {
  if (tc.replayable) return replayCommand(tc.spec, tactic, kernel);
  const p = tc.spec.problem;
  const init = describeInitializers(tc.initializers);
  return `npx moe-harness tune --problem ${shellQuote(JSON.stringify({ ...p, T: 1 }))} --max-tokens ${p.T} --buckets ${p.T} --seed ${tc.spec.seed} --tactic ${tactic} --init ${init} ${kernelArgs(kernel)}`;
}

/** A live provider that restarts after a fatal crash. */
class ProviderSlot {
  provider: TimedProvider | null = null;
  constructor(private readonly create: () => Promise<TimedProvider>) {}
  async get(): Promise<TimedProvider> {
    return (this.provider ??= await this.create());
  }
  async restart(): Promise<void> {
    const p = this.provider;
    this.provider = null;
    await p?.close().catch(() => undefined);
  }
}

export async function tune(opts: TuneOptions): Promise<TuneResult> {
  const started = performance.now();
  const clock = new PhaseClock();
  const policy = opts.policy ?? DEFAULT_NOISE_POLICY;
  const schedule = opts.referenceSchedule ?? 'ahead';
  const log = opts.log ?? (() => undefined);
  const buckets = tokenBuckets(opts.maxTokens).filter((b) => opts.buckets === undefined || opts.buckets.includes(b));
  const create = opts.createProvider ?? (() => createKernel(opts.kernel));
  const slot = new ProviderSlot(async () => new TimedProvider(await create(), clock));
  const blocklist: BlockedTactic[] = [];
  const results: BucketResult[] = [];
  let verifyMs = 0;
  let timeMs = 0;
  let aborted: string | undefined;
  let abortCause: AbortCause | undefined;
  const restartable = runnerIsolation(opts.kernel, 'child') === 'inline';
  let description: ProviderDescription;
  let environment: TuneEnvironment;
  let modes: AppliedTimingModes;
  let conventions: Conventions;
  try {
    description = await (await slot.get()).describe();
    environment = opts.environment ?? (await detectEnvironment(description));
    modes = applyTimingModes(opts.timingModes ?? DEFAULT_TIMING_MODES, description, opts.unsupportedTiming ?? 'report');
    for (const n of modes.notes) log(`warning: ${n}`);
    conventions = opts.kernel.conventions ?? description.conventions;
    // The weights every bucket shares, on every core first (tuningCase would make them on this thread).
    await clock.time('generate', () => warmTuningWeights(opts.problem, opts.seed));
    const caseOf = (bucket: number): TuningCase => clock.timeSync('generate', () => tuningCase({ ...opts.problem, T: bucket }, opts.seed, opts.initializers));
    let next: TuningCase | undefined;
    // References started ahead; awaited before returning, so none outlives the tune (it would load the CPU under whatever runs next).
    const pending: Promise<unknown>[] = [];
    for (let i = 0; i < buckets.length && aborted === undefined; i++) {
      const bucket = buckets[i]!;
      const tc = next ?? caseOf(bucket);
      next = undefined;
      if (schedule === 'ahead') {
        // This bucket's reference starts now (it overlaps prepare and the first verification runs);
        // the next bucket's inputs are generated now and its reference starts when this one is done.
        const ready = opts.judge.prefetch?.(tc.case, conventions, clock);
        if (ready) pending.push(ready);
        if (i + 1 < buckets.length) {
          const following = (next = caseOf(buckets[i + 1]!));
          if (ready) pending.push(ready.then(() => opts.judge.prefetch?.(following.case, conventions, clock)));
        }
      }
      const b0 = performance.now();
      const r = { ...(await tuneBucket(bucket, tc)), wallMs: performance.now() - b0 };
      results.push(r);
      const c = r.choice;
      log(c ? `bucket ${bucket}: ${c.tactic} ${c.medianMs.toPrecision(4)} ms (default ${c.defaultTactic} ${c.defaultMs === null ? 'failed verification' : `${c.defaultMs.toPrecision(4)} ms`}; ${c.verified} verified)` : `bucket ${bucket}: no choice (${r.note ?? 'no tactic passed verification'})`);
      await opts.onBucket?.(r);
    }
    await Promise.all(pending);
  } finally {
    await slot.provider?.close().catch(() => undefined);
  }
  const entry: ProblemEntry = {
    problem: { ...opts.problem, T: opts.maxTokens }, maxTokens: opts.maxTokens, seed: opts.seed,
    initializers: describeInitializers(opts.initializers ?? {}),
    buckets: Object.fromEntries(results.filter((r) => r.choice).map((r) => [String(r.bucket), r.choice!])),
    blocklist,
    timedWith: { l2: modes.used.l2, launch: modes.used.launch },
  };
  return {
    environment, description, entry, buckets: results, blocklist, elapsedMs: performance.now() - started, verifyMs, timeMs,
    phases: clock.snapshot(), timingModes: modes, referenceSchedule: schedule,
    ...(aborted !== undefined && abortCause !== undefined ? { aborted, abortCause } : {}),
  };

  /** After a fatal error: restart a self-isolated provider (true: go on), or stop the tune (false). */
  async function afterFatal(t: Tactic, message: string): Promise<boolean> {
    await slot.restart();
    if (restartable) return true;
    abortCause = 'kernel_fatal_error';
    aborted = `tactic ${t.label} raised a fatal error (${message}): the kernel's CUDA context in this process is poisoned, so no later tactic can be verified here; the tune stopped and nothing may be cached. Exclude the tactic with --tactic, or fix the kernel`;
    log(`ABORTED: ${aborted}`);
    return false;
  }

  async function tuneBucket(bucket: number, tc: TuningCase): Promise<BucketResult> {
    const problem: Problem = tc.spec.problem;
    const provider = await slot.get();
    const { tactics: all } = await provider.tactics(problem);
    const list = all.filter((t) => matchesTactic(t.label, opts.tactics));
    const def = await defaultTacticOf(opts.kernel.kind, provider, problem, all);
    if (list.length === 0) return { bucket, choice: null, results: [], note: `the kernel enumerates no tactic for ${describeProblem(problem)}${opts.tactics ? ' (after the tactic filter)' : ''}` };
    // The default is always verified and timed too (it is the fallback and the benchmark's baseline).
    const toRun = def && !list.some((t) => t.label === def.tactic.label) ? [...list, def.tactic] : list;
    let handle: unknown = await prepareOn(provider, tc.case);
    if (handle === UNSUPPORTED) return { bucket, choice: null, results: [], note: `the kernel does not support ${describeProblem(problem)}` };
    const out: TacticResult[] = [];
    const block = (t: Tactic, disposition: BlockedTactic['disposition'], lines: readonly string[], v: number): void => {
      const b: BlockedTactic = { tactic: t.label, bucket, disposition, findings: lines.slice(0, BLOCKED_LINES), replay: tuneReplay(tc, t.label, opts.kernel) };
      blocklist.push(b);
      out.push({ tactic: t.label, disposition, verifyMs: v });
      log(`bucket ${bucket}: tactic ${t.label} blocklisted (${disposition}): ${lines[0] ?? ''}`);
    };
    for (const t of toRun) {
      let p = await slot.get();
      if (handle === null) handle = await prepareOn(p, tc.case); // after a restart
      const v0 = performance.now();
      p.runPhase = 'verify_runs';
      const outcome = await executeTactic(p, handle, t);
      const judgement = await clock.time('judge', () => opts.judge({ case: tc.case, outcome, kernelName: description.name, conventions, clock }));
      const v = performance.now() - v0;
      verifyMs += v;
      if (judgement.disposition === 'error') {
        // The harness could not judge (the reference or the judge failed): not the kernel's fault, so
        // not a blocklisting, and not a pass: the tune stops and nothing may be cached.
        abortCause = 'harness_error';
        aborted = `the harness could not judge tactic ${t.label} at bucket ${bucket} (a harness error, not a kernel finding): ${judgement.lines[0] ?? 'no detail'}; the tune stopped and nothing may be cached`;
        log(`ABORTED: ${aborted}`);
        break;
      }
      if (judgement.disposition !== 'passed') block(t, judgement.disposition === 'not_supported' ? 'incorrect' : judgement.disposition, judgement.lines, v);
      if (outcome.fatal && !(await afterFatal(t, outcome.kind === 'crashed' ? outcome.message : 'fatal error'))) {
        handle = null;
        break;
      }
      if (outcome.fatal) handle = null;
      if (judgement.disposition !== 'passed') continue;
      const t0 = performance.now();
      try {
        p = await slot.get();
        p.runPhase = 'timing';
        const runOptions = { poison: POISON[0], ...timedRunOptions(modes.used) };
        const timing = await measure(async () => {
          const o = await p.run(handle, t, runOptions);
          if (o.executedTactic !== t.label) throw new Error(`kernel ${description.name} was forced to tactic ${t.label} but reports executing ${JSON.stringify(o.executedTactic)} during timing`);
          return o.ms;
        }, policy, opts.clockFallback ? { clockFallback: opts.clockFallback } : {});
        out.push({ tactic: t.label, disposition: 'passed', timing, verifyMs: v });
      } catch (e) {
        const lied = /forced to tactic/.test((e as Error).message);
        block(t, lied ? 'incorrect' : 'crashed', [`tactic=${lied ? 'another tactic executed' : 'crashed'} while timed, reference ${lied ? 'the forced tactic' : 'a completed run'} (${describeError(e)}; tactic ${t.label}; seed ${opts.seed})`], v);
        if (isFatal(e)) {
          handle = null;
          if (!(await afterFatal(t, describeError(e)))) break;
        }
      } finally {
        p.runPhase = 'verify_runs';
        timeMs += performance.now() - t0;
      }
    }
    if (handle !== null) await (await slot.get()).release(handle).catch(() => undefined);
    if (aborted !== undefined) return { bucket, choice: null, results: out, note: aborted };
    const timed = out.filter((r) => r.timing && list.some((t) => t.label === r.tactic));
    const best = timed.reduce<TacticResult | null>((a, r) => (a === null || r.timing!.medianMs < a.timing!.medianMs ? r : a), null);
    if (!best) return { bucket, choice: null, results: out, note: 'no tactic passed verification' };
    const d = def ? out.find((r) => r.tactic === def.tactic.label) : undefined;
    const choice: BucketChoice = {
      tactic: best.tactic, medianMs: best.timing!.medianMs, spread: best.timing!.spread, error: best.timing!.error, repeats: best.timing!.repeats,
      stop: best.timing!.stop, clock: best.timing!.clock,
      defaultTactic: def?.tactic.label ?? '(none)', defaultMs: d?.timing?.medianMs ?? null, verified: timed.length,
    };
    return { bucket, choice, results: out };
  }
}

const UNSUPPORTED = Symbol('unsupported');

async function prepareOn(p: Provider, c: Case): Promise<unknown> {
  try {
    return await p.prepare(c);
  } catch (e) {
    if (isUnsupported(e)) return UNSUPPORTED;
    throw e;
  }
}
