import test from 'ava';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { emptyCache, lookupTactic, readTuneCache, withEntry, writeTuneCache } from './cache.js';
import { checkCache } from './checkCache.js';
import { referenceJudge, type TuneJudge, type TuneJudgeInput } from './judge.js';
import type { Case } from '../../reference/case.js';
import type { Conventions } from '../../reference/conventions.js';
import type { PhaseClock } from './phases.js';
import { ScriptedProvider, type Script } from './scriptedProvider.js';
import { testProblem } from '../../reference/testing/testProblem.js';
import type { TuneEnvironment } from './environment.js';
import { tune, type ReferenceSchedule, type TuneOptions } from './tuner.js';
import type { NoisePolicy } from './timing.js';

const env: TuneEnvironment = { device: 'cpu', smCount: 0, driver: 'none', kernel: 'scripted(emulated)', kernelBuild: 'emulated@2', harnessVersion: 'test' };
const policy: NoisePolicy = { warmup: 1, minRepeats: 3, maxRepeats: 6, batch: 3, errorLimit: 0.01 };

function opts(script: Script, extra: Partial<TuneOptions> = {}): TuneOptions & { provider: () => ScriptedProvider } {
  let last: ScriptedProvider | undefined;
  const createProvider = async () => (last = new ScriptedProvider(script));
  return {
    kernel: { kind: 'emulated', ...(script.fault ? { fault: script.fault } : {}) }, problem: testProblem({ T: 4, H: 128 }), maxTokens: 4, buckets: [4], seed: 11,
    policy, judge: referenceJudge(), createProvider, environment: env, ...extra, provider: () => last!,
  };
}

// At T=4 the emulated kernel enumerates 8/0 8/1 8/2 16/0 16/1 16/2 (tileTokens <= 16).
test('the fastest tactic wins when every tactic verifies; the default is timed too', async (t) => {
  const o = opts({ ms: { '8/0': 5, '8/1': 4, '8/2': 3, '16/0': 6, '16/1': 2, '16/2': 7 } });
  const r = await tune(o);
  const c = r.entry.buckets['4']!;
  t.is(c.tactic, '16/1');
  t.is(c.medianMs, 2);
  t.is(c.defaultTactic, '8/0');
  t.is(c.defaultMs, 5);
  t.is(c.verified, 6);
  t.deepEqual(r.blocklist, []);
  t.is(c.stop, 'settled');
});

test('a fastest-but-wrong tactic is blocklisted with finding and replay, never selected', async (t) => {
  const o = opts({ ms: { '16/1': 0.5, '8/2': 1 }, wrong: ['16/1'] });
  const r = await tune(o);
  t.is(r.entry.buckets['4']!.tactic, '8/2');
  t.is(r.blocklist.length, 1);
  const b = r.blocklist[0]!;
  t.is(b.tactic, '16/1');
  t.is(b.disposition, 'incorrect');
  t.regex(b.findings[0]!, /^out\[t=0,h=0\]=1024, reference .*tactic 16\/1; seed 11\)$/);
  t.regex(b.replay, /^npx moe-harness replay --case '.*"seed":11.*' --tactic 16\/1 --kernel emulated$/);
  // verification first: the wrong tactic ran only its two verification runs, never timed
  t.is(o.provider().calls.get('16/1'), 2);
  t.is(o.provider().calls.get('8/2'), 2 + policy.warmup + policy.minRepeats);
});

test('catalog fault tactic_skips_last_k_block: the one faulty tactic is blocklisted even when fastest', async (t) => {
  // The fault hits the largest tileTokens with config 0: 16/0 at T=4. Script it as the fastest.
  const o = opts({ fault: 'tactic_skips_last_k_block', ms: { '16/0': 0.1 } });
  const r = await tune(o);
  t.deepEqual(r.blocklist.map((b) => b.tactic), ['16/0']);
  t.is(r.blocklist[0]!.disposition, 'incorrect');
  t.true(r.blocklist[0]!.findings.length > 0);
  t.regex(r.blocklist[0]!.replay, /--fault tactic_skips_last_k_block$/);
  t.not(r.entry.buckets['4']!.tactic, '16/0');
});

