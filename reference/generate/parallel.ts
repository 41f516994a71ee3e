/**
 * generateCaseParallel: generateCase's bytes, with the weights generated on every core.
 *
 * Expert e's bytes come only from its own streams (`fc1:e`, `fc1:e:header`, …), so worker
 * threads take experts from a shared counter and write them straight into SharedArrayBuffer
 * chunks (expertBytes.ts, memory 'shared'): the result is bit-identical to the serial
 * generator for any thread count (parallel.test.ts). The routing inputs come first (the
 * zero_expert family picks its expert from the logits); the hidden states are generated on
 * this thread while the workers run.
 *
 * Small cases stay on this thread: starting workers costs about 0.3 s from source (tsx)
 * and 0.05 s compiled, and a serial generator does ~400 MB/s on one core, so below
 * `parallelFromBytes` (default 256 MiB of weights: ~0.6 s serial) threads cannot win.
 * The workers are kept between cases (unref'd: they never keep the process alive) and
 * restarted when the thread count changes; `shutdownGenerationWorkers` ends them. After a
 * job of at least `releaseWorkersFromBytes` (default 1 GiB) they are ended: a worker keeps
 * the views it was sent until its own isolate collects garbage, which an idle worker never
 * does, so a kept pool would hold a full-size case's memory (6 GiB for DeepSeek-V3) while
 * the next case is generated (measured: 10+ s of page reclaim under a 16 GiB limit). A
 * restart costs about 0.05 s compiled, 0.3 s from source, next to seconds of generation.
 *
 * No silent fallback: a worker that cannot start or fails is an error naming it.
 */
import { availableParallelism } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Worker } from 'node:worker_threads';
import type { Case, CaseSpec, Fp4Weights } from '../case.js';
import { BadArgumentError } from '../errors.js';
import { defaultChunkBytes, ExpertBytes } from '../expertBytes.js';
import { startWorker, type WorkerLaunch } from '../fastpath/pool.js';
import { assembleCase, generateCase, generateRoutingInputs } from '../generate.js';
import { generateHidden } from './hidden.js';
import { expertByteCounts } from './weights.js';
import type { WeightsJob } from './weightsJob.js';

/** Weight bytes (FC1 + FC2, codes and scales) from which the workers are used. */
export const PARALLEL_FROM_BYTES = 256 * 1024 * 1024;

/** Weight bytes from which the workers are ended after their job (see the file comment). */
export const RELEASE_WORKERS_FROM_BYTES = 1024 * 1024 * 1024;

export interface ParallelGenerateOptions {
  /** Worker threads (default: os.availableParallelism()). */
  readonly threads?: number;
  /** Largest chunk of the weights' per-expert storage (default defaultChunkBytes(): 1 GiB). */
  readonly chunkBytes?: number;
  /** Weight bytes from which workers are used (default PARALLEL_FROM_BYTES; 0: always). */
  readonly parallelFromBytes?: number;
  /** Weight bytes from which the workers are ended after the job (default RELEASE_WORKERS_FROM_BYTES). */
  readonly releaseWorkersFromBytes?: number;
}

/** How a case was generated (for benchmarks and tests). */
export interface GenerationInfo {
  readonly mode: 'serial' | 'workers';
  readonly threads: number;
  /** Experts (FC1 and FC2 tasks) each worker generated. */
  readonly perWorker: readonly number[];
  /** What became of the workers: kept for the next case, or ended to free the case's views. */
  readonly workers: 'none' | 'kept' | 'ended';
  readonly ms: number;
}

function weightsLaunch(): WorkerLaunch {
  const here = fileURLToPath(import.meta.url);
  if (here.endsWith('.js')) return { from: 'compiled', path: join(dirname(here), 'weightsWorker.js') };
  return { from: 'source', path: join(dirname(here), 'weightsWorker.ts'), tsxApi: fileURLToPath(import.meta.resolve('tsx/esm/api')) };
}

type Reply = { ready: true } | { id: number; experts: number } | { id: number; error: string; stack?: string };

class GenerationPool {
  private nextId = 0;
  private readonly pending = new Map<number, { resolve(n: number): void; reject(e: Error): void }>();
  dead: Error | null = null;

