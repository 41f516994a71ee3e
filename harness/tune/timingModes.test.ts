import test from 'ava';
import { testProblem } from '../../reference/testing/testProblem.js';
import type { ProviderDescription } from '../kernels/provider.js';
import { DEFAULT_CONVENTIONS } from '../../reference/conventions.js';
import type { TuneEnvironment } from './environment.js';
import { referenceJudge } from './judge.js';
import { ScriptedProvider, type Script } from './scriptedProvider.js';
import type { NoisePolicy } from './timing.js';
import { applyTimingModes, DEFAULT_FLUSH_L2_BYTES, DEFAULT_TIMING_MODES, timedRunOptions } from './timingModes.js';
import { tune, type TuneOptions } from './tuner.js';

const env: TuneEnvironment = { device: 'cpu', smCount: 0, driver: 'none', kernel: 'scripted(emulated)', kernelBuild: 'emulated@2', harnessVersion: 'test' };
const policy: NoisePolicy = { warmup: 1, minRepeats: 3, maxRepeats: 3, batch: 1, errorLimit: 0.5 };
const d = (timing?: ProviderDescription['timing']): ProviderDescription => ({
  name: 'k', version: '1', device: 'cpu', quantModes: [], routingMethods: [], conventions: DEFAULT_CONVENTIONS, ...(timing ? { timing } : {}),
});

test('applyTimingModes: supported modes are used; an unsupported one is reported (timed without it) or refused naming the option', (t) => {
  const cold = { ...DEFAULT_TIMING_MODES, l2: 'cold' as const };
  const ok = applyTimingModes(cold, d({ coldL2: 'supported', graphReplay: 'unsupported' }), 'report');
  t.is(ok.used.l2, 'cold');
  t.deepEqual(ok.notes, []);
  t.deepEqual(timedRunOptions(ok.used), { flushL2Bytes: DEFAULT_FLUSH_L2_BYTES });
  const warm = applyTimingModes(cold, d(), 'report');
  t.is(warm.used.l2, 'warm');
  t.regex(warm.notes[0]!, /^cold L2 was requested but kernel k does not support L2 flushes between runs: timed with a WARM L2$/);
  t.deepEqual(timedRunOptions(warm.used), {});
  t.throws(() => applyTimingModes(cold, d({ coldL2: 'unsupported', graphReplay: 'unsupported' }), 'refuse'), { name: 'BadArgumentError', message: /^--l2: expected a kernel whose provider supports cold-L2 flushes .*, got k, which reports cold-L2 flushes unsupported$/ });
  const graph = applyTimingModes({ ...DEFAULT_TIMING_MODES, launch: 'graph' }, d(), 'report');
  t.is(graph.used.launch, 'stream');
  t.regex(graph.notes[0]!, /CUDA-graph replay was requested but kernel k does not support it: timed with STREAM launches/);
  t.throws(() => applyTimingModes({ ...DEFAULT_TIMING_MODES, launch: 'graph' }, d(), 'refuse'), { name: 'BadArgumentError', message: /^--launch: / });
  t.throws(() => applyTimingModes({ ...DEFAULT_TIMING_MODES, flushL2Bytes: 0 }, d(), 'report'), { name: 'BadArgumentError', message: /^flushL2Bytes: / });
  t.true(DEFAULT_FLUSH_L2_BYTES >= 2 * 126 * 2 ** 20, 'at least twice the largest L2 targeted (B200: 126 MiB)');
});

function opts(script: Script, extra: Partial<TuneOptions>): TuneOptions & { provider: () => ScriptedProvider } {
  let last: ScriptedProvider | undefined;
  return {
    kernel: { kind: 'emulated' }, problem: testProblem({ T: 4, H: 128 }), maxTokens: 4, buckets: [4], seed: 11, policy, judge: referenceJudge(),
    environment: env, createProvider: async () => (last = new ScriptedProvider(script)), ...extra, provider: () => last!,
  };
}

test('cold L2 on a provider that supports it: every timed run (warm-up included) asks for the flush, verification runs do not', async (t) => {
  const o = opts({ timing: { coldL2: 'supported', graphReplay: 'unsupported' } }, { timingModes: { ...DEFAULT_TIMING_MODES, l2: 'cold', flushL2Bytes: 1 << 20 } });
  const r = await tune(o);
  t.is(r.timingModes.used.l2, 'cold');
  t.deepEqual(r.entry.timedWith, { l2: 'cold', launch: 'stream' });
  const runs = o.provider().runs;
  const flushed = runs.filter((x) => x.options.flushL2Bytes === 1 << 20).length;
  t.is(flushed, 6 * (policy.warmup + policy.minRepeats));
  t.is(runs.length - flushed, 6 * 2, 'the two verification runs per tactic are not flushed');
});

test('cold L2 on a provider without it: never silently ignored (a warning, the result and the cache entry say warm), refused when required', async (t) => {
  const lines: string[] = [];
  const o = opts({}, { timingModes: { ...DEFAULT_TIMING_MODES, l2: 'cold' }, log: (l) => lines.push(l) });
  const r = await tune(o);
  t.is(r.timingModes.used.l2, 'warm');
  t.deepEqual(r.entry.timedWith, { l2: 'warm', launch: 'stream' });
  t.true(lines.some((l) => /^warning: cold L2 was requested but kernel scripted\(emulated\) does not support L2 flushes between runs: timed with a WARM L2$/.test(l)), lines.join('\n'));
  t.true(o.provider().runs.every((x) => x.options.flushL2Bytes === undefined));
  await t.throwsAsync(() => tune(opts({}, { timingModes: { ...DEFAULT_TIMING_MODES, l2: 'cold' }, unsupportedTiming: 'refuse' })), { name: 'BadArgumentError', message: /^--l2: / });
});
