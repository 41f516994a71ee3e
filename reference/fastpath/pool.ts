/**
 * The fast path's worker threads: one matrix engine each, started once and kept (idle
 * workers are unref'd so they never keep the process alive; shutdownWorkerPool ends them).
 *
 * Which code a worker runs follows where this file runs, so the two can never disagree:
 *   - compiled (dist/reference/fastpath/pool.js): the sibling dist/…/worker.js;
 *   - from source under tsx (reference/fastpath/pool.ts: ava, `npx moe-harness` without a
 *     fresh dist/): reference/fastpath/worker.ts itself, through tsx registered inside the
 *     worker (tsx compiles each file from its current content), so an edit anywhere in the
 *     worker's import graph takes effect at once and dist/ is never consulted.
 */
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import { defaultThreads, tfjsNodeStatus, type BackendInfo } from '../backend.js';
import type { Job, JobStats, WorkerReply } from './protocol.js';

/** How a worker is started: a compiled file, or a TypeScript file run through tsx. */
export type WorkerLaunch =
  | { readonly from: 'compiled'; readonly path: string }
  | { readonly from: 'source'; readonly path: string; readonly tsxApi: string };

/** The worker matching this module: compiled beside compiled, TypeScript beside TypeScript. */
export function workerLaunch(moduleUrl: string = import.meta.url): WorkerLaunch {
  const here = fileURLToPath(moduleUrl);
  if (here.endsWith('.js')) return { from: 'compiled', path: join(dirname(here), 'worker.js') };
  // The ESM entry of tsx's API (its CommonJS one cannot register the ESM hooks in a worker).
  // import.meta.resolve is synchronous from Node 20.6 (package.json engines).
  return { from: 'source', path: join(dirname(here), 'worker.ts'), tsxApi: fileURLToPath(import.meta.resolve('tsx/esm/api')) };
}

/**
 * Start a worker thread on `launch`. From source, a two-line bootstrap registers tsx in the
 * new thread and imports the TypeScript entry (a failure there is the Worker's 'error').
 */
export function startWorker(launch: WorkerLaunch): Worker {
  if (launch.from === 'compiled') return new Worker(launch.path);
  const bootstrap = `import(${JSON.stringify(pathToFileURL(launch.tsxApi).href)})` +
    `.then((tsx) => { tsx.register(); return import(${JSON.stringify(pathToFileURL(launch.path).href)}); })`;
  return new Worker(bootstrap, { eval: true });
}

interface Pending {
  resolve(s: JobStats): void;
  reject(e: Error): void;
}

export class WorkerPool {
  private nextId = 0;
  private readonly pending = new Map<number, Pending>();
  private busy = 0;

  /** Set once a worker died: the pool is then replaced on the next workerPool() call. */
  dead: Error | null = null;

  private constructor(private readonly workers: Worker[], readonly info: BackendInfo) {
    for (const w of workers) {
      w.on('message', (m: WorkerReply) => this.onReply(m));
      w.on('error', (e) => this.die(e));
      w.on('exit', (code) => this.die(new Error(`fast-path worker exited (code ${code})`)));
      w.unref();
    }
  }

  private die(e: Error): void {
    this.dead ??= e;
    this.failAll(e);
  }

  get size(): number {
    return this.workers.length;
  }

