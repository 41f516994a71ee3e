/**
 * Worker side of the hidden-state decode: token blocks from the shared queue, decoded with
 * the same functions as dequantizeHidden (elementwise, so a block of rows decodes exactly
 * as in the whole array), and the row norms that the fragility prefilter uses.
 */
import { firstNanScale } from '../checkCase.js';
import { bf16ArrayToF32 } from '../formats/bf16.js';
import { dequantizeMxfp8 } from '../quant/mxfp8.js';
import { dequantizeNvfp4 } from '../quant/nvfp4.js';
import { emptyStats, type HiddenJob, type JobStats } from './protocol.js';

export function runHidden(job: HiddenJob): JobStats {
  const stats = emptyStats();
  const t0 = performance.now();
  const { T, H, x, xNorm } = job;
  const decodeTasks = Math.ceil(T / job.tokensPerTask);
  for (;;) {
    const task = Atomics.add(job.queue, 0, 1);
    if (task >= decodeTasks) {
      if (scanTask(job, task - decodeTasks)) continue;
      break;
    }
    const a = task * job.tokensPerTask;
    const b = Math.min(T, a + job.tokensPerTask);
    x.set(decodeRows(job, a, b), a * H);
    if (xNorm !== null) {
      for (let t = a; t < b; t++) {
        let s = 0;
        for (let h = t * H; h < (t + 1) * H; h++) s += x[h]! * x[h]!;
        xNorm[t] = Math.sqrt(s) * (1 + 2 ** -40);
      }
    }
  }
  stats.ms = performance.now() - t0;
  stats.phases.hidden = stats.ms;
  return stats;
}

/** Scan task `task` (ranges of scanBytes over the scan arrays in order); false past the last one. */
function scanTask(job: HiddenJob, task: number): boolean {
  let t = task;
  for (const scan of job.scans) {
    const tasks = Math.ceil(scan.scales.length / job.scanBytes);
    if (t >= tasks) {
      t -= tasks;
      continue;
    }
    const a = t * job.scanBytes;
    const b = Math.min(scan.scales.length, a + job.scanBytes);
    const i = firstNanScale(scan.scales.subarray(a, b), scan.nvfp4);
    if (i >= 0) { // keep the smallest index found by any worker
      for (let cur = Atomics.load(scan.first, 0); a + i < cur; cur = Atomics.load(scan.first, 0)) {
        if (Atomics.compareExchange(scan.first, 0, cur, a + i) === cur) break;
      }
    }
    return true;
  }
  return false;
}

function decodeRows(job: HiddenJob, a: number, b: number): Float32Array {
  const { H } = job;
  const n = b - a;
  if (job.format === 'bf16') return bf16ArrayToF32((job.data as Uint16Array).subarray(a * H, b * H));
  const scales = job.scales!;
  if (job.format === 'nvfp4') {
    return dequantizeNvfp4((job.data as Uint8Array).subarray((a * H) / 2, (b * H) / 2), scales.subarray((a * H) / 16, (b * H) / 16), n, H, 1);
  }
  return dequantizeMxfp8((job.data as Uint8Array).subarray(a * H, b * H), scales.subarray((a * H) / 32, (b * H) / 32), n, H);
}
