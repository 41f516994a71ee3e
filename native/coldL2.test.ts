/**
 * Cold L2 (harness/tune/timingModes.ts) at the addon's door: run's options.flushL2Bytes is
 * checked (an integer number of bytes in [0, 2^36], named when wrong) before anything reaches
 * the GPU; status().flushL2 says the addon honours it, and the native provider reports the
 * capability (timing.coldL2) from it, with CUDA-graph replay unsupported. The flush itself
 * (a memset before the first timed event, echoed as flushedL2Bytes) needs a GPU: the GPU run
 * of the tune (bench:tune --l2 cold) exercises it.
 */
import test from 'ava';
import { nativeBindingForTests, nativeStatus } from './index.js';
import { NativeKernel } from '../harness/kernels/native.js';
import { makeTactic } from '../harness/kernels/provider.js';

test('run refuses a bad flushL2Bytes naming it, before looking at the handle', (t) => {
  const s = nativeStatus();
  if (!s.loaded) {
    t.log(`addon not loaded: ${s.reason ?? ''}`);
    t.pass();
    return;
  }
  const raw = nativeBindingForTests();
  for (const bad of [-1, 2 ** 36 + 1, 1.5]) {
    const err = t.throws(() => raw.run({}, { tactic: { tileTokens: 8, config: 0 }, flushL2Bytes: bad }));
    t.is((err as { code?: unknown }).code, 'MOE_BAD_ARGUMENT', String(bad));
    t.regex(err.message, /options\.flushL2Bytes/);
  }
  // A valid size passes this check: the junk handle is what is refused.
  const ok = t.throws(() => raw.run({}, { tactic: { tileTokens: 8, config: 0 }, flushL2Bytes: 256 * 2 ** 20 }));
  t.regex(ok.message, /^handle:/);
});

test("status says whether the addon flushes L2; the native provider's description reports it, and graph replay unsupported", async (t) => {
  const s = nativeStatus();
  if (!s.loaded || !s.builtWithCuda) {
    t.is(s.coldL2, 'unsupported', 'no CUDA addon: no flush');
    return;
  }
  t.is(s.coldL2, nativeBindingForTests().status().flushL2 === true ? 'supported' : 'unsupported');
  t.is(s.coldL2, 'supported', 'this build has the flush');
  const k = new NativeKernel();
  const d = await k.describe();
  t.deepEqual(d.timing, { coldL2: 'supported', graphReplay: 'unsupported' });
  await t.throwsAsync(() => k.run({} as never, makeTactic(8, 0), { poison: 0x7fa5, launch: 'graph' }), { name: 'BadArgumentError', message: /^options\.launch: / });
});