test('a crashing tactic is blocklisted as crashed; one that lies about its tactic while timed is blocklisted as incorrect', async (t) => {
  const o = opts({ ms: { '8/1': 0.1, '16/2': 0.2, '8/2': 0.3 }, crash: ['8/1'], lieWhenTimed: ['16/2'] });
  const r = await tune(o);
  const by = Object.fromEntries(r.blocklist.map((b) => [b.tactic, b.disposition]));
  t.deepEqual(by, { '8/1': 'crashed', '16/2': 'incorrect' });
  t.regex(r.blocklist.find((b) => b.tactic === '16/2')!.findings[0]!, /^tactic=another tactic executed while timed, reference the forced tactic \(Error: kernel .* was forced to tactic 16\/2 but reports executing "other" during timing; tactic 16\/2; seed 11\)$/);
  t.is(r.entry.buckets['4']!.tactic, '8/2');
});

test('no tactic verifies: the bucket has no choice (lookup then falls back to the default)', async (t) => {
  const all = ['8/0', '8/1', '8/2', '16/0', '16/1', '16/2'];
  const r = await tune(opts({ wrong: all }));
  t.false('4' in r.entry.buckets);
  t.is(r.blocklist.length, 6);
  t.is(r.buckets[0]!.note, 'no tactic passed verification');
});

