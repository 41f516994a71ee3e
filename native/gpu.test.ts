/**
 * The native MoE on a real GPU against the reference (float64 oracle) for small
 * problems: every valid tactic, determinism, poison, input digests, release.
 * Without a CUDA device the suite is skipped LOUDLY; with MOE_HARNESS_REQUIRE_GPU=1 it fails.
 */
import test from 'ava';
import type { CaseSpec } from '../reference/case.js';
import { configProblem } from '../reference/configs.js';
import { BadArgumentError } from '../reference/errors.js';
import { bf16ArrayToF32 } from '../reference/formats/bf16.js';
import { generateCase } from '../reference/generate.js';
import { runReference } from '../reference/moe.js';
import type { Problem } from '../reference/problem.js';
import { inputsDigest, prepare, release, runMoe, validTactics } from './index.js';
import { GPU_REQUIRED, probeGpu } from './testing.js';

const probe = await probeGpu();

function relL2(a: Float32Array, b: Float32Array): number {
  let num = 0;
  let den = 0;
  for (let i = 0; i < a.length; i++) {
    const d = a[i]! - b[i]!;
    num += d * d;
    den += b[i]! * b[i]!;
  }
  return den > 0 ? Math.sqrt(num / den) : Math.sqrt(num);
}

const PROBLEMS: Problem[] = [
  configProblem('qwen3-30b-a3b', 19, { H: 128, I: 96, E: 8, localExperts: 8, topK: 2 }),
  configProblem('gpt-oss-120b', 9, { H: 256, I: 64, E: 8, localExperts: 4, localOffset: 2, topK: 2 }),
  configProblem('deepseek-lite', 13, { H: 128, I: 64 }),
  configProblem('llama4-maverick', 11, { H: 128, I: 128, E: 4, localExperts: 4 }),
  configProblem('mixtral-8x7b', 5, { H: 64, I: 512, quantMode: 'mxfp4_bf16' }),
];

if (!probe.ok) {
  const msg = `no CUDA device (${probe.why}): the native GPU suite is SKIPPED`;
  console.warn(`[moe-harness] WARNING: ${msg}`);
  if (GPU_REQUIRED) test('native GPU suite (MOE_HARNESS_REQUIRE_GPU=1)', (t) => t.fail(msg));
  else test.skip(`native GPU suite: ${msg}`, () => {});
} else {
  test.serial(`device ${probe.device.name} ${probe.device.sm}`, (t) => {
    t.regex(probe.device.sm, /^sm_(9|1\d)\d$/, 'the addon holds sm_90a/sm_100a code');
  });
  for (const [i, p] of PROBLEMS.entries()) {
    test.serial(`every tactic matches the reference: ${p.name} (${p.T}x${p.H}x${p.I}, ${p.quantMode})`, async (t) => {
      const spec: CaseSpec = { problem: p, seed: 100 + i, logitFamily: 'normal', scaleFamily: 'normal' };
      const c = generateCase(spec);
      const expected = await runReference(c, { precision: 'float64' });
      const ref = bf16ArrayToF32(expected.outputBf16);
      const h = await prepare(c);
      const digest = await inputsDigest(h);
      try {
        for (const tactic of validTactics(p)) {
          const label = `${tactic.tileTokens}/${tactic.config}`;
          const a = await runMoe(h, { tactic, poison: 0x7fc1 });
          const b = await runMoe(h, { tactic, poison: 0x1234 });
          const out = bf16ArrayToF32(a.output);
          t.false(out.some((v) => Number.isNaN(v)), `${label}: NaN or unwritten (poison) output`);
          t.deepEqual(a.output, b.output, `${label}: not deterministic (or poison-dependent)`);
          t.deepEqual(a.ids, expected.routing.ids, `${label}: routing differs from the reference`);
          const err = relL2(out, ref);
          t.true(err <= 1e-2, `${label}: relative L2 error ${err}`);
          t.log(`${label}: relL2 ${err.toExponential(2)}, ${a.ms.toFixed(3)} ms`);
        }
        const bad = await t.throwsAsync(() => runMoe(h, { tactic: { tileTokens: 24, config: 0 } }));
        t.true(bad instanceof BadArgumentError && bad.argument === 'tactic', String(bad));
        t.is(await inputsDigest(h), digest, 'inputs changed on the device');
      } finally {
        release(h);
      }
      const after = await t.throwsAsync(() => runMoe(h, { tactic: validTactics(p)[0]! }));
      t.true(after instanceof BadArgumentError, String(after));
    });
  }
}
