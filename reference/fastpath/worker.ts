/**
 * Worker thread of the fast path (run as COMPILED JS: dist/reference/fastpath/worker.js).
 * Loads a matrix engine (backend.ts), reports it, then runs jobs posted by pool.ts.
 */
import { parentPort } from 'node:worker_threads';
import { loadMatrixEngine } from '../backend.js';
import { ExpertPipeline } from './expertPipeline.js';
import { runFinalize } from './finalizeJob.js';
import { runHidden } from './hiddenJob.js';
import type { WorkerReply, WorkerRequest } from './protocol.js';

const port = parentPort;
if (port === null) throw new Error('reference/fastpath/worker.js must run in a worker thread');

const post = (m: WorkerReply) => port.postMessage(m);

try {
  const { engine, note } = await loadMatrixEngine();
  const pipeline = new ExpertPipeline(engine);
  port.on('message', (req: WorkerRequest) => {
    try {
      const job = req.job;
      const stats = job.kind === 'moe' ? pipeline.runMoe(job) : job.kind === 'gemm' ? pipeline.runGemm(job)
        : job.kind === 'hidden' ? runHidden(job, engine) : runFinalize(job);
      post({ type: 'done', id: req.id, stats });
    } catch (e) {
      const err = e as Error;
      post({ type: 'error', id: req.id, name: err.name ?? 'Error', message: err.message ?? String(e), stack: err.stack });
    }
  });
  post(note === undefined ? { type: 'ready', name: engine.name } : { type: 'ready', name: engine.name, note });
} catch (e) {
  const err = e as Error;
  post({ type: 'error', id: -1, name: err.name ?? 'Error', message: err.message ?? String(e), stack: err.stack });
}
