/**
 * Worker threads that all run the same job, shared by one process: the fast path's pool
 * (fastpath/pool.ts) and the weight generator's (generate/parallel.ts).
 *
 * - `workerLaunch` / `startWorker`: which code a worker runs follows where the module that
 *   starts it runs, so the two never disagree: compiled beside compiled (dist/…/x.js), or
 *   from source under tsx (the .ts file itself, tsx registered inside the worker, so an edit
 *   anywhere in the worker's import graph takes effect at once and dist/ is never consulted).
 * - `ThreadPool`: started from one launch and waited for until every worker says it is ready;
 *   `runAll` posts one job to every worker and resolves with every answer (awaiting all of
 *   them even when one fails: they may write shared buffers the next job reuses); workers are
 *   unref'd while idle (they never keep the process alive); a worker that dies fails the
 *   jobs in flight and marks the pool dead.
 * - `SharedThreadPool`: the process's one pool of a kind. Every use, restart (a different
 *   thread count, a dead pool) and shutdown goes through one queue, so that no caller ends or
 *   replaces the pool under another caller's job in flight (two tests, or a bench beside a
 *   check, in one process).
 */
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';

/** How a worker is started: a compiled file, or a TypeScript file run through tsx. */
export type WorkerLaunch =
  | { readonly from: 'compiled'; readonly path: string }
  | { readonly from: 'source'; readonly path: string; readonly tsxApi: string };

