/**
 * The fast path's worker threads: one matrix engine each, started once and kept (idle
 * workers are unref'd so they never keep the process alive; shutdownWorkerPool ends them).
 * The pool, its queue and the launch rules are reference/threadPool.ts's: every fast-path
 * run, the pool's restart and its shutdown go through one queue (inFastPathQueue).
 */
import { defaultThreads, tfjsNodeStatus, type BackendInfo } from '../backend.js';
import { SharedThreadPool, ThreadPool, workerLaunch as launchBeside, type WorkerLaunch, type WorkerMessage } from '../threadPool.js';
import type { Job, JobStats, WorkerReply } from './protocol.js';

export { startWorker, type WorkerLaunch } from '../threadPool.js';

/** The fast path's worker beside this module: compiled beside compiled, TypeScript beside TypeScript. */
export function workerLaunch(moduleUrl: string = import.meta.url): WorkerLaunch {
  return launchBeside(moduleUrl, 'worker');
}

/** What a worker says when it is ready: its matrix engine. */
type Ready = Extract<WorkerReply, { type: 'ready' }>;

function decode(raw: unknown): WorkerMessage<JobStats, Ready> {
  const m = raw as WorkerReply;
  if (m.type === 'ready') return { kind: 'ready', ready: m };
  if (m.type === 'done') return { kind: 'done', id: m.id, result: m.stats };
  return { kind: 'failed', id: m.id, error: Object.assign(new Error(`${m.name}: ${m.message}`), { name: m.name, workerStack: m.stack }) };
}

/** The fast path's pool: its workers and the backend they loaded. */
export interface WorkerPool {
  readonly size: number;
  readonly info: BackendInfo;
  runAll(job: Job): Promise<JobStats[]>;
}

/** Each started pool's view with its backend, made once when the pool starts. */
const views = new WeakMap<ThreadPool<Job, JobStats, Ready>, WorkerPool>();

async function startPool(threads: number): Promise<ThreadPool<Job, JobStats, Ready>> {
  // tfjs-node parallelizes inside TensorFlow and is not worker-safe: one worker then.
  const tfjsNode = tfjsNodeStatus().available;
  const pool = await ThreadPool.start<Job, JobStats, Ready>({ launch: workerLaunch(), workers: tfjsNode ? 1 : threads, name: 'fast-path', decode });
  const first = pool.ready[0]!;
  const info: BackendInfo = {
    name: first.name,
    threads: tfjsNode ? defaultThreads() : pool.size,
    ...(first.note !== undefined ? { note: first.note } : {}),
  };
  views.set(pool, { size: pool.size, info, runAll: (job) => pool.runAll(job) });
  return pool;
}

const shared = new SharedThreadPool<Job, JobStats, Ready>(startPool);

/**
 * Runs `fn` once every fast-path run queued before it has ended, and before any queued after
 * it starts. Whatever uses, ends or restarts the pool, or frees the fast path's scratch, goes
 * through here, so two callers in one process (two tests, a bench beside a check) never pull
 * the pool from under a run in flight.
 */
export function inFastPathQueue<R>(fn: () => Promise<R>): Promise<R> {
  return shared.queued(fn);
}

/**
 * The pool with `threads` workers (restarted when the count changes or a worker died). Call
 * it inside inFastPathQueue, or from a script that is the pool's only user.
 */
export async function workerPool(threads = defaultThreads()): Promise<WorkerPool> {
  return views.get(await shared.acquire(threads))!;
}

/** Workers already running for a pool of `threads` (a run of that size starts none). */
export function liveWorkers(threads: number): number {
  return shared.liveWorkers(threads);
}

/** End the pool's workers once the runs queued before have ended (the next run starts a new pool). */
export function shutdownWorkerPool(): Promise<void> {
  return shared.shutdown();
}

/** End the pool's workers now: only inside inFastPathQueue (shutdownWorkerPool queues it). */
export function endWorkerPool(): Promise<void> {
  return shared.endNow();
}