  private constructor(readonly workers: Worker[]) {
    for (const w of workers) {
      w.on('message', (m: Reply) => this.onReply(m));
      w.on('error', (e) => this.die(e));
      w.on('exit', (code) => this.die(new Error(`generation worker exited (code ${code})`)));
      w.unref();
    }
  }

  static async start(threads: number): Promise<GenerationPool> {
    const launch = weightsLaunch();
    const workers = Array.from({ length: threads }, () => startWorker(launch));
    try {
      await Promise.all(workers.map((w) => new Promise<void>((resolve, reject) => {
        const onMessage = (m: Reply) => { if ('ready' in m) { off(); resolve(); } };
        const onError = (e: Error) => { off(); reject(new Error(`generation worker failed to start (${launch.path}): ${e.message}`)); };
        const onExit = (code: number) => { off(); reject(new Error(`generation worker exited (code ${code}) before it was ready (${launch.path})`)); };
        const off = () => {
          w.removeListener('message', onMessage);
          w.removeListener('error', onError);
          w.removeListener('exit', onExit);
        };
        w.on('message', onMessage);
        w.on('error', onError);
        w.on('exit', onExit);
      })));
    } catch (e) {
      await Promise.all(workers.map((w) => w.terminate()));
      throw e;
    }
    return new GenerationPool(workers);
  }

  /** The job on every worker; resolves with each one's task count once all are done. */
  async runAll(job: WeightsJob): Promise<number[]> {
    if (this.dead !== null) throw this.dead;
    for (const w of this.workers) w.ref();
    try {
      const settled = await Promise.allSettled(this.workers.map((w) => new Promise<number>((resolve, reject) => {
        const id = this.nextId++;
        this.pending.set(id, { resolve, reject });
        w.postMessage({ id, job });
      })));
      const failed = settled.find((r): r is PromiseRejectedResult => r.status === 'rejected');
      if (failed !== undefined) throw failed.reason;
      return settled.map((r) => (r as PromiseFulfilledResult<number>).value);
    } finally {
      for (const w of this.workers) w.unref();
    }
  }

  async terminate(): Promise<void> {
    this.die(new Error('generation workers terminated'));
    await Promise.all(this.workers.map((w) => w.terminate()));
  }

  private die(e: Error): void {
    this.dead ??= e;
    for (const p of this.pending.values()) p.reject(e);
    this.pending.clear();
  }

  private onReply(m: Reply): void {
    if ('ready' in m) return;
    const p = this.pending.get(m.id);
    if (p === undefined) return;
    this.pending.delete(m.id);
    if ('error' in m) p.reject(Object.assign(new Error(`generation worker: ${m.error}`), { workerStack: m.stack }));
    else p.resolve(m.experts);
  }
}

let current: { threads: number; pool: Promise<GenerationPool> } | null = null;

async function generationPool(threads: number): Promise<GenerationPool> {
  if (current !== null && current.threads !== threads) await shutdownGenerationWorkers();
  if (current !== null) {
    const pool = await current.pool.catch(() => null);
    if (pool === null || pool.dead !== null) await shutdownGenerationWorkers();
  }
  if (current === null) {
    const pool = GenerationPool.start(threads);
    current = { threads, pool };
    pool.catch(() => { if (current?.pool === pool) current = null; });
  }
  return current.pool;
}

/** End the generation workers (the next parallel generation starts new ones). */
export async function shutdownGenerationWorkers(): Promise<void> {
  if (current === null) return;
  const { pool } = current;
  current = null;
  try {
    await (await pool).terminate();
  } catch {
    /* failed to start: nothing to end */
  }
}

