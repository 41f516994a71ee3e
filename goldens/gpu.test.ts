/**
 * Every valid tactic of the native CUDA kernel on every golden case (stored inputs, read
 * from the safetensors files exactly as a kernel receives them), judged by the harness's
 * comparator against the reference (goldens/judgeGolden.ts).
 *
 * Without a CUDA device the suite is skipped LOUDLY (a skipped test whose title says why,
 * plus a warning on stderr); with MOE_HARNESS_REQUIRE_GPU=1 it fails instead.
 */
import test from 'ava';
import { NativeKernel } from '../harness/kernels/native.js';
import { deviceInfo, nativeStatus } from '../native/index.js';
import { describeProblem } from '../reference/problem.js';
import { loadGoldenCase } from './goldenFiles.js';
import { judgeGoldenOnKernel } from './judgeGolden.js';
import { assertGoldenFiles, readManifest } from './manifest.js';

const REQUIRE_GPU = process.env.MOE_HARNESS_REQUIRE_GPU === '1';
const manifest = readManifest();

async function gpuUnavailableReason(): Promise<string | null> {
  const s = nativeStatus();
  if (!s.loaded) return `native addon not loaded: ${s.reason ?? 'unknown reason'}`;
  if (!s.builtWithCuda) return `native addon built without CUDA${s.reason ? `: ${s.reason}` : ''}`;
  try {
    await deviceInfo();
    return null;
  } catch (e) {
    return `no CUDA device: ${(e as Error).message}`;
  }
}

const unavailable = await gpuUnavailableReason();

if (unavailable !== null && !REQUIRE_GPU) {
  const msg = `GPU SUITE SKIPPED (goldens/gpu.test.ts): ${unavailable}. Set MOE_HARNESS_REQUIRE_GPU=1 to make this a failure.`;
  console.warn(`\n*** ${msg} ***\n`);
  test.skip(`golden cases on every native tactic — ${msg}`, () => {});
} else if (unavailable !== null) {
  test('golden cases on every native tactic (MOE_HARNESS_REQUIRE_GPU=1)', (t) => {
    t.fail(`MOE_HARNESS_REQUIRE_GPU=1 but the GPU suite cannot run: ${unavailable}`);
  });
} else {
  const supported: string[] = [];
  const unsupported: string[] = [];

  test.serial('device and golden files', async (t) => {
    const d = await deviceInfo();
    t.log(`device ${d.name} (sm ${d.sm}, ${(d.memoryBytes / 2 ** 30).toFixed(1)} GiB)`);
    t.notThrows(() => assertGoldenFiles(manifest));
  });

  for (const entry of manifest.cases) {
    test.serial(`${entry.name}: every valid native tactic passes`, async (t) => {
      const golden = loadGoldenCase(entry);
      const p = golden.case.spec.problem;
      const j = await judgeGoldenOnKernel(new NativeKernel(), golden);
      if (j.tactics.length === 0) {
        unsupported.push(entry.name);
        t.log(`NOT SUPPORTED by the native kernel (no valid tactic): ${describeProblem(p)}`);
        t.pass();
        return;
      }
      supported.push(entry.name);
      t.log(`${j.tactics.length} tactic(s): ${j.tactics.join(' ')}`);
      t.deepEqual(j.failures, [], `${entry.name} (${describeProblem(p)}):\n${j.failures.join('\n')}`);
    });
  }

  test.serial('the native kernel supports at least one golden case', (t) => {
    t.log(`supported: ${supported.length} (${supported.join(', ')}); not supported: ${unsupported.length} (${unsupported.join(', ') || 'none'})`);
    t.true(supported.length > 0, 'the native kernel enumerates no tactic for any golden case');
  });
}
