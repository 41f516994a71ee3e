/**
 * `check --gpus`: the dispatch and merge logic, on a CPU machine, with the emulated kernel
 * and simulated devices (MOE_HARNESS_SIMULATED_GPUS, tests only). Real devices: docs/ci.md
 * gives the command for a GPU host.
 */
import test from 'ava';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { main } from './cli.js';
import { readReport } from './merge.js';
import { listDevices, parseGpus, planGpus, runWorkers, workerArgv, workerEnv, workerShard } from './multiGpu.js';

const tmp = (): string => mkdtempSync(join(tmpdir(), 'moe-harness-gpus-'));

function capture(): { out: string[]; err: string[]; io: { out: (s: string) => void; err: (s: string) => void } } {
  const out: string[] = [];
  const err: string[] = [];
  return { out, err, io: { out: (s) => out.push(s), err: (s) => err.push(s) } };
}

interface Rec { caseIndex: number; tactic: string; disposition: string; ms?: number; [k: string]: unknown }
// Through readReport: error maps shared between records (errorMapSameAs, an index) are expanded.
const records = (dir: string): Rec[] => readReport(dir).records as unknown as Rec[];
const noMs = (xs: Rec[]): Array<Omit<Rec, 'ms' | 'errorMapSameAs'>> => xs.map(({ ms: _ms, errorMapSameAs: _same, ...rest }) => rest);

const SMI = 'GPU 0: NVIDIA H100 80GB HBM3 (UUID: GPU-a)\nGPU 1: NVIDIA H100 80GB HBM3 (UUID: GPU-b)\nGPU 2: NVIDIA H100 80GB HBM3 (UUID: GPU-c)\n';

test('devices: nvidia-smi -L, restricted by CUDA_VISIBLE_DEVICES; simulated ones only by the test variable', (t) => {
  t.deepEqual(listDevices({}, () => SMI).devices, ['0', '1', '2']);
  t.deepEqual(listDevices({ CUDA_VISIBLE_DEVICES: '2,0' }, () => SMI).devices, ['2', '0']);
  t.deepEqual(listDevices({}, () => null), { devices: [], source: 'none', detail: 'nvidia-smi not found or failed' });
  t.deepEqual(listDevices({ MOE_HARNESS_SIMULATED_GPUS: '4' }, () => SMI).devices, ['0', '1', '2', '3']);
  t.throws(() => listDevices({ MOE_HARNESS_SIMULATED_GPUS: 'x' }), { message: /MOE_HARNESS_SIMULATED_GPUS: expected an integer >= 1 \(tests only\), or unset, got "x"/ });
});

test('plan: all, N, degrade to this process, refusals naming --gpus', (t) => {
  const three = listDevices({}, () => SMI);
  t.is(planGpus('all', 'native', three).devices.length, 3);
  t.is(planGpus(2, 'native', three).devices.length, 2);
  t.is(planGpus('all', 'emulated', listDevices({}, () => null)).devices.length, 0);
  t.is(planGpus(1, 'emulated', listDevices({}, () => null)).devices.length, 0);
  t.throws(() => planGpus(4, 'native', three), { message: /--gpus: expected all, or at most the 3 GPUs present \(3 GPUs \(nvidia-smi -L\)\), got 4/ });
  t.throws(() => planGpus('all', 'native', listDevices({ MOE_HARNESS_SIMULATED_GPUS: '2' })), { message: /MOE_HARNESS_SIMULATED_GPUS: expected unset, unless --kernel emulated/ });
  t.is(parseGpus('all'), 'all');
  t.is(parseGpus('2'), 2);
  t.throws(() => parseGpus('0'), { message: /--gpus: expected all, or an integer >= 1, got "0"/ });
});

