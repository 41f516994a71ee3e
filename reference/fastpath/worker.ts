/**
 * Worker thread of the fast path (run as COMPILED JS: dist/reference/fastpath/worker.js).
 * Loads a matrix engine (backend.ts), reports it, then runs jobs posted by pool.ts.
 */
import { parentPort } from 'node:worker_threads';
import { loadMatrixEngine } from '../backend.js';
import { ExpertPipeline } from './expertPipeline.js';
import { runFinalize } from './finalizeJob.js';
import { runGemmBaseline } from './gemmBaselineJob.js';
import { runHidden } from './hiddenJob.js';
import type { Job, JobStats, WorkerReply, WorkerRequest } from './protocol.js';

const port = parentPort;
if (port === null) throw new Error('reference/fastpath/worker.js must run in a worker thread');

const post = (m: WorkerReply) => port.postMessage(m);

try {
  const { engine, note } = await loadMatrixEngine();
  const pipeline = new ExpertPipeline(engine);
  /** The runner of each job kind, keyed by kind. */
  const runners: { readonly [K in Job['kind']]: (job: Extract<Job, { kind: K }>) => JobStats } = {
    moe: (job) => pipeline.runMoe(job),
    hidden: (job) => runHidden(job, engine),
    finalize: (job) => runFinalize(job),
    gemm: (job) => runGemmBaseline(job, engine), // the benchmark's baseline only
  };
  port.on('message', (req: WorkerRequest) => {
    try {
      const job = req.job;
      const run = (runners as Record<string, ((j: Job) => JobStats) | undefined>)[job.kind];
      if (run === undefined) throw new Error(`fast-path worker: unknown job kind ${JSON.stringify(job.kind)} (known: ${Object.keys(runners).join(', ')})`);
      const stats = run(job);
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
