import test from 'ava';
import { testProblem } from '../../reference/testing/testProblem.js';
import type { TuneEnvironment } from './environment.js';
import { referenceJudge, type TuneJudge, type TuneJudgeInput } from './judge.js';
import type { Case } from '../../reference/case.js';
import type { Conventions } from '../../reference/conventions.js';
import { formatPhases, PhaseClock, TUNE_PHASES } from './phases.js';
import { ScriptedProvider, type Script } from './scriptedProvider.js';
import type { NoisePolicy } from './timing.js';
import { tune, type ReferenceSchedule } from './tuner.js';

const env: TuneEnvironment = { device: 'cpu', smCount: 0, driver: 'none', kernel: 'scripted(emulated)', kernelBuild: 'emulated@2', harnessVersion: 'test' };

test('PhaseClock: a nested phase is charged to itself and taken out of the outer one', async (t) => {
  let now = 0;
  const clock = new PhaseClock(() => now);
  await clock.time('judge', async () => {
    now += 2;
    await clock.time('reference', async () => { now += 5; });
    now += 3;
  });
  clock.timeSync('generate', () => { now += 1; });
  clock.referenceComputed(7);
  const p = clock.snapshot();
  t.is(p.ms.judge, 5);
  t.is(p.ms.reference, 5);
  t.is(p.ms.generate, 1);
  t.is(p.calls.judge, 1);
  t.is(p.calls.reference, 1);
  t.is(p.referenceComputedMs, 7);
  t.is(p.references, 1);
  t.regex(formatPhases(p, 20), /^generate 0\.0 s \(1\), reference 0\.0 s waited \(1 computed in 0\.0 s, 0\.0 s hidden behind the kernel's runs\), prepare 0\.0 s \(0\), .*timing 0\.0 s \(0\), release 0\.0 s \(0\), other 0\.0 s$/);
});

test("a tune reports every phase: calls counted exactly, digests' time where it was spent, phases within the elapsed time", async (t) => {
  const policy: NoisePolicy = { warmup: 2, minRepeats: 3, maxRepeats: 3, batch: 1, errorLimit: 0.5 };
  const script: Script = { wrong: ['16/1'], digestDelayMs: 15 };
  let provider: ScriptedProvider | undefined;
  const r = await tune({
    kernel: { kind: 'emulated' }, problem: testProblem({ T: 4, H: 128 }), maxTokens: 4, buckets: [2, 4], seed: 11,
    policy, judge: referenceJudge(), environment: env, createProvider: async () => (provider = new ScriptedProvider(script)),
  });
  // At T=2 and T=4 the emulated kernel enumerates 8/0 8/1 8/2 16/0 16/1 16/2: 6 tactics per bucket, 16/1 wrong.
  const tactics = 12;
  const passed = 10;
  const c = r.phases.calls;
  t.is(c.generate, 3, 'the shared weights once (every core), then one tuning case per bucket');
  t.is(c.prepare, 2);
  t.is(c.release, 2);
  t.is(c.verify_runs, 2 * tactics, 'two poisoned verification runs per tactic');
  t.is(c.digests, 2 * tactics, 'a digest before and after each verification');
  t.is(c.judge, tactics, 'every tactic judged');
  t.is(c.timing, passed * (policy.warmup + policy.minRepeats), 'warm-up and repeats of the tactics that passed only');
  t.is(provider!.runs.length, c.verify_runs + c.timing, 'every run charged to one phase');
  t.is(r.phases.references, 2, 'one reference per bucket');
  t.true(r.phases.ms.digests >= 2 * tactics * 14, `digests took ${r.phases.ms.digests} ms`);
  const sum = TUNE_PHASES.reduce((a, p) => a + r.phases.ms[p], 0);
  t.true(sum <= r.elapsedMs + 1e-6, `phases ${sum} ms within elapsed ${r.elapsedMs} ms`);
  for (const p of TUNE_PHASES) t.true(r.phases.ms[p] >= 0, p);
  t.true(r.phases.referenceComputedMs > 0);
  t.is(r.referenceSchedule, 'ahead');
});

test('references ahead hide their compute behind the kernel runs; on demand they are all waited for (a judge whose reference takes 200 ms)', async (t) => {
  const policy: NoisePolicy = { warmup: 0, minRepeats: 1, maxRepeats: 1, batch: 1, errorLimit: 0.5 };
  const REF_MS = 200;
  const slowJudge = (): TuneJudge => {
    const refs = new Map<Case, Promise<void>>();
    const reference = (c: Case, clock?: PhaseClock): Promise<void> => {
      let p = refs.get(c);
      if (!p) {
        const t0 = performance.now();
        p = new Promise<void>((r) => setTimeout(r, REF_MS)).then(() => clock?.referenceComputed(performance.now() - t0));
        refs.set(c, p);
      }
      return p;
    };
    return Object.assign(async ({ case: c, clock }: TuneJudgeInput) => {
      await (clock ? clock.time('reference', () => reference(c, clock)) : reference(c));
      return { disposition: 'passed' as const, lines: [] };
    }, { prefetch: async (c: Case, _conv: Conventions, clock?: PhaseClock) => reference(c, clock) });
  };
  // Each bucket's kernel work: 6 tactics × 2 digests × 40 ms = 480 ms, longer than a reference.
  const run = (referenceSchedule: ReferenceSchedule) => tune({
    kernel: { kind: 'emulated' }, problem: testProblem({ T: 4, H: 128 }), maxTokens: 4, buckets: [1, 2, 4], seed: 11, policy,
    judge: slowJudge(), environment: env, referenceSchedule, createProvider: async () => new ScriptedProvider({ digestDelayMs: 40 }),
  });
  const ahead = await run('ahead');
  const onDemand = await run('on_demand');
  const hidden = (r: typeof ahead) => r.phases.referenceComputedMs - r.phases.ms.reference;
  t.is(ahead.phases.references, 3);
  t.is(onDemand.phases.references, 3);
  t.true(onDemand.phases.ms.reference >= 3 * REF_MS * 0.95, `on demand waits for every reference: ${onDemand.phases.ms.reference} ms`);
  t.true(hidden(onDemand) < REF_MS / 2, `on demand hides nothing: ${hidden(onDemand)} ms`);
  // Ahead: the first bucket's reference overlaps only prepare and the first verification; the next two are computed during the bucket before.
  t.true(hidden(ahead) >= 2 * REF_MS * 0.9, `ahead hides at least the two later references: ${hidden(ahead)} ms`);
  t.true(ahead.elapsedMs < onDemand.elapsedMs, `ahead ${ahead.elapsedMs} ms, on demand ${onDemand.elapsedMs} ms`);
});
