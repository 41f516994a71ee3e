/**
 * Cold L2 (harness/tune/timingModes.ts) at the addon's door: run's options.flushL2Bytes is
 * checked (an integer number of bytes in [0, 2^36], named when wrong) before anything reaches
 * the GPU; status().flushL2 says the addon honours it, and the native provider reports the
 * capability (timing.coldL2) from it, with CUDA-graph replay unsupported. On a GPU: a run
 * with the flush echoes the bytes written and gives the same output bits as one without (the
 * flush is scratch only); without a CUDA device that part is SKIPPED loudly (a failure under
 * MOE_HARNESS_REQUIRE_GPU=1).
 */
import test from 'ava';
import { configProblem } from '../reference/configs.js';
import { generateCase } from '../reference/generate.js';
import { nativeBindingForTests, nativeStatus, prepare, release, runMoe, validTactics } from './index.js';
import { GPU_REQUIRED, probeGpu } from './testing.js';

// Probed before any test is declared (ava wants every declaration synchronous after it).
const probe = await probeGpu();
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

if (!probe.ok) {
  const msg = `no CUDA device (${probe.why}): the cold-L2 GPU test is SKIPPED`;
  console.warn(`[moe-harness] WARNING: ${msg}`);
  if (GPU_REQUIRED) test('cold L2 on the GPU (MOE_HARNESS_REQUIRE_GPU=1)', (t) => t.fail(msg));
  else test.skip(`cold L2 on the GPU: ${msg}`, () => {});
} else {
  test.serial('a flushed run echoes the bytes written and gives the same output bits as an unflushed one', async (t) => {
    const p = configProblem('qwen3-30b-a3b', 19, { H: 128, I: 96, E: 8, localExperts: 8, topK: 2 });
    const h = await prepare(generateCase({ problem: p, seed: 5, logitFamily: 'normal', scaleFamily: 'normal' }));
    try {
      for (const tactic of validTactics(p)) {
        const warm = await runMoe(h, { tactic, poison: 0x7fc1 });
        const cold = await runMoe(h, { tactic, poison: 0x7fc1, flushL2Bytes: 64 * 2 ** 20 });
        t.is(warm.flushedL2Bytes, 0);
        t.is(cold.flushedL2Bytes, 64 * 2 ** 20);
        t.deepEqual(cold.output, warm.output, `${tactic.tileTokens}/${tactic.config}`);
        t.true(cold.ms > 0);
      }
    } finally {
      release(h);
    }
  });
}