function checkOptions(opts: ParallelGenerateOptions): { threads: number; chunkBytes: number; parallelFromBytes: number; releaseFromBytes: number } {
  const threads = opts.threads ?? availableParallelism();
  if (!Number.isInteger(threads) || threads < 1 || threads > 1024) {
    throw new BadArgumentError('opts.threads', 'an integer in [1, 1024]', String(opts.threads));
  }
  const chunkBytes = opts.chunkBytes ?? defaultChunkBytes();
  if (!Number.isSafeInteger(chunkBytes) || chunkBytes < 1 || chunkBytes >= 2 ** 32) {
    throw new BadArgumentError('opts.chunkBytes', 'an integer in [1, 2^32 - 1]', String(opts.chunkBytes));
  }
  const parallelFromBytes = opts.parallelFromBytes ?? PARALLEL_FROM_BYTES;
  if (!Number.isSafeInteger(parallelFromBytes) || parallelFromBytes < 0) {
    throw new BadArgumentError('opts.parallelFromBytes', 'a non-negative integer (bytes)', String(opts.parallelFromBytes));
  }
  const releaseFromBytes = opts.releaseWorkersFromBytes ?? RELEASE_WORKERS_FROM_BYTES;
  if (!Number.isSafeInteger(releaseFromBytes) || releaseFromBytes < 0) {
    throw new BadArgumentError('opts.releaseWorkersFromBytes', 'a non-negative integer (bytes)', String(opts.releaseWorkersFromBytes));
  }
  return { threads, chunkBytes, parallelFromBytes, releaseFromBytes };
}

/** Bytes of the local experts' weights (FC1 + FC2, codes and scales) of a problem. */
export function weightBytes(spec: CaseSpec): number {
  const p = spec.problem;
  const a = expertByteCounts(p, 'fc1');
  const b = expertByteCounts(p, 'fc2');
  return p.localExperts * (a.packed + a.scales + b.packed + b.scales);
}

/**
 * generateCase(spec)'s bytes, the weights generated by `threads` workers when they are at
 * least `parallelFromBytes` (else on this thread). `info` receives how it was done.
 */
export async function generateCaseParallel(spec: CaseSpec, opts: ParallelGenerateOptions = {}, info?: (i: GenerationInfo) => void): Promise<Case> {
  const started = performance.now();
  const { threads, chunkBytes, parallelFromBytes, releaseFromBytes } = checkOptions(opts);
  const { logits, bias, zeroLocal } = generateRoutingInputs(spec); // validates the spec first
  const bytes = weightBytes(spec);
  if (bytes < parallelFromBytes) {
    const c = generateCase(spec, { chunkBytes });
    info?.({ mode: 'serial', threads: 1, perWorker: [], workers: 'none', ms: performance.now() - started });
    return c;
  }
  const p = spec.problem;
  const El = p.localExperts;
  const layout = { chunkBytes, memory: 'shared' as const };
  const alloc = (which: 'fc1' | 'fc2') => {
    const per = expertByteCounts(p, which);
    return { packed: ExpertBytes.allocate(El, per.packed, layout), scales: ExpertBytes.allocate(El, per.scales, layout) };
  };
  const w1 = alloc('fc1');
  const w2 = alloc('fc2');
  const globalScale = new Float32Array(new SharedArrayBuffer(8 * El));
  const job: WeightsJob = {
    seed: spec.seed, problem: p, family: spec.scaleFamily, zeroLocal,
    packed: [...w1.packed.experts(), ...w2.packed.experts()],
    scales: [...w1.scales.experts(), ...w2.scales.experts()],
    globalScale,
    queue: new Int32Array(new SharedArrayBuffer(4)),
  };
  const pool = await generationPool(threads);
  const running = pool.runAll(job);
  let hiddenOut: ReturnType<typeof generateHidden>;
  try {
    hiddenOut = generateHidden(spec.seed, p, spec.scaleFamily); // on this thread, meanwhile
  } catch (e) {
    await running.catch(() => undefined); // the workers write shared memory: let them finish
    throw e;
  }
  let perWorker: number[];
  try {
    perWorker = await running;
  } finally {
    if (bytes >= releaseFromBytes) await shutdownGenerationWorkers(); // free the views they hold
  }
  const fc1: Fp4Weights = { ...w1, globalScale: globalScale.slice(0, El) };
  const fc2: Fp4Weights = { ...w2, globalScale: globalScale.slice(El, 2 * El) };
  const c = assembleCase(spec, logits, bias, hiddenOut.hidden, hiddenOut.sumSquares, fc1, fc2);
  info?.({ mode: 'workers', threads, perWorker, workers: bytes >= releaseFromBytes ? 'ended' : 'kept', ms: performance.now() - started });
  return c;
}
