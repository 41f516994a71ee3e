/**
 * The fast path's worker pool: the compiled worker is found, a job that fails in a worker
 * rejects with the worker's error (after every worker has finished with the shared
 * buffers), and the pool keeps serving afterwards.
 */
import test from 'ava';
import { existsSync } from 'node:fs';
import { getBackend } from '../backend.js';
import { compiledWorkerPath, shutdownWorkerPool, workerPool } from './pool.js';
import type { MoeJob } from './protocol.js';

test.after.always(() => shutdownWorkerPool());

test('the compiled worker exists (npm test builds it first)', (t) => {
  t.true(existsSync(compiledWorkerPath()));
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
