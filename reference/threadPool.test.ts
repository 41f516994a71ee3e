/**
 * threadPool.ts on a throwaway worker (TypeScript, started through tsx as a source run
 * does): every worker answers a job, a worker's error rejects the job and the pool goes on,
 * a dead worker marks the pool dead and the shared pool replaces it, and the shared pool's
 * queue keeps a shutdown or a restart from landing under a job in flight.
 */
import test from 'ava';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { SharedThreadPool, ThreadPool, workerLaunch, type WorkerLaunch, type WorkerMessage } from './threadPool.js';

const dir = mkdtempSync(join(tmpdir(), 'moe-threadpool-'));
test.after.always(() => rmSync(dir, { recursive: true, force: true }));
writeFileSync(join(dir, 'package.json'), '{"type": "module"}\n');
// Job n: answers n·10 + the worker's thread id parity after `n` ms; 'throw' answers an error; 'die' exits.
writeFileSync(join(dir, 'echo.ts'), [
  "import { parentPort, threadId } from 'node:worker_threads';",
  "parentPort!.on('message', (m: { id: number; job: number | 'throw' | 'die' }) => {",
  "  if (m.job === 'die') process.exit(3);",
  "  if (m.job === 'throw') { parentPort!.postMessage({ id: m.id, error: 'RangeError: scripted' }); return; }",
  "  const n = m.job;",
  "  setTimeout(() => parentPort!.postMessage({ id: m.id, value: n * 10 + (threadId % 2) }), n);",
  '});',
  "parentPort!.postMessage({ ready: threadId });",
  '',
].join('\n'));

// The launch rules of the module, pointed at the throwaway entry beside it.
const launch: WorkerLaunch = { ...(workerLaunch(import.meta.url, 'threadPool') as Extract<WorkerLaunch, { from: 'source' }>), path: join(dir, 'echo.ts') };
type Job = number | 'throw' | 'die';
const decode = (raw: unknown): WorkerMessage<number, number> => {
  const m = raw as { ready?: number; id: number; value?: number; error?: string };
  if (m.ready !== undefined) return { kind: 'ready', ready: m.ready };
  if (m.error !== undefined) return { kind: 'failed', id: m.id, error: new Error(m.error) };
  return { kind: 'done', id: m.id, result: m.value! };
};
const start = (workers: number) => ThreadPool.start<Job, number, number>({ launch, workers, name: 'echo', decode });

test('workerLaunch: compiled beside compiled, TypeScript through tsx beside TypeScript', (t) => {
  t.deepEqual(workerLaunch(pathToFileURL('/x/dist/reference/a.js').href, 'w'), { from: 'compiled', path: '/x/dist/reference/w.js' });
  const src = workerLaunch(pathToFileURL('/x/reference/a.ts').href, 'w');
  t.is(src.from, 'source');
  t.is(src.path, '/x/reference/w.ts');
});

test('every worker answers the job; an error in one rejects it and the pool goes on; a death marks it dead', async (t) => {
  const pool = await start(3);
  try {
    t.is(pool.size, 3);
    t.is(pool.ready.length, 3);
    t.deepEqual((await pool.runAll(1)).map((v) => Math.floor(v / 10)), [1, 1, 1], 'three answers');
    await t.throwsAsync(pool.runAll('throw'), { message: 'RangeError: scripted' });
    t.is((await pool.runAll(2)).length, 3, 'still serving');
    await t.throwsAsync(pool.runAll('die'), { message: /^echo worker exited \(code 3\)$/ });
    t.truthy(pool.dead);
    await t.throwsAsync(pool.runAll(1), { message: /^echo worker exited/ }, 'a dead pool refuses at once');
  } finally {
    await pool.terminate();
  }
});

test('the shared pool: a shutdown and a restart queued behind a job wait for it; a dead pool is replaced', async (t) => {
  const shared = new SharedThreadPool<Job, number, number>(start);
  try {
    const order: string[] = [];
    const slow = shared.use(2, async (p) => { const r = await p.runAll(200); order.push('job'); return r; });
    const down = shared.shutdown().then(() => order.push('shutdown'));
    const other = shared.use(1, async (p) => { order.push(`restart with ${p.size}`); return p.runAll(1); });
    t.is((await slow).length, 2, 'the job in flight finished on its two workers');
    await down;
    t.is((await other).length, 1);
    t.deepEqual(order, ['job', 'shutdown', 'restart with 1']);
    t.is(shared.liveWorkers(1), 1);
    t.is(shared.liveWorkers(2), 0);
    await t.throwsAsync(shared.use(1, (p) => p.runAll('die')), { message: /exited \(code 3\)/ });
    t.is((await shared.use(1, (p) => p.runAll(1))).length, 1, 'a new pool after the death');
  } finally {
    await shared.shutdown();
  }
});