/** The worker `entry` (a file name without extension) beside the module at `moduleUrl`, compiled or TypeScript as that module is. */
export function workerLaunch(moduleUrl: string, entry: string): WorkerLaunch {
  const here = fileURLToPath(moduleUrl);
  if (here.endsWith('.js')) return { from: 'compiled', path: join(dirname(here), `${entry}.js`) };
  // The ESM entry of tsx's API (its CommonJS one cannot register the ESM hooks in a worker).
  // import.meta.resolve is synchronous from Node 20.6 (package.json engines).
  return { from: 'source', path: join(dirname(here), `${entry}.ts`), tsxApi: fileURLToPath(import.meta.resolve('tsx/esm/api')) };
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

/** A worker's message as a pool reads it (each kind of worker has its own wire format). */
export type WorkerMessage<R, Ready> =
  | { readonly kind: 'ready'; readonly ready: Ready }
  | { readonly kind: 'done'; readonly id: number; readonly result: R }
  /** id -1: the worker failed before it was ready. */
  | { readonly kind: 'failed'; readonly id: number; readonly error: Error };

export interface ThreadPoolOptions<R, Ready> {
  readonly launch: WorkerLaunch;
  readonly workers: number;
  /** Names the pool in its errors: "<name> worker exited (code 1)". */
  readonly name: string;
  readonly decode: (message: unknown) => WorkerMessage<R, Ready>;
}

export class ThreadPool<J, R, Ready> {
  private nextId = 0;
  private readonly pending = new Map<number, { resolve(r: R): void; reject(e: Error): void }>();
  private busy = 0;
  /** Set once a worker died or the pool was ended: its owner then starts a new one. */
  dead: Error | null = null;

  private constructor(private readonly workers: Worker[], private readonly opts: ThreadPoolOptions<R, Ready>, readonly ready: readonly Ready[]) {
    for (const w of workers) {
      w.on('message', (m: unknown) => this.onMessage(m));
      w.on('error', (e) => this.die(e));
      w.on('exit', (code) => this.die(new Error(`${opts.name} worker exited (code ${code})`)));
      w.unref();
    }
  }

  get size(): number {
    return this.workers.length;
  }

  /** Start the workers; resolves once each has said it is ready (its `ready` payloads in order). */
  static async start<J, R, Ready>(opts: ThreadPoolOptions<R, Ready>): Promise<ThreadPool<J, R, Ready>> {
    const workers = Array.from({ length: opts.workers }, () => startWorker(opts.launch));
    try {
      const ready = await Promise.all(workers.map((w) => new Promise<Ready>((resolve, reject) => {
        // Remove exactly these listeners afterwards (removeAllListeners would also drop
        // the Worker's internal ones and stop message delivery).
        const onMessage = (raw: unknown) => {
          off();
          const m = opts.decode(raw);
          if (m.kind === 'ready') resolve(m.ready);
          else if (m.kind === 'failed') reject(Object.assign(new Error(`${opts.name} worker failed to start (${opts.launch.path}): ${m.error.message}`), { workerStack: m.error.stack }));
          else reject(new Error(`${opts.name} worker answered job ${m.id} before it was ready (${opts.launch.path})`));
        };
        const onError = (e: Error) => { off(); reject(new Error(`${opts.name} worker failed to start (${opts.launch.path}): ${e.message}`)); };
        const onExit = (code: number) => { off(); reject(new Error(`${opts.name} worker exited (code ${code}) before it was ready (${opts.launch.path})`)); };
        const off = () => {
          w.removeListener('message', onMessage);
          w.removeListener('error', onError);
          w.removeListener('exit', onExit);
        };
        w.on('message', onMessage);
        w.on('error', onError);
        w.on('exit', onExit);
      })));
      return new ThreadPool<J, R, Ready>(workers, opts, ready);
    } catch (e) {
      await Promise.all(workers.map((w) => w.terminate()));
      throw e;
    }
  }

  /** Post `job` to every worker; resolves with each one's result once all are done (the first error otherwise, after all have answered). */
  async runAll(job: J): Promise<R[]> {
    if (this.dead !== null) throw this.dead;
    if (this.busy++ === 0) for (const w of this.workers) w.ref();
    try {
      const settled = await Promise.allSettled(this.workers.map((w) => new Promise<R>((resolve, reject) => {
        const id = this.nextId++;
        this.pending.set(id, { resolve, reject });
        w.postMessage({ id, job });
      })));
      const failed = settled.find((r): r is PromiseRejectedResult => r.status === 'rejected');
      if (failed !== undefined) throw failed.reason;
      return settled.map((r) => (r as PromiseFulfilledResult<R>).value);
    } finally {
      if (--this.busy === 0) for (const w of this.workers) w.unref();
    }
  }

  /** End every worker; jobs in flight fail with "<name> pool terminated". */
  async terminate(): Promise<void> {
    this.die(new Error(`${this.opts.name} pool terminated`));
    await Promise.all(this.workers.map((w) => w.terminate()));
  }

  private die(e: Error): void {
    this.dead ??= e;
    for (const p of this.pending.values()) p.reject(e);
    this.pending.clear();
  }

  private onMessage(raw: unknown): void {
    const m = this.opts.decode(raw);
    if (m.kind === 'ready') return;
    const p = this.pending.get(m.id);
    if (p === undefined) return;
    this.pending.delete(m.id);
    if (m.kind === 'done') p.resolve(m.result);
    else p.reject(m.error);
  }
}

/** The process's one pool of a kind, behind one queue (see the file comment). */
export class SharedThreadPool<J, R, Ready> {
  private current: { threads: number; pool: Promise<ThreadPool<J, R, Ready>> } | null = null;
  private started: { threads: number; workers: number } | null = null;
  private tail: Promise<unknown> = Promise.resolve();

  /** `start(threads)` starts a pool for that many threads (its size may differ: fewer workers where a backend needs it). */
  constructor(private readonly start: (threads: number) => Promise<ThreadPool<J, R, Ready>>) {}

  /**
   * Run `fn` after everything queued before it has ended, and before anything queued after
   * it starts. Inside it, `acquire` and `endNow` are safe: nobody else uses the pool meanwhile.
   */
  queued<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.tail.then(fn);
    this.tail = run.catch(() => undefined);
    return run;
  }

  /** `fn` in the queue with the pool for `threads`. */
  use<T>(threads: number, fn: (pool: ThreadPool<J, R, Ready>) => Promise<T>): Promise<T> {
    return this.queued(async () => fn(await this.acquire(threads)));
  }

  /** End the workers once everything queued before has ended (the next use starts new ones). */
  shutdown(): Promise<void> {
    return this.queued(() => this.endNow());
  }

  /** Workers of the started pool when it has `threads` (a use of that count starts none), else 0. */
  liveWorkers(threads: number): number {
    return this.started !== null && this.started.threads === threads ? this.started.workers : 0;
  }

  /**
   * The pool for `threads`: started, or restarted for another count or after a death. Call it
   * inside `queued` (or from a script that is the pool's only user).
   */
  async acquire(threads: number): Promise<ThreadPool<J, R, Ready>> {
    if (this.current !== null && this.current.threads !== threads) await this.endNow();
    if (this.current !== null) {
      const pool = await this.current.pool.catch(() => null);
      if (pool === null || pool.dead !== null) await this.endNow();
    }
    if (this.current === null) {
      const pool = this.start(threads);
      this.current = { threads, pool };
      pool.then((p) => { if (this.current?.pool === pool) this.started = { threads, workers: p.size }; }, () => {
        if (this.current?.pool === pool) this.current = null;
      });
    }
    return this.current.pool;
  }

  /** End the workers now. Call it inside `queued` (`shutdown` queues it). */
  async endNow(): Promise<void> {
    if (this.current === null) return;
    const { pool } = this.current;
    this.current = null;
    this.started = null;
    try {
      await (await pool).terminate();
    } catch {
      /* failed to start: nothing to end */
    }
  }
}