  static async start(threads: number): Promise<WorkerPool> {
    const launch = workerLaunch();
    const node = tfjsNodeStatus();
    // tfjs-node parallelizes inside TensorFlow and is not worker-safe: one worker then.
    const count = node.available ? 1 : threads;
    const workers = Array.from({ length: count }, () => startWorker(launch));
    try {
      const ready = await Promise.all(workers.map((w) => new Promise<WorkerReply>((res, rej) => {
        // Remove exactly these listeners afterwards (removeAllListeners would also drop
        // the Worker's internal ones and stop message delivery).
        const onMessage = (m: WorkerReply) => { off(); res(m); };
        const onError = (e: Error) => { off(); rej(e); };
        const onExit = (code: number) => { off(); rej(new Error(`fast-path worker exited (code ${code}) before it was ready`)); };
        const off = () => {
          w.removeListener('message', onMessage);
          w.removeListener('error', onError);
          w.removeListener('exit', onExit);
        };
        w.on('message', onMessage);
        w.on('error', onError);
        w.on('exit', onExit);
      })));
      for (const r of ready) {
        if (r.type === 'error') throw Object.assign(new Error(`fast-path worker failed to start: ${r.message}`), { stack: r.stack });
      }
      const first = ready[0] as Extract<WorkerReply, { type: 'ready' }>;
      const info: BackendInfo = {
        name: first.name,
        threads: node.available ? defaultThreads() : count,
        ...(first.note !== undefined ? { note: first.note } : {}),
      };
      return new WorkerPool(workers, info);
    } catch (e) {
      await Promise.all(workers.map((w) => w.terminate()));
      throw e;
    }
  }

  /**
   * Post the same job to every worker; resolves with each worker's stats once all are
   * done. When one fails, the others are still awaited (they write shared buffers that
   * the next run reuses) before the first error is thrown.
   */
  async runAll(job: Job): Promise<JobStats[]> {
    if (this.dead !== null) throw this.dead;
    if (this.busy++ === 0) for (const w of this.workers) w.ref();
    try {
      const settled = await Promise.allSettled(this.workers.map((w) => new Promise<JobStats>((resolve, reject) => {
        const id = this.nextId++;
        this.pending.set(id, { resolve, reject });
        w.postMessage({ id, job });
      })));
      const failed = settled.find((r): r is PromiseRejectedResult => r.status === 'rejected');
      if (failed !== undefined) throw failed.reason;
      return settled.map((r) => (r as PromiseFulfilledResult<JobStats>).value);
    } finally {
      if (--this.busy === 0) for (const w of this.workers) w.unref();
    }
  }

  async terminate(): Promise<void> {
    this.dead ??= new Error('worker pool terminated');
    this.failAll(this.dead);
    await Promise.all(this.workers.map((w) => w.terminate()));
  }

  private onReply(m: WorkerReply): void {
    if (m.type === 'ready') return;
    const p = this.pending.get(m.id);
    if (p === undefined) return;
    this.pending.delete(m.id);
    if (m.type === 'done') p.resolve(m.stats);
    else p.reject(Object.assign(new Error(`${m.name}: ${m.message}`), { name: m.name, workerStack: m.stack }));
  }

  private failAll(e: Error): void {
    for (const p of this.pending.values()) p.reject(e);
    this.pending.clear();
  }
}

let current: { threads: number; pool: Promise<WorkerPool> } | null = null;
/** The started pool's thread count and its workers (for memory estimates). */
let live: { threads: number; workers: number } | null = null;

/** Workers already running for a pool of `threads` (a run of that size starts none). */
export function liveWorkers(threads: number): number {
  return live !== null && live.threads === threads ? live.workers : 0;
}

/** The shared pool with `threads` workers (restarted when the count changes). */
export async function workerPool(threads = defaultThreads()): Promise<WorkerPool> {
  if (current !== null && current.threads !== threads) await shutdownWorkerPool();
  if (current !== null) {
    const pool = await current.pool.catch(() => null);
    if (pool === null || pool.dead !== null) await shutdownWorkerPool();
  }
  if (current === null) {
    const pool = WorkerPool.start(threads);
    current = { threads, pool };
    pool.then((p) => { if (current?.pool === pool) live = { threads, workers: p.size }; }, () => undefined);
    pool.catch(() => { if (current?.pool === pool) current = null; });
  }
  return current.pool;
}

/** End the shared pool's workers (the next fast-path run starts a new pool). */
export async function shutdownWorkerPool(): Promise<void> {
  if (current === null) return;
  const { pool } = current;
  current = null;
  live = null;
  try {
    await (await pool).terminate();
  } catch {
    /* failed to start: nothing to end */
  }
}
