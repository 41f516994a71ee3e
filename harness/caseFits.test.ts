/**
 * caseFits.ts: a case is refused by the host and device estimates only (no size wall), with a
 * message naming the option, the estimate and what is free; the native addon's device estimate
 * (native/src/deviceMemoryEstimate.h) agrees with the prepared layout computed here.
 */
import test from 'ava';
import { configProblem } from '../reference/configs.js';
import { BadArgumentError } from '../reference/errors.js';
import { generationBytes, referenceBytes } from '../reference/resourceEstimate.js';
import { checkCasesFit, checkDeviceFits, checkHostFits, hostCaseBytes, type DeviceMemoryProbe } from './caseFits.js';
import { deviceMemoryEstimate, nativeStatus } from '../native/index.js';
import { main } from './cli.js';

const GIB = 2 ** 30;
const ds = configProblem('deepseek-v3', 256);
const opts = { kernelKind: 'native', isolation: 'child', precision: 'float32', repeats: 2, threads: 16 } as const;

test('host estimate of full DeepSeek-V3 T=256: two generated cases, the addon\'s copy, the reference, the outputs', (t) => {
  const parts = hostCaseBytes(ds, opts);
  t.is(parts['case (campaign)'], generationBytes(ds));
  t.is(parts['case (child)'], generationBytes(ds));
  t.is(parts['float32 reference'], referenceBytes(ds, 'float32', 16));
  t.is(parts.outputs, 2 * 2 * (2 * 256 * 7168 + 8 * 256 * 8));
  // 256 experts × 3 × 2048 × 7168 FP4 values with one scale byte per 16: 5.91 GiB per copy.
  t.true(Math.abs(parts['native prepare copy']! / GIB - 5.91) < 0.01, String(parts['native prepare copy']! / GIB));
  t.false('case (child)' in hostCaseBytes(ds, { ...opts, isolation: 'inline' }));
  t.false('native prepare copy' in hostCaseBytes(ds, { ...opts, kernelKind: 'emulated' }));
});

test('no 4 GiB wall: full DeepSeek-V3 passes a large budget and is refused by a small one with the figures', (t) => {
  t.notThrows(() => checkHostFits(ds, '--T / --local-experts', opts, { bytes: 200 * GIB, source: 'test' }));
  const e = t.throws(() => checkHostFits(ds, '--T / --local-experts', opts, { bytes: 20 * GIB, source: 'test budget' }));
  t.true(e instanceof BadArgumentError && e.argument === '--T / --local-experts', String(e));
  t.regex(e!.message, /at most 20\.0 GiB \(test budget\).*an estimated \d+\.\d+ GiB for deepseek-v3 T=256 \(localExperts=256\): case \(campaign\) 5\.9\d GiB, case \(child\)/);
});

const fakeProbe = (freeBytes: number | null): DeviceMemoryProbe => ({
  estimate: () => ({ peak: 10 * GIB, inputs: GIB, weights: 6 * GIB, scratch: 2 * GIB, splitK: 0, output: GIB }),
  device: async () => (freeBytes === null ? null : { name: 'Fake GPU', freeBytes, totalBytes: 80 * GIB }),
});