test('cache: hit by bucket, miss falls back with a warning, stale and inconsistent entries refused loudly', async (t) => {
  const o = opts({ ms: { '16/1': 1, '8/0': 3 } }, { maxTokens: 8, buckets: [4, 8] });
  const r = await tune(o);
  const file = join(mkdtempSync(join(tmpdir(), 'tune-')), 'cache.json');
  writeTuneCache(file, withEntry(emptyCache(env), r.entry));
  const cache = readTuneCache(file);
  const kernel = new ScriptedProvider();
  const kernelView = async (T: number) => {
    const p = testProblem({ T, H: 128 });
    const list = (await kernel.tactics(p)).tactics;
    return { enumerated: list, atBucket: () => list, fallback: list[0]! };
  };
  // T=3 and T=4 use bucket 4
  const hit = lookupTactic(cache, env, testProblem({ T: 3, H: 128 }), await kernelView(3));
  t.deepEqual([hit.kind, hit.bucket, hit.tactic.label], ['hit', 4, '16/1']);
  // a problem not tuned: default + warning
  const other = testProblem({ T: 3, H: 128, quantMode: 'mxfp4_bf16' });
  const miss = lookupTactic(cache, env, other, await kernelView(3));
  t.is(miss.kind, 'miss');
  t.is(miss.tactic.label, '8/0');
  t.regex(miss.kind === 'miss' ? miss.warning : '', /^warning: the tune cache has no entry for this problem.*running the kernel's default tactic 8\/0 untuned/);
  // a bucket not tuned (T=2 → bucket 2): default + warning
  const m2 = lookupTactic(cache, env, testProblem({ T: 2, H: 128 }), await kernelView(2));
  t.regex(m2.kind === 'miss' ? m2.warning : '', /no choice for bucket 2/);
  // another driver / build / device: refused, naming each field
  t.throws(() => lookupTactic(cache, { ...env, driver: '560.35', kernelBuild: 'emulated@3' }, testProblem({ T: 4, H: 128 }), { enumerated: [], atBucket: () => [], fallback: hit.tactic }),
    { name: 'StaleCacheError', message: /refused.*driver: cached "none", now "560.35"; kernelBuild: cached "emulated@2", now "emulated@3"/ });
  // the kernel no longer enumerates the cached tactic: refused
  const v4 = await kernelView(4);
  t.throws(() => lookupTactic(cache, env, testProblem({ T: 4, H: 128 }), { ...v4, atBucket: () => v4.enumerated.filter((x) => x.label !== '16/1') }),
    { name: 'StaleCacheError', message: /no longer enumerates at T=4/ });
  // a choice on its own blocklist: refused
  const sig = Object.keys(cache.problems)[0]!;
  const bad = { ...cache, problems: { [sig]: { ...cache.problems[sig]!, blocklist: [{ tactic: '16/1', bucket: 4, disposition: 'incorrect' as const, findings: [], replay: '' }] } } };
  t.throws(() => lookupTactic(bad, env, testProblem({ T: 4, H: 128 }), v4), { name: 'StaleCacheError', message: /blocklists/ });
  // tuned at the bucket's T but not runnable at this T: default with a warning
  const v3 = await kernelView(3);
  const m3 = lookupTactic(cache, env, testProblem({ T: 3, H: 128 }), { ...v3, enumerated: v3.enumerated.filter((x) => x.label !== '16/1') });
  t.regex(m3.kind === 'miss' ? m3.warning : '', /cannot run at T=3/);
});

test('tune --check re-verifies every cached choice: passes as tuned, fails when the kernel went wrong, refuses another environment', async (t) => {
  const r = await tune(opts({ ms: { '16/1': 1 } }, { maxTokens: 8, buckets: [4, 8] }));
  const cache = withEntry(emptyCache(env), r.entry);
  const base = { kernel: { kind: 'emulated' }, judge: referenceJudge(), file: 'c.json', environment: env };
  const good = await checkCache(cache, { ...base, createProvider: async () => new ScriptedProvider() });
  t.deepEqual(good.map((c) => [c.bucket, c.tactic, c.disposition]), [[4, '16/1', 'passed'], [8, '16/1', 'passed']]);
  const bad = await checkCache(cache, { ...base, createProvider: async () => new ScriptedProvider({ wrong: ['16/1'] }) });
  t.deepEqual(bad.map((c) => c.disposition), ['incorrect', 'incorrect']);
  t.regex(bad[0]!.lines[0]!, /out\[t=0,h=0\]=1024/);
  await t.throwsAsync(() => checkCache(cache, { ...base, environment: { ...env, smCount: 132 }, createProvider: async () => new ScriptedProvider() }), { name: 'StaleCacheError', message: /smCount: cached 0, now 132/ });
});

test('zero initializer by name: the tuning still verifies, and the replay is the tune command', async (t) => {
  const r = await tune(opts({ ms: { '16/1': 0.5 }, wrong: ['16/1'] }, { initializers: { hidden: 'zero' } }));
  t.is(r.entry.initializers, 'hidden=zero');
  t.regex(r.blocklist[0]!.replay, /^npx moe-harness tune --problem '.*' --max-tokens 4 --buckets 4 --seed 11 --tactic 16\/1 --init hidden=zero --kernel emulated$/);
});

test('a fatal (CUDA) error: an in-process kernel stops the tune loudly; a self-restarting kind restarts and goes on', async (t) => {
  const inProcess = await tune(opts({ ms: { '8/2': 1 }, fatal: ['8/1'] }, { maxTokens: 8, buckets: [4, 8] }));
  t.regex(inProcess.aborted ?? '', /^tactic 8\/1 raised a fatal error \(CudaError: scripted illegal address in tactic 8\/1\): .*poisoned.*tune stopped/);
  t.is(inProcess.abortCause, 'kernel_fatal_error');
  t.deepEqual(inProcess.blocklist.map((b) => [b.tactic, b.disposition]), [['8/1', 'crashed']]);
  t.deepEqual(inProcess.buckets.map((b) => b.bucket), [4], 'bucket 8 never ran');
  t.is(inProcess.buckets[0]!.choice, null);
  let starts = 0;
  const selfRestarting = await tune({
    ...opts({}), kernel: { kind: 'cmd', command: 'scripted' }, maxTokens: 8, buckets: [4, 8],
    createProvider: async () => { starts++; return new ScriptedProvider({ ms: { '8/2': 1 }, fatal: ['8/1'] }); },
  });
  t.is(selfRestarting.aborted, undefined);
  t.deepEqual(selfRestarting.blocklist.map((b) => `${b.tactic}@${b.bucket}`), ['8/1@4', '8/1@8']);
  t.is(selfRestarting.entry.buckets['8']!.tactic, '8/2');
  t.is(starts, 3, 'one start plus one restart per fatal error');
});

test('resolveTactic (library): hit from a tuned cache, miss → default with a warning, other build → refused', async (t) => {
  const { resolveTactic } = await import('./resolve.js');
  const r = await tune(opts({ ms: { '16/1': 1 } }, { maxTokens: 8, buckets: [8] }));
  const cache = withEntry(emptyCache(await (await import('./environment.js')).detectEnvironment(await new ScriptedProvider().describe())), r.entry);
  const k = new ScriptedProvider();
  const hit = await resolveTactic(cache, k, 'emulated', testProblem({ T: 6, H: 128 }));
  t.deepEqual([hit.kind, hit.bucket, hit.tactic.label], ['hit', 8, '16/1']);
  const miss = await resolveTactic(cache, k, 'emulated', testProblem({ T: 3, H: 128 }));
  t.deepEqual([miss.kind, miss.tactic.label], ['miss', '8/0']);
  await t.throwsAsync(() => resolveTactic(cache, new ScriptedProvider({ version: 'emulated@99' }), 'emulated', testProblem({ T: 6, H: 128 })), { name: 'StaleCacheError', message: /kernelBuild: cached "emulated@2", now "emulated@99"/ });
});

/** referenceJudge, except that judging `label` is a harness error (the reference failed). */
function harnessErrorOn(label: string): TuneOptions['judge'] {
  const real = referenceJudge();
  return async (input) => input.outcome.tactic.label === label
    ? { disposition: 'error', lines: [`error=judge failed (scripted reference failure; tactic ${label})`] }
    : real(input);
}

test('a harness error while judging a tactic: not blocklisted, not a pass: the tune stops and caches nothing', async (t) => {
  const r = await tune(opts({ ms: { '8/2': 1 } }, { maxTokens: 8, buckets: [4, 8], judge: harnessErrorOn('8/1') }));
  t.regex(r.aborted ?? '', /^the harness could not judge tactic 8\/1 at bucket 4 \(a harness error, not a kernel finding\): error=judge failed/);
  t.is(r.abortCause, 'harness_error');
  t.deepEqual(r.blocklist, [], 'a harness error is not the kernel\'s fault');
  t.deepEqual(r.buckets.map((b) => [b.bucket, b.choice]), [[4, null]], 'bucket 8 never ran; bucket 4 has no choice');
  t.deepEqual(r.entry.buckets, {});
});

test('tune --check: a harness error while judging a cached choice is reported as error, never as passed', async (t) => {
  const r = await tune(opts({ ms: { '16/1': 1 } }, { maxTokens: 8, buckets: [4, 8] }));
  const cache = withEntry(emptyCache(env), r.entry);
  const checked = await checkCache(cache, { kernel: { kind: 'emulated' }, judge: harnessErrorOn('16/1'), file: 'c.json', environment: env, createProvider: async () => new ScriptedProvider() });
  t.deepEqual(checked.map((c) => [c.bucket, c.disposition]), [[4, 'error'], [8, 'error']]);
  t.regex(checked[0]!.lines[0]!, /scripted reference failure/);
});

test('referenceJudge (harness/judge.ts): a reference that fails is a harness error (disposition error), not incorrect', async (t) => {
  const r = await tune(opts({ ms: { '16/1': 1 } }, { maxTokens: 4, buckets: [4] }));
  const cache = withEntry(emptyCache(env), r.entry);
  const failing = referenceJudge({ errorModel: () => { return { get fc1RelativeError(): number { throw new Error('scripted error-model failure'); } } as never; } });
  const checked = await checkCache(cache, { kernel: { kind: 'emulated' }, judge: failing, file: 'c.json', environment: env, createProvider: async () => new ScriptedProvider() });
  t.deepEqual(checked.map((c) => c.disposition), ['error']);
  t.regex(checked[0]!.lines.join('\n'), /scripted error-model failure/);
});

test("references ahead: the next bucket's reference starts while this bucket's tactics still run; the same choices as on demand", async (t) => {
  const ms = { '8/0': 5, '8/1': 4, '8/2': 3, '16/0': 6, '16/1': 2, '16/2': 7 };
  const base = referenceJudge();
  let provider: ScriptedProvider | undefined;
  const prefetched: Array<{ T: number; runsBefore: number }> = [];
  const judge: TuneJudge = Object.assign((i: TuneJudgeInput) => base(i), {
    prefetch: (c: Case, conventions: Conventions, clock?: PhaseClock) => {
      prefetched.push({ T: c.spec.problem.T, runsBefore: provider?.runs.length ?? 0 });
      return base.prefetch!(c, conventions, clock);
    },
  });
  const run = (referenceSchedule: ReferenceSchedule) => tune({
    ...opts({ ms }), buckets: [2, 4], judge, referenceSchedule, createProvider: async () => (provider = new ScriptedProvider({ ms })),
  });
  const ahead = await run('ahead');
  const runsAt2 = provider!.runs.filter((x) => x.T === 2).length;
  const first4 = prefetched.find((p) => p.T === 4);
  t.truthy(first4, 'bucket 4 prefetched');
  t.true(first4!.runsBefore < runsAt2, `bucket 4's reference started after ${first4!.runsBefore} of bucket 2's ${runsAt2} runs`);
  t.is(ahead.phases.references, 2);
  prefetched.length = 0;
  const onDemand = await run('on_demand');
  t.deepEqual(prefetched, [], 'on demand: nothing prefetched');
  t.is(onDemand.referenceSchedule, 'on_demand');
  t.deepEqual(Object.fromEntries(Object.entries(onDemand.entry.buckets).map(([b, c]) => [b, c.tactic])), Object.fromEntries(Object.entries(ahead.entry.buckets).map(([b, c]) => [b, c.tactic])));
  t.is(ahead.entry.buckets['4']!.tactic, '16/1');
});
