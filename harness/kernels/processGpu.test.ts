/**
 * GPU suites of door 2: the PyTorch adapter (adapters/python/torch_adapter.py) judged over the
 * random case mix × every tactic (its self-check first), and our native kernel through the
 * process protocol (harness/kernels/nodeAdapter.ts) with the same dispositions as direct on
 * the same cases, plus one catalog fault caught through the door (faults build only).
 * Without torch + a CUDA device (resp. the native addon on a CUDA device) these tests SKIP
 * loudly; with MOE_HARNESS_REQUIRE_GPU=1 they FAIL instead.
 * Runs: 40 × the MOE_HARNESS_RUNS multiplier (MOE_HARNESS_RUNS=25: 1,000 cases); seed: MOE_HARNESS_SEED.
 */
import test from 'ava';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { runs } from '../../properties/runs.js';
import { runCampaign, type CampaignResult } from '../campaign.js';
import { caseMix } from '../caseMix.js';
import { gpuAvailability } from '../gpuAvailability.js';

const SEED = Number(process.env.MOE_HARNESS_SEED ?? 1);
const RUNS = runs(40);
const REQUIRE = process.env.MOE_HARNESS_REQUIRE_GPU === '1';
const PY = process.env.MOE_HARNESS_PYTHON ?? 'python3';
const TORCH = `${PY} adapters/python/torch_adapter.py`;
const here = fileURLToPath(import.meta.url);
const NODE_ADAPTER = here.endsWith('.ts') ? `node --import tsx ${here.replace('processGpu.test.ts', 'nodeAdapter.ts')}` : `node ${here.replace('processGpu.test.js', 'nodeAdapter.js')}`;

const probe = spawnSync(PY, ['-c', 'import torch; print(torch.cuda.is_available() and torch.cuda.get_device_name())'], { encoding: 'utf8', timeout: 120_000 });
const torchGpu = probe.status === 0 && probe.stdout.trim() !== 'False' ? probe.stdout.trim() : null;
const gpu = await gpuAvailability();

const failures = (r: CampaignResult): string[] => r.records.filter((x) => x.disposition === 'incorrect' || x.disposition === 'crashed')
  .map((x) => `${x.disposition}: ${x.problem} tactic ${x.tactic}: ${x.verdict.lines.slice(0, 2).join(' | ')}\n  ${x.replay}`);

function skipOrFail(title: string, why: string): void {
  if (REQUIRE) test(`${title} (MOE_HARNESS_REQUIRE_GPU=1)`, (t) => t.fail(`${why}, but MOE_HARNESS_REQUIRE_GPU=1 requires it`));
  else {
    console.warn(`\n${'!'.repeat(78)}\n!! ${title} SKIPPED: ${why}.\n${'!'.repeat(78)}\n`);
    test.skip(`${title} — SKIPPED, ${why}`, () => undefined);
  }
}

if (torchGpu === null) {
  skipOrFail('GPU: PyTorch adapter through door 2', `torch with a CUDA device is not available (${(probe.stderr || probe.stdout).trim().split('\n').pop() ?? 'no output'})`);
} else {
  test('GPU: the PyTorch adapter self-check passes (bit-exact dequantization, re-quantization, routing ids)', (t) => {
    const r = spawnSync(PY, ['adapters/python/torch_adapter.py', '--self-check'], { encoding: 'utf8', timeout: 600_000 });
    t.log(r.stdout.trim());
    t.is(r.status, 0, r.stdout + r.stderr);
  });

  test(`GPU: the PyTorch adapter passes ${RUNS} random cases × every tactic under its declared conventions (${torchGpu})`, async (t) => {
    const cases = caseMix({ runs: RUNS, seed: SEED }).map((spec) => ({ spec }));
    const r = await runCampaign(cases, { kernel: { kind: 'cmd', command: TORCH, timeoutS: 600 } });
    const passed = r.records.filter((x) => x.disposition === 'passed').length;
    const worst = Math.max(...r.records.map((x) => x.verdict.worst?.ratio ?? 0));
    t.log(`${r.cases} cases, ${r.records.length} records, ${passed} passed, worst/bound ${worst.toPrecision(3)}, ${(r.elapsedMs / 1000).toFixed(1)} s`);
    t.deepEqual(failures(r), []);
    t.true(passed > 0);
  });
}

if (!gpu.available) {
  skipOrFail('GPU: native kernel through door 2', `no usable CUDA device for the native addon (${gpu.detail})`);
} else {
  test(`GPU: the native kernel through door 2 gets the direct dispositions on ${RUNS} random cases`, async (t) => {
    const cases = caseMix({ runs: RUNS, seed: SEED + 1 }).map((spec) => ({ spec }));
    const direct = await runCampaign(cases, { kernel: { kind: 'native' } });
    const door = await runCampaign(cases, { kernel: { kind: 'cmd', command: `${NODE_ADAPTER} --kernel native`, timeoutS: 600 } });
    const key = (r: CampaignResult): string[] => r.records.map((x) => `${x.caseIndex} ${x.tactic} ${x.disposition} ${x.verdict.worst?.ratio ?? '-'}`);
    t.deepEqual(key(door), key(direct));
  });
  if (gpu.faultsBuild) {
    test('GPU: a native catalog fault (gate_up_swapped) is caught through door 2', async (t) => {
      const cases = caseMix({ runs: 4, seed: SEED + 2 }).map((spec) => ({ spec }));
      const r = await runCampaign(cases, { kernel: { kind: 'cmd', command: `${NODE_ADAPTER} --kernel native --fault gate_up_swapped`, timeoutS: 600 } });
      t.true(r.records.some((x) => x.disposition === 'incorrect'));
      t.false(r.records.some((x) => x.disposition === 'passed' && x.tactic !== '*'));
    });
  } else {
    skipOrFail('GPU: native fault through door 2', 'the native faults build is absent (node native/build.mjs --faults)');
  }
}
