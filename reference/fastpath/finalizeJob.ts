/** Worker side of the finalize phase: token blocks from the shared queue (finalize.ts does the sums). */
import { finalizeTokens } from '../finalize.js';
import { f32ArrayToBf16 } from '../formats/bf16.js';
import { emptyStats, type FinalizeJob, type JobStats } from './protocol.js';

export function runFinalize(job: FinalizeJob): JobStats {
  const stats = emptyStats();
  const t0 = performance.now();
  const out = { outputF32: job.outputF32, absAccum: job.absAccum, flipAllowance: job.flipAllowance };
  const slots = { y: job.y, absY: job.absY, flipY: job.flipY };
  for (;;) {
    const task = Atomics.add(job.queue, 0, 1);
    const a = job.t0 + task * job.tokensPerTask;
    if (a >= job.t1) break;
    const b = Math.min(job.t1, a + job.tokensPerTask);
    // finalizeTokens indexes slot rows relative to the chunk start job.t0.
    finalizeRange(job, slots, out, a, b);
  }
  stats.ms = performance.now() - t0;
  stats.phases.finalize = stats.ms;
  return stats;
}

function finalizeRange(
  job: FinalizeJob, slots: { y: Float32Array; absY: Float32Array; flipY: Float32Array },
  out: { outputF32: Float32Array; absAccum: Float32Array; flipAllowance: Float32Array }, a: number, b: number,
): void {
  const off = (a - job.t0) * job.topK * job.H;
  const len = (b - a) * job.topK * job.H;
  finalizeTokens(job, job.ids, job.weights, job.finalizeWeights, {
    y: slots.y.subarray(off, off + len), absY: slots.absY.subarray(off, off + len), flipY: slots.flipY.subarray(off, off + len),
  }, a, b, out, job.analysis === 'output');
  // The final bf16 rounding of these rows, here rather than serially on the main thread.
  job.outputBf16.set(f32ArrayToBf16(job.outputF32.subarray(a * job.H, b * job.H)), a * job.H);
}
