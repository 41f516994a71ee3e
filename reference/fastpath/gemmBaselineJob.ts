/**
 * The benchmark's baseline (reference/bench.ts), not part of any reference run: plain GEMM
 * throughput on the MoE's per-expert GEMM shapes, C1 = W1·Xᵀ and C2 = W2·Aᵀ, with fresh B
 * operands (as each expert has) and no other work, on the same engine and worker threads as
 * the fast path. The worker runs it as the 'gemm' job.
 */
import type { EngineMatrix, MatrixEngine } from './matrixEngine.js';
import { emptyStats, type JobStats } from './protocol.js';

/** Plain GEMM throughput job: the per-expert shapes of a MoE, no MoE arithmetic. */
export interface GemmJob {
  readonly kind: 'gemm';
  readonly H: number;
  readonly I: number;
  /** Tokens per task (per expert). */
  readonly tokens: Int32Array;
  readonly queue: Int32Array;
}

/** Baseline operands, kept from one GEMM job to the next in this worker (filled once, outside the timing). */
let operands: { engine: MatrixEngine; H: number; I: number; w1: EngineMatrix; w2: EngineMatrix; template: Float32Array } | null = null;

/** Deterministic ordinary values (no denormals, no NaN) for the throughput baseline. */
function fillPattern(v: Float32Array): void {
  for (let i = 0; i < v.length; i++) v[i] = ((i * 7919) % 1021) / 1021 - 0.5;
}

/** Run the job's tasks taken from its shared queue; stats.experts counts them, stats.ms times them. */
export function runGemmBaseline(job: GemmJob, engine: MatrixEngine): JobStats {
  const stats = emptyStats();
  const { H, I } = job;
  let maxN = 0;
  for (const n of job.tokens) maxN = Math.max(maxN, n);
  let ops = operands;
  if (ops === null || ops.engine !== engine || ops.H !== H || ops.I !== I || ops.template.length < Math.max(H, I) * maxN) {
    if (ops !== null) {
      ops.w1.dispose();
      ops.w2.dispose();
    }
    const w1 = engine.alloc(2 * I, H);
    const w2 = engine.alloc(H, I);
    fillPattern(w1.view());
    fillPattern(w2.view());
    const template = new Float32Array(Math.max(H, I) * Math.max(maxN, 64));
    fillPattern(template);
    ops = { engine, H, I, w1, w2, template };
    operands = ops;
  }
  const { w1, w2, template } = ops;
  const t0 = performance.now();
  for (;;) {
    const idx = Atomics.add(job.queue, 0, 1);
    if (idx >= job.tokens.length) break;
    const n = job.tokens[idx]!;
    if (n === 0) continue;
    const xt = engine.alloc(H, n);
    xt.view().set(template.subarray(0, H * n));
    const c1 = engine.matmul(w1, xt);
    xt.dispose();
    c1.dispose();
    const at = engine.alloc(I, n);
    at.view().set(template.subarray(0, I * n));
    const c2 = engine.matmul(w2, at);
    at.dispose();
    c2.dispose();
    stats.experts++;
  }
  stats.ms = performance.now() - t0;
  return stats;
}
