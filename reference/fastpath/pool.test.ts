/**
 * The fast path's worker pool: from source the worker is the TypeScript entry itself (never
 * dist/), an edit anywhere in a worker's import graph takes effect at once (whatever the
 * file's timestamp), a job that fails in a worker rejects with the worker's error (after
 * every worker has finished with the shared buffers), and the pool keeps serving afterwards.
 */
import test from 'ava';
import { mkdtempSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { getBackend } from '../backend.js';
import { shutdownWorkerPool, startWorker, workerLaunch, workerPool, type WorkerLaunch } from './pool.js';
import type { MoeJob } from './protocol.js';

test.after.always(() => shutdownWorkerPool());

test('from source the worker is reference/fastpath/worker.ts through tsx; compiled, the sibling worker.js', (t) => {
  const src = workerLaunch();
  t.is(src.from, 'source');
  t.true(src.path.endsWith(join('reference', 'fastpath', 'worker.ts')), src.path);
  t.false(src.path.includes(`${join('dist', '')}`), 'a source run must not use dist/');
  const compiled = workerLaunch(pathToFileURL('/x/dist/reference/fastpath/pool.js').href);
  t.deepEqual(compiled, { from: 'compiled', path: '/x/dist/reference/fastpath/worker.js' });
});

/** Start a worker on `launch` and return the first message it posts. */
function firstMessage(launch: WorkerLaunch): Promise<unknown> {
  const w = startWorker(launch);
  return new Promise<unknown>((resolve, reject) => {
    w.once('message', (m) => { resolve(m); void w.terminate(); });
    w.once('error', reject);
  });
}

test('a source worker runs the current content of a transitively imported file, even with its old mtime', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'moe-pool-'));
  try {
    writeFileSync(join(dir, 'package.json'), '{"type": "module"}\n'); // as this project's own
    writeFileSync(join(dir, 'entry.ts'), "import { parentPort } from 'node:worker_threads';\nimport { value } from './mid.js';\nparentPort!.postMessage(value());\n");
    writeFileSync(join(dir, 'mid.ts'), "import { leaf } from './leaf.js';\nexport const value = (): string => `mid+${leaf}`;\n");
    const leaf = join(dir, 'leaf.ts');
    writeFileSync(leaf, "export const leaf: string = 'first';\n");
    const launch: WorkerLaunch = { ...(workerLaunch() as Extract<WorkerLaunch, { from: 'source' }>), path: join(dir, 'entry.ts') };
    t.is(await firstMessage(launch), 'mid+first');
    const before = statSync(leaf);
    writeFileSync(leaf, "export const leaf: string = 'second';\n");
    utimesSync(leaf, before.atime, before.mtime); // same timestamp: only the content tells
    t.is(await firstMessage(launch), 'mid+second');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a failing job rejects with the error of the worker and the pool keeps working', async (t) => {
  const pool = await workerPool(2);
  const broken = { kind: 'moe', order: new Int32Array(new SharedArrayBuffer(8)).fill(0), queue: new Int32Array(new SharedArrayBuffer(4)) } as unknown as MoeJob;
  await t.throwsAsync(pool.runAll(broken), { message: /^TypeError: / });
  const stats = await pool.runAll({ kind: 'gemm', H: 32, I: 32, tokens: new Int32Array(new SharedArrayBuffer(8)).fill(2), queue: new Int32Array(new SharedArrayBuffer(4)) });
  t.is(stats.reduce((s, x) => s + x.experts, 0), 2);
  const info = await getBackend(2);
  t.is(info.threads, 2);
  t.regex(info.name, /^tfjs-/);
});
