/**
 * checkCase's NaN weight-scale scan, done by the workers in tasks of `scanBytes` bytes over
 * the scan arrays in order (the fast path runs them at the tail of the experts job, where
 * workers would otherwise wait for the last expert). Each array's `first[0]` ends as the
 * smallest NaN index found (NO_NAN_SCALE: none).
 */
import { firstNanScale } from '../checkCase.js';
import type { MatrixEngine } from './matrixEngine.js';
import type { NanScaleScanTask } from './protocol.js';

/** `first[0]` of an array without NaN scales. */
export const NO_NAN_SCALE = 0x7fffffff;

/** Run scan task `task`; false when there is no such task (the scan is done). */
export function runNanScaleScanTask(
  scans: readonly NanScaleScanTask[], scanBytes: number, task: number, engine: MatrixEngine | null,
): boolean {
  let t = task;
  for (const scan of scans) {
    const tasks = Math.ceil(scan.scales.length / scanBytes);
    if (t >= tasks) {
      t -= tasks;
      continue;
    }
    const a = t * scanBytes;
    const b = Math.min(scan.scales.length, a + scanBytes);
    const bytes = scan.scales.subarray(a, b);
    const i = engine === null ? firstNanScale(bytes, scan.format) : engine.kernels.nanScan(bytes, scan.format);
    if (i >= 0) { // keep the smallest index found by any worker
      for (let cur = Atomics.load(scan.first, 0); a + i < cur; cur = Atomics.load(scan.first, 0)) {
        if (Atomics.compareExchange(scan.first, 0, cur, a + i) === cur) break;
      }
    }
    return true;
  }
  return false;
}
