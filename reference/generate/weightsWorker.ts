/**
 * Worker thread of parallel weight generation (generate/parallel.ts): runs WeightsJobs
 * posted by the main thread and answers how many experts it generated. Started compiled
 * (dist/…/weightsWorker.js) beside compiled code, or from this TypeScript file through tsx
 * (reference/threadPool.ts startWorker), like the fast path's worker.
 */
import { parentPort } from 'node:worker_threads';
import { runWeightsJob, type WeightsJob } from './weightsJob.js';

const port = parentPort;
if (port === null) throw new Error('reference/generate/weightsWorker must run in a worker thread');

port.on('message', (m: { id: number; job: WeightsJob }) => {
  try {
    port.postMessage({ id: m.id, experts: runWeightsJob(m.job) });
  } catch (e) {
    const err = e as Error;
    port.postMessage({ id: m.id, error: `${err.name ?? 'Error'}: ${err.message ?? String(e)}`, stack: err.stack });
  }
});
port.postMessage({ ready: true });