test('workers: one GPU each, NVLink multicast off, nested shards, parent-only options dropped', (t) => {
  const env = workerEnv({ PATH: '/bin', NCCL_NVLS_ENABLE: '1', MOE_HARNESS_SIMULATED_GPUS: '2', CUDA_VISIBLE_DEVICES: '0,1' }, '1');
  t.like(env, { PATH: '/bin', CUDA_VISIBLE_DEVICES: '1', NCCL_NVLS_ENABLE: '0', TORCH_SYMM_MEM_DISABLE_MULTICAST: '1', NVSHMEM_DISABLE_NVLS: '1' });
  t.false('MOE_HARNESS_SIMULATED_GPUS' in env);
  t.deepEqual(workerShard(null, 1, 4), { index: 1, total: 4 });
  // CI shard 1 of 3, GPU 2 of 4: shard 1 + 3·2 of 12, i.e. cases ≡ 7 (mod 12) ⊂ cases ≡ 1 (mod 3).
  t.deepEqual(workerShard({ index: 1, total: 3 }, 2, 4), { index: 7, total: 12 });
  t.deepEqual(workerArgv(['--runs', '5', '--gpus', 'all', '--report=r', '--junit', 'j.xml', '--shard', '1/3', '--kernel', 'native', '--quiet', '--seed', '2'], { index: 7, total: 12 }, '/r/gpu-2', 'native'),
    ['check', '--runs', '5', '--seed', '2', '--kernel', 'native', '--shard', '7/12', '--report', '/r/gpu-2', '--quiet']);
});

const BASE = ['check', '--kernel', 'emulated', '--fault', 'neighbour_block_scale', '--runs', '5', '--seed', '3', '--isolation', 'inline', '--quiet'];

test.serial('--gpus all over 2 simulated GPUs: two workers, one merged report equal to the one-process run', async (t) => {
  const dir = tmp();
  const one = join(dir, 'one');
  t.is(await main([...BASE, '--report', one], capture().io), 1);
  process.env.MOE_HARNESS_SIMULATED_GPUS = '2';
  try {
    const c = capture();
    const multi = join(dir, 'multi');
    const code = await main([...BASE, '--gpus', 'all', '--report', multi, '--junit', join(dir, 'multi.xml')], c.io);
    t.is(code, 1, c.err.join('\n'));
    t.regex(c.err.join('\n'), /worker 0: CUDA_VISIBLE_DEVICES=0, shard 0\/2/);
    t.regex(c.err.join('\n'), /worker 1: CUDA_VISIBLE_DEVICES=1, shard 1\/2/);
    for (const g of [0, 1]) {
      t.true(records(join(multi, `gpu-${g}`)).every((r) => r.caseIndex % 2 === g));
      t.regex(readFileSync(join(multi, `gpu-${g}.log`), 'utf8'), new RegExp(`shard ${g}/2 of 5`));
    }
    t.deepEqual(noMs(records(multi)), noMs(records(one)));
    t.regex(readFileSync(join(dir, 'multi.xml'), 'utf8'), new RegExp(`<testsuite [^>]*tests="${records(one).length}"`));

    // Under CI shard 1 of 2: the GPUs split that shard's cases; the result is that shard.
    const half = join(dir, 'half');
    t.is(await main([...BASE, '--gpus', '2', '--shard', '1/2', '--report', half], capture().io), 1);
    t.deepEqual(noMs(records(half)), noMs(records(one).filter((r) => r.caseIndex % 2 === 1)));
    t.like(JSON.parse(readFileSync(join(half, 'report.json'), 'utf8')), { shard: { index: 1, total: 2, casesTotal: 5 } });

    // One GPU: no workers, this process.
    process.env.MOE_HARNESS_SIMULATED_GPUS = '1';
    const single = join(dir, 'single');
    const s = capture();
    t.is(await main([...BASE, '--gpus', 'all', '--report', single], s.io), 1);
    t.regex(s.err.join('\n'), /--gpus all: this process/);
    t.false(existsSync(join(single, 'gpu-0')));
    t.deepEqual(noMs(records(single)), noMs(records(one)));
  } finally {
    delete process.env.MOE_HARNESS_SIMULATED_GPUS;
  }
});

test('a worker that dies is reported with its exit code and log, never merged as if it had passed', async (t) => {
  const dir = tmp();
  // --runs 0 passes through to the workers, which refuse it (exit 2): no report from either.
  const r = await runWorkers({ argv: ['--runs', '0'], plan: { devices: ['0', '1'], source: 'simulated', detail: 'test' }, parentShard: null, kernel: 'emulated', reportDir: dir });
  t.is(r.merged, null);
  t.deepEqual(r.workers.map((w) => w.failure?.replace(dir, 'DIR')), [0, 1].map((g) => `exited with code 2 (log: DIR/gpu-${g}.log)`));
  t.regex(readFileSync(join(dir, 'gpu-0.log'), 'utf8'), /--runs: expected an integer >= 1, got "0"/);
});
