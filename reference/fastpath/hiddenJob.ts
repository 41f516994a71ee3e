/**
 * Worker side of the hidden-state decode: token blocks from the shared queue, decoded with
 * the same functions as dequantizeHidden (elementwise, so a block of rows decodes exactly
 * as in the whole array), and the row norms that the fragility prefilter uses.
 */
import { bf16ArrayToF32 } from '../formats/bf16.js';
import { dequantizeMxfp8 } from '../quant/mxfp8.js';
import { dequantizeNvfp4 } from '../quant/nvfp4.js';
import type { MatrixEngine } from './matrixEngine.js';
import { emptyStats, type HiddenJob, type JobStats } from './protocol.js';

export function runHidden(job: HiddenJob, engine: MatrixEngine | null = null): JobStats {
  const stats = emptyStats();
  const t0 = performance.now();
  const { T, H, x, xNorm } = job;
  for (;;) {
    const task = Atomics.add(job.queue, 0, 1);
    const a = task * job.tokensPerTask;
    if (a >= T) break;
    const b = Math.min(T, a + job.tokensPerTask);
    if (engine !== null && job.format === 'nvfp4') {
      decodeNvfp4OnEngine(job, engine, a, b);
      continue;
    }
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

/**
 * NVFP4 hidden states by the engine's FP4 decoder (q·s, exactly dequantizeNvfp4's values
 * with global scale 1), and the row norms from its upper bounds of Σx² (bounds for the
 * fragility prefilter only: any upper bound gives the same analysis).
 */
function decodeNvfp4OnEngine(job: HiddenJob, engine: MatrixEngine, a: number, b: number): void {
  const { H } = job;
  const n = b - a;
  const m = engine.alloc(n, H);
  const sq = job.xNorm === null ? null : new Float64Array(n);
  engine.dequantFp4(
    { fmt: 'nvfp4', packed: job.data as Uint8Array, packedOffset: (a * H) / 2, scales: job.scales!, scalesOffset: (a * H) / 16, rows: n, cols: H },
    { dst: m, row0: 0, absDst: null, rowSq: sq },
  );
  job.x.set(m.view(), a * H);
  m.dispose();
  if (sq !== null) for (let t = 0; t < n; t++) job.xNorm![a + t] = Math.sqrt(sq[t]!) * (1 + 1e-9);
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
