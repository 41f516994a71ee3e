/**
 * Every GPU of a host: `moe-harness check --gpus all|N` runs one worker process per GPU
 * (each a `moe-harness check` with CUDA_VISIBLE_DEVICES=<that GPU> and `--shard`), spreads
 * the cases over them with the case-index partition of harness/shard.ts, and merges the
 * workers' reports (harness/merge.ts) into one.
 *
 * GPUs are counted with `nvidia-smi -L`, restricted to CUDA_VISIBLE_DEVICES when that is
 * set (worker g then gets the g-th entry of that list). One GPU (or none, with the emulated
 * kernel): no workers; the campaign runs in this process as without --gpus.
 *
 * Under a CI shard s of S (CI_NODE_INDEX/CI_NODE_TOTAL or --shard), worker g of G runs
 * shard s + S·g of S·G: exactly the cases i ≡ s (mod S), spread over the G GPUs.
 *
 * Workers' environment keeps NVLink multicast off, whatever the parent's says:
 * NCCL_NVLS_ENABLE=0, TORCH_SYMM_MEM_DISABLE_MULTICAST=1, NVSHMEM_DISABLE_NVLS=1.
 *
 * MOE_HARNESS_SIMULATED_GPUS=N (tests only): pretend N GPUs are present so the dispatch
 * and merge logic runs on a CPU machine; allowed only with --kernel emulated (an
 * emulated kernel never touches a device), refused otherwise.
 */
import { spawn, spawnSync } from 'node:child_process';
import { createWriteStream, existsSync, mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { BadArgumentError } from '../reference/errors.js';
import type { KernelKind } from './kernels/select.js';
import { mergeReports, readReport, type Merged } from './merge.js';
import type { Shard } from './shard.js';

/** `--gpus`: every visible GPU, or this many. */
export type GpuRequest = 'all' | number;

export function parseGpus(text: string): GpuRequest {
  if (text === 'all') return 'all';
  if (!/^\d+$/.test(text) || Number(text) < 1) throw new BadArgumentError('--gpus', 'all, or an integer >= 1', JSON.stringify(text));
  return Number(text);
}

/** Where the device list came from. */
export type DeviceSource = 'simulated' | 'nvidia-smi' | 'none';

export interface DeviceList {
  /** CUDA_VISIBLE_DEVICES value for each usable GPU. */
  readonly devices: readonly string[];
  readonly source: DeviceSource;
  readonly detail: string;
}

const SIMULATED_GPUS_ENV = 'MOE_HARNESS_SIMULATED_GPUS';

/** The GPUs a worker can be given. */
export function listDevices(env: NodeJS.ProcessEnv = process.env, smi: () => string | null = nvidiaSmiList): DeviceList {
  const sim = env[SIMULATED_GPUS_ENV];
  if (sim !== undefined && sim !== '') {
    if (!/^\d+$/.test(sim) || Number(sim) < 1) throw new BadArgumentError(SIMULATED_GPUS_ENV, 'an integer >= 1 (tests only), or unset', JSON.stringify(sim));
    const n = Number(sim);
    return { devices: Array.from({ length: n }, (_, i) => String(i)), source: 'simulated', detail: `${n} simulated (${SIMULATED_GPUS_ENV}=${n})` };
  }
  const out = smi();
  if (out === null) return { devices: [], source: 'none', detail: 'nvidia-smi not found or failed' };
  const ids = out.split('\n').map((l) => /^GPU (\d+):/.exec(l.trim())?.[1]).filter((x): x is string => x !== undefined);
  const visible = env.CUDA_VISIBLE_DEVICES;
  if (visible !== undefined) {
    const list = visible.split(',').map((s) => s.trim()).filter((s) => s !== '' && s !== '-1');
    const devices = list.slice(0, ids.length);
    return { devices, source: 'nvidia-smi', detail: `${devices.length} of ${ids.length} GPUs (CUDA_VISIBLE_DEVICES=${visible})` };
  }
  return { devices: ids, source: 'nvidia-smi', detail: `${ids.length} GPU${ids.length === 1 ? '' : 's'} (nvidia-smi -L)` };
}

function nvidiaSmiList(): string | null {
  const r = spawnSync('nvidia-smi', ['-L'], { encoding: 'utf8', timeout: 30_000 });
  return r.status === 0 ? r.stdout : null;
}

export interface GpuPlan {
  /** CUDA_VISIBLE_DEVICES of each worker; one entry (or none) means no workers. */
  readonly devices: readonly string[];
  readonly source: DeviceSource;
  readonly detail: string;
}

/** How many workers `--gpus` asks for, checked against what is there. */
export function planGpus(request: GpuRequest, kernel: KernelKind, list: DeviceList): GpuPlan {
  if (list.source === 'simulated' && kernel !== 'emulated') {
    throw new BadArgumentError(SIMULATED_GPUS_ENV, 'unset, unless --kernel emulated (simulated GPUs exist only for the harness\'s own tests)', `${list.devices.length} with kernel ${kernel}`);
  }
  const n = request === 'all' ? list.devices.length : request;
  if (n > list.devices.length && !(n === 1 && kernel === 'emulated')) {
    throw new BadArgumentError('--gpus', `all, or at most the ${list.devices.length} GPU${list.devices.length === 1 ? '' : 's'} present (${list.detail})`, String(request));
  }
  return { devices: list.devices.slice(0, n), source: list.source, detail: list.detail };
}

/** Worker environment: one GPU, NVLink multicast off, CI sharding replaced by --shard. */
export function workerEnv(base: NodeJS.ProcessEnv, device: string): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...base, CUDA_VISIBLE_DEVICES: device, NCCL_NVLS_ENABLE: '0', TORCH_SYMM_MEM_DISABLE_MULTICAST: '1', NVSHMEM_DISABLE_NVLS: '1' };
  delete env[SIMULATED_GPUS_ENV];
  return env;
}