test('device estimate: refused when above the free memory, naming both; accepted when it fits or without a device', async (t) => {
  await t.notThrowsAsync(() => checkDeviceFits(ds, '--T', fakeProbe(11 * GIB)));
  await t.notThrowsAsync(() => checkDeviceFits(ds, '--T', fakeProbe(null)));
  const e = await t.throwsAsync(() => checkDeviceFits(ds, '--T', fakeProbe(9 * GIB)));
  t.true(e instanceof BadArgumentError && e.argument === '--T', String(e));
  t.regex(e!.message, /device memory free now: 9\.00 GiB of 80\.0 GiB on Fake GPU \(cudaMemGetInfo\), got an estimated 10\.0 GiB for deepseek-v3 T=256.*prepared weights 6\.00 GiB/);
  // checkCasesFit asks the device only for the native kernel; the host first.
  const budget = { bytes: 200 * GIB, source: 'test' };
  await t.notThrowsAsync(() => checkCasesFit([ds], '--T', { ...opts, kernelKind: 'emulated' }, { probe: fakeProbe(GIB), budget }));
  const d = await t.throwsAsync(() => checkCasesFit([ds, ds], '--T', opts, { probe: fakeProbe(GIB), budget }));
  t.regex(String(d), /device memory free now: 1\.00 GiB/);
  const h = await t.throwsAsync(() => checkCasesFit([ds], '--T', opts, { probe: fakeProbe(GIB), budget: { bytes: GIB, source: 'tiny' } }));
  t.regex(String(h), /--T: expected a case that fits in the memory available: at most 1\.00 GiB \(tiny\), got an estimated 5\.91 GiB to generate/);
});

const status = nativeStatus();
if (!status.loaded) {
  console.warn(`[moe-harness] WARNING: native addon not loaded (${status.reason ?? '?'}): the device-estimate check is SKIPPED`);
  test.skip('device estimate of the addon: SKIPPED (addon not loaded)', () => undefined);
} else {
  test('the addon\'s device estimate: the prepared layout of full DeepSeek-V3, split-K only where a split-K tactic is valid', (t) => {
    const e = deviceMemoryEstimate(ds);
    // Prepared weights (native/src/cuda/weight_layout.cuh): K padded to pairs of 64-element tiles
    // (112 and 32 tiles here, both even), 32 data + 4 scale bytes per row per tile.
    const w = 256 * (2 * 2048 * (7168 / 64) * 36 + 7168 * (2048 / 64) * 36);
    t.is(e.weights, w);
    t.is(e.splitK, 4 * 256 * 8 * 7168 * 4, 'I = 2048: 32 K tiles, 4 slices');
    t.is(e.output, 256 * 7168 * 2);
    t.is(e.peak, e.inputs + e.weights + Math.max(e.staging, e.scratch + e.splitK + e.output) + e.slack);
    t.is(e.items.reduce((s, i) => s + i.bytes, 0), e.inputs + e.weights + e.staging + e.scratch + e.splitK + e.output);
    // T = 37450 (T·k·H > 2^31): the split-K workspace would exceed 8 GiB, so no split-K tactic and no workspace.
    const big = deviceMemoryEstimate(configProblem('deepseek-v3', 37450));
    t.is(big.splitK, 0);
    t.true(big.peak > 15 * GIB && big.peak < 25 * GIB, `${big.peak / GIB} GiB`);
    const bad = t.throws(() => deviceMemoryEstimate({ ...ds, T: 0 }));
    t.true(bad instanceof BadArgumentError || (bad as Error).name === 'UnsupportedProblemError', String(bad));
  });
}

// Serial: it sets an environment variable that the file's other tests read.
test.serial('check --config deepseek-v3 --T 256 is refused by memory only (no size wall), naming the options and the estimate', async (t) => {
  const before = process.env.MOE_HARNESS_MEMORY_BYTES;
  process.env.MOE_HARNESS_MEMORY_BYTES = String(8 * GIB);
  const out: string[] = [];
  const err: string[] = [];
  try {
    t.is(await main(['check', '--config', 'deepseek-v3', '--T', '256', '--kernel', 'emulated', '--runs', '1'], { out: (s) => out.push(s), err: (s) => err.push(s) }), 2);
  } finally {
    if (before === undefined) delete process.env.MOE_HARNESS_MEMORY_BYTES;
    else process.env.MOE_HARNESS_MEMORY_BYTES = before;
  }
  const text = err.join('\n');
  t.notRegex(text, /4 GiB/);
  t.regex(text, /--T \/ --local-experts: expected a case that fits in the host memory available: at most 8\.00 GiB \(MOE_HARNESS_MEMORY_BYTES\), got an estimated/);
});
