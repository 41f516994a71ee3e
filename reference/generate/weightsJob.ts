/**
 * One job of parallel weight generation (generate/parallel.ts): every local expert's FC1,
 * then FC2 bytes, written straight into shared per-expert views. Workers take experts from
 * a shared counter, so the split over threads never changes a byte: expert e's bytes come
 * from its own streams (generate/weights.ts generateExpertInto).
 */
import type { ScaleFamily } from '../case.js';
import type { Problem } from '../problem.js';
import { generateExpertInto, type WhichWeights } from './weights.js';

export interface WeightsJob {
  readonly seed: number;
  readonly problem: Problem;
  readonly family: ScaleFamily;
  readonly zeroLocal: number;
  /** Task i < El: FC1 of local expert i; i >= El: FC2 of local expert i - El. Views of shared memory. */
  readonly packed: readonly Uint8Array[];
  readonly scales: readonly Uint8Array[];
  /** Out [2·El]: each task's global encode scale (shared). */
  readonly globalScale: Float32Array;
  /** Shared task counter [1]. */
  readonly queue: Int32Array;
}

/** Run tasks from the shared counter until none is left; returns how many this thread ran. */
export function runWeightsJob(job: WeightsJob): number {
  const El = job.problem.localExperts;
  let done = 0;
  for (let i = Atomics.add(job.queue, 0, 1); i < 2 * El; i = Atomics.add(job.queue, 0, 1)) {
    const which: WhichWeights = i < El ? 'fc1' : 'fc2';
    const l = i < El ? i : i - El;
    job.globalScale[i] = generateExpertInto(job.seed, job.problem, which, job.family, job.zeroLocal, l, job.packed[i]!, job.scales[i]!);
    done++;
  }
  return done;
}