/** The shard worker g of G runs under the parent's shard (null: unsharded). */
export function workerShard(parent: Shard | null, g: number, G: number): Shard {
  const s = parent ?? { index: 0, total: 1 };
  return { index: s.index + s.total * g, total: s.total * G };
}

/** Options the parent handles itself, dropped from the workers' argv (each takes a value). */
const PARENT_ONLY = new Set(['--gpus', '--report', '--junit', '--shard', '--kernel']);

/** The parent's `check` arguments for a worker: its own options removed, worker ones added. */
export function workerArgv(argv: readonly string[], shard: Shard, reportDir: string, kernel: KernelKind): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const name = a.includes('=') ? a.slice(0, a.indexOf('=')) : a;
    if (PARENT_ONLY.has(name)) {
      if (!a.includes('=')) i++;
      continue;
    }
    if (a === '--quiet') continue;
    out.push(a);
  }
  return ['check', ...out, '--kernel', kernel, '--shard', `${shard.index}/${shard.total}`, '--report', reportDir, '--quiet'];
}

/** The command that starts this package's CLI in a new process (compiled JS, or TypeScript through tsx). */
function cliCommand(): { node: string; args: string[] } {
  const self = fileURLToPath(import.meta.url);
  const ts = self.endsWith('.ts');
  return { node: process.execPath, args: [...(ts ? ['--import', 'tsx'] : []), fileURLToPath(new URL(`./cli.${ts ? 'ts' : 'js'}`, import.meta.url))] };
}

export interface WorkerOutcome {
  readonly gpu: string;
  readonly shard: Shard;
  readonly dir: string;
  readonly log: string;
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  /** Why its results are absent (exit 2/70, a signal, or no report.json); undefined when it reported. */
  readonly failure?: string;
}

export interface WorkersResult {
  /** Merge of the workers that reported (null when none did). */
  readonly merged: Merged | null;
  readonly workers: readonly WorkerOutcome[];
}

/** Exit codes of `check` that come with a complete report. */
const REPORTED_CODES = new Set([0, 1, 3]);

/** Run one worker per planned GPU; wait for all; merge what they reported. */
export async function runWorkers(opts: {
  readonly argv: readonly string[];
  readonly plan: GpuPlan;
  readonly parentShard: Shard | null;
  readonly kernel: KernelKind;
  readonly reportDir: string;
  readonly onLine?: (s: string) => void;
}): Promise<WorkersResult> {
  const G = opts.plan.devices.length;
  const cmd = cliCommand();
  const root = resolve(opts.reportDir);
  mkdirSync(root, { recursive: true });
  const runs = opts.plan.devices.map((gpu, g) => {
    const shard = workerShard(opts.parentShard, g, G);
    const dir = join(root, `gpu-${g}`);
    const log = join(root, `gpu-${g}.log`);
    const args = [...cmd.args, ...workerArgv(opts.argv, shard, dir, opts.kernel)];
    opts.onLine?.(`worker ${g}: CUDA_VISIBLE_DEVICES=${gpu}, shard ${shard.index}/${shard.total}, log ${log}`);
    return new Promise<WorkerOutcome>((done) => {
      const out = createWriteStream(log);
      const child = spawn(cmd.node, args, { env: workerEnv(process.env, gpu), stdio: ['ignore', 'pipe', 'pipe'] });
      child.stdout.pipe(out, { end: false });
      child.stderr.pipe(out, { end: false });
      const finish = (code: number | null, signal: NodeJS.Signals | null, err?: Error): void => {
        out.end(() => {
          let failure: string | undefined;
          if (err) failure = `could not start: ${err.message}`;
          else if (signal !== null) failure = `killed by ${signal}`;
          else if (code === null || !REPORTED_CODES.has(code)) failure = `exited with code ${code}`;
          else if (!existsSync(join(dir, 'report.json'))) failure = `exited with code ${code} but wrote no ${join(dir, 'report.json')}`;
          done({ gpu, shard, dir, log, code, signal, ...(failure ? { failure: `${failure} (log: ${log})` } : {}) });
        });
      };
      child.on('error', (e) => finish(null, null, e));
      child.on('close', (code, signal) => finish(code, signal));
    });
  });
  const workers = await Promise.all(runs);
  const ok = workers.filter((w) => w.failure === undefined);
  if (ok.length === 0) return { merged: null, workers };
  const merged = mergeReports(ok.map((w) => readReport(w.dir)), ok.map((w) => w.dir), { shards: ok.map((w) => w.shard.index) });
  return { merged, workers };
}
