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
 * and 0.05 s compiled, and a serial generator does ~700 MB/s on one core, so below
 * `parallelFromBytes` (default 256 MiB of weights: ~0.4 s serial) threads cannot win.
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
import type { Case, CaseSpec, Fp4Weights } from '../case.js';
import { BadArgumentError } from '../errors.js';
import { defaultChunkBytes, ExpertBytes } from '../expertBytes.js';
import { SharedThreadPool, ThreadPool, workerLaunch, type WorkerMessage } from '../threadPool.js';
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

type Reply = { ready: true } | { id: number; experts: number } | { id: number; error: string; stack?: string };

function decode(raw: unknown): WorkerMessage<number, true> {
  const m = raw as Reply;
  if ('ready' in m) return { kind: 'ready', ready: true };
  if ('error' in m) return { kind: 'failed', id: m.id, error: Object.assign(new Error(`generation worker: ${m.error}`), { workerStack: m.stack }) };
  return { kind: 'done', id: m.id, result: m.experts };
}

/** The generator's pool (reference/threadPool.ts): one queue for its uses, restarts and shutdown. */
const shared = new SharedThreadPool<WeightsJob, number, true>((threads) =>
  ThreadPool.start<WeightsJob, number, true>({ launch: workerLaunch(import.meta.url, 'weightsWorker'), workers: threads, name: 'generation', decode }));

/** End the generation workers once the generations queued before have ended (the next one starts new ones). */
export function shutdownGenerationWorkers(): Promise<void> {
  return shared.shutdown();
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
  // In the pool's queue: no other generation in this process restarts or ends the workers meanwhile.
  const { hiddenOut, perWorker } = await shared.use(threads, async (pool) => {
    const running = pool.runAll(job);
    try {
      let hidden: ReturnType<typeof generateHidden>;
      try {
        hidden = generateHidden(spec.seed, p, spec.scaleFamily); // on this thread, meanwhile
      } catch (e) {
        await running.catch(() => undefined); // the workers write shared memory: let them finish
        throw e;
      }
      return { hiddenOut: hidden, perWorker: await running };
    } finally {
      if (bytes >= releaseFromBytes) await shared.endNow(); // free the views they hold
    }
  });
  const fc1: Fp4Weights = { ...w1, globalScale: globalScale.slice(0, El) };
  const fc2: Fp4Weights = { ...w2, globalScale: globalScale.slice(El, 2 * El) };
  const c = assembleCase(spec, logits, bias, hiddenOut.hidden, hiddenOut.sumSquares, fc1, fc2);
  info?.({ mode: 'workers', threads, perWorker, workers: bytes >= releaseFromBytes ? 'ended' : 'kept', ms: performance.now() - started });
  return c;
}
