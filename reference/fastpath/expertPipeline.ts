/**
 * One worker's share of the fast path: take local experts from the shared queue and, for
 * each, run the whole per-expert pipeline:
 *
 *   W1 dequantized once straight into engine memory (dequantTable.ts), tokens gathered
 *   transposed Xᵀ [H, n];  C1 = W1 · Xᵀ  [2I, n]  (GEMM);  epilogue (float32, epilogue.ts);
 *   re-quantization (requantizeInPlace);  fragility (errorWindow.ts: Cauchy–Schwarz radius
 *   bounds, exact Σ|W1·x̂| only for candidates);  C2 = W2 · Âᵀ [H, n] and |W2| · |Â|ᵀ
 *   (GEMMs);  y = fl(C2 · out2Scale) scattered to its (token, slot) row;  flip allowance
 *   per fragile element (or one more GEMM when they are many).
 */
import { expertEpilogue, swigluElement, type EpilogueParts, type ExpertEpilogue } from '../epilogue.js';
import { RowAnalyzer, windowRadius, type Fc2InputFormat, type FragilityCounts } from '../errorWindow.js';
import { requantizeInPlace } from '../quant/requantize.js';
import type { EngineMatrix, MatrixEngine } from './matrixEngine.js';
import { emptyStats, type GemmJob, type JobStats, type MoeJob } from './protocol.js';

const fl = Math.fround;
const U = 2 ** -24;

/** Growable scratch arrays, reused across experts. */
class Scratch {
  a = new Float32Array(0);
  ahat = new Float32Array(0);
  radius = new Float64Array(0);
  norm1 = new Float64Array(0);
  ensure(nI: number, twoI: number): void {
    if (this.a.length < nI) {
      this.a = new Float32Array(nI);
      this.ahat = new Float32Array(nI);
      this.radius = new Float64Array(nI);
    }
    if (this.norm1.length < twoI) this.norm1 = new Float64Array(twoI);
  }
}

/** Fragile elements of one expert, in (token position p, element i) order. */
class FragileList {
  p: number[] = [];
  i: number[] = [];
  d: number[] = [];
  get length(): number { return this.p.length; }
  clear(): void { this.p.length = 0; this.i.length = 0; this.d.length = 0; }
  push(p: number, i: number, d: number): void { this.p.push(p); this.i.push(i); this.d.push(d); }
}

/** Adds the time since `t` to phase `name`; returns now. */
function lap(stats: JobStats, name: string, t: number): number {
  const now = performance.now();
  stats.phases[name] = (stats.phases[name] ?? 0) + (now - t);
  return now;
}

export class ExpertPipeline {
  private readonly scratch = new Scratch();
  private readonly fragile = new FragileList();
  private readonly parts: EpilogueParts = { gate: 0, sig: 0, silu: 0, lin: 0 };

  private readonly analyzers = new Map<Fc2InputFormat, RowAnalyzer>();

  constructor(private readonly engine: MatrixEngine) {}

  private analyzer(fmt: Fc2InputFormat): RowAnalyzer {
    let a = this.analyzers.get(fmt);
    if (a === undefined) {
      a = new RowAnalyzer(fmt);
      this.analyzers.set(fmt, a);
    }
    return a;
  }

  /** Run experts from the job's queue until it is empty. */
  runMoe(job: MoeJob): JobStats {
    const stats = emptyStats();
    const t0 = performance.now();
    for (;;) {
      const idx = Atomics.add(job.queue, 0, 1);
      if (idx >= job.order.length) break;
      this.runExpert(job, job.order[idx]!, stats);
      stats.experts++;
    }
    stats.ms = performance.now() - t0;
    return stats;
  }

  private runExpert(job: MoeJob, l: number, stats: JobStats): void {
    const { H, I, k } = job;
    const engine = this.engine;
    const r0 = job.start[l]!;
    const n = job.start[l + 1]! - r0;
    if (n === 0) return;
    const rows = job.rows;
    const x = job.x;
    const sf = job.weightFormat === 'nvfp4' ? 16 : 32;
    const ep = expertEpilogue(job, l);
    const sc = this.scratch;
    sc.ensure(n * I, 2 * I);
    let t = performance.now();

    // FC1: C1 = W1 · Xᵀ.
    const w1 = engine.alloc(2 * I, H);
    engine.dequantFp4(job.weightFormat, job.fc1Packed, (l * 2 * I * H) / 2, job.fc1Scales, (l * 2 * I * H) / sf, 2 * I, H, w1, 0, null, sc.norm1);
    t = lap(stats, 'dequant', t);
    const xt = engine.alloc(H, n);
    {
      const v = xt.view();
      for (let p = 0; p < n; p++) {
        const xo = Math.floor(rows[r0 + p]! / k) * H;
        for (let h = 0; h < H; h++) v[h * n + p] = x[xo + h]!;
      }
    }
    t = lap(stats, 'gather', t);
    const c1 = engine.matmul(w1, xt);
    xt.dispose();
    t = lap(stats, 'gemm', t);

    // Epilogue and the radius bounds (Cauchy–Schwarz: Σ|w·x| <= ||w||·||x||).
    for (let r = 0; r < 2 * I; r++) sc.norm1[r] = Math.sqrt(sc.norm1[r]!) * (1 + 1e-9); // from Σ W² (an upper bound)
    const a = sc.a;
    const ahat = sc.ahat;
    const radius = sc.radius;
    const parts = this.parts;
    {
      const c1v = c1.view();
      const norm1 = sc.norm1;
      for (let p = 0; p < n; p++) {
        const row = rows[r0 + p]!;
        const pre = job.finalizeWeights ? 1 : job.weights[row]!;
        const xn = job.xNorm[Math.floor(row / k)]!;
        const o = p * I;
        for (let i = 0; i < I; i++) {
          const v = swigluElement(c1v[i * n + p]!, c1v[(I + i) * n + p]!, pre, ep, parts);
          a[o + i] = v;
          radius[o + i] = windowRadius(job.rho, norm1[i]! * xn, norm1[I + i]! * xn, pre, ep, parts, v);
        }
      }
    }
    t = lap(stats, 'epilogue', t);
    ahat.set(a.subarray(0, n * I));
    requantizeInPlace(job.fc2Format, ahat, 0, n * I);
    stats.elements += n * I;
    t = lap(stats, 'requant', t);

    // Fragility: exact radii only for candidates.
    const fragile = this.fragile;
    fragile.clear();
    this.analyzeFragility(job, ep, w1, c1, r0, n, stats);
    w1.dispose();
    c1.dispose();
    t = lap(stats, 'fragility', t);

    // FC2: C2 = W2 · Âᵀ and |W2| · |Â|ᵀ.
    const at = engine.alloc(I, n);
    const aat = engine.alloc(I, n);
    {
      const v = at.view();
      const va = aat.view();
      for (let p = 0; p < n; p++) {
        const o = p * I;
        for (let i = 0; i < I; i++) {
          const q = ahat[o + i]!;
          v[i * n + p] = q;
          va[i * n + p] = Math.abs(q);
        }
      }
    }
    t = lap(stats, 'gather', t);
    // W2 dequantized in row chunks; a few fragile elements' flip allowance is summed while
    // each chunk is still in cache (|W2| row h, the fragile columns i).
    const o2s = ep.out2Scale;
    const ao2s = Math.abs(o2s);
    const base = job.t0 * k;
    const w2 = engine.alloc(H, I);
    const aw2 = engine.alloc(H, I);
    const dense = fragile.length * 8 > n * I;
    const sparse = fragile.length > 0 && !dense ? this.sparseFlips(job, r0, ao2s) : null;
    {
      const pBase = (l * H * I) / 2;
      const sBase = (l * H * I) / sf;
      const CH = sparse === null ? H : 64;
      for (let h0 = 0; h0 < H; h0 += CH) {
        const rowsN = Math.min(CH, H - h0);
        engine.dequantFp4(job.weightFormat, job.fc2Packed, pBase + (h0 * I) / 2, job.fc2Scales, sBase + (h0 * I) / sf, rowsN, I, w2, h0, aw2, null);
        if (sparse !== null) sparse.rows(aw2.view(), h0, h0 + rowsN);
      }
    }
    t = lap(stats, 'dequant', t);
    const c2 = engine.matmul(w2, at);
    w2.dispose();
    const c2a = engine.matmul(aw2, aat);
    at.dispose();
    aat.dispose();
    t = lap(stats, 'gemm', t);
    {
      const v = c2.view();
      const va = c2a.view();
      const y = job.y;
      const absY = job.absY;
      for (let p = 0; p < n; p++) {
        const so = (rows[r0 + p]! - base) * H;
        for (let h = 0; h < H; h++) {
          y[so + h] = fl(v[h * n + p]! * o2s);
          absY[so + h] = va[h * n + p]! * ao2s;
        }
      }
    }
    c2.dispose();
    c2a.dispose();
    t = lap(stats, 'scatter', t);
    if (dense) this.denseFlips(job, aw2, r0, n, ao2s, stats);
    aw2.dispose();
    lap(stats, 'flip', t);
  }

  private analyzeFragility(job: MoeJob, ep: ExpertEpilogue, w1: EngineMatrix, c1: EngineMatrix, r0: number, n: number, stats: JobStats): void {
    const { H, I, k } = job;
    const sc = this.scratch;
    const parts = this.parts;
    const fragile = this.fragile;
    const w1v = w1.view();
    const c1v = c1.view();
    const x = job.x;
    const counts: FragilityCounts = { fragileElements: 0, fragileBlocks: 0 };
    let p = 0;
    let xo = 0;
    let pre = 1;
    const exactRadius = (i: number): number => {
      stats.exactRadii++;
      let su0 = 0, su1 = 0, sg0 = 0, sg1 = 0;
      const ou = i * H;
      const og = (I + i) * H;
      for (let h = 0; h < H; h += 2) {
        const x0 = Math.abs(x[xo + h]!);
        const x1 = Math.abs(x[xo + h + 1]!);
        su0 += Math.abs(w1v[ou + h]!) * x0;
        su1 += Math.abs(w1v[ou + h + 1]!) * x1;
        sg0 += Math.abs(w1v[og + h]!) * x0;
        sg1 += Math.abs(w1v[og + h + 1]!) * x1;
      }
      // Double sums of exact float32 products: relative error far below this margin.
      const su = (su0 + su1) * (1 + 1e-9);
      const sg = (sg0 + sg1) * (1 + 1e-9);
      const v = swigluElement(c1v[i * n + p]!, c1v[(I + i) * n + p]!, pre, ep, parts);
      return windowRadius(job.rho, su, sg, pre, ep, parts, v);
    };
    const emit = (i: number, d: number): void => fragile.push(p, i, d);
    for (p = 0; p < n; p++) {
      const row = job.rows[r0 + p]!;
      const t = Math.floor(row / k);
      pre = job.finalizeWeights ? 1 : job.weights[row]!;
      xo = t * H;
      const before = fragile.length;
      this.analyzer(job.fc2Format).analyze(sc.a, sc.ahat, p * I, I, sc.radius, p * I, exactRadius, emit, counts);
      if (fragile.length > before) job.fragileTokens[t] = 1;
    }
    stats.fragileElements += counts.fragileElements;
    stats.fragileBlocks += counts.fragileBlocks;
  }

  /** Many fragile elements (e.g. bf16 re-quantization): one dense GEMM |W2| · Δᵀ. */
  private denseFlips(job: MoeJob, aw2: EngineMatrix, r0: number, n: number, ao2s: number, stats: JobStats): void {
    const { H, I, k } = job;
    const fragile = this.fragile;
    const base = job.t0 * k;
    const flipY = job.flipY;
    stats.denseFlipExperts++;
    const dt = this.engine.alloc(I, n);
    const dv = dt.view();
    dv.fill(0);
    for (let f = 0; f < fragile.length; f++) dv[fragile.i[f]! * n + fragile.p[f]!] = fragile.d[f]!;
    const c3 = this.engine.matmul(aw2, dt);
    dt.dispose();
    const v = c3.view();
    const scale = ao2s * (1 + (I + 2) * U); // float32 sum of non-negative terms: relative error <= γ(I)
    for (let p = 0; p < n; p++) {
      const so = (job.rows[r0 + p]! - base) * H;
      for (let h = 0; h < H; h++) flipY[so + h] = v[h * n + p]! * scale;
    }
    c3.dispose();
  }

  /**
   * Few fragile elements: flipY[row(p), h] += Σ_{fragile (p,i)} |W2[h,i]|·Δ·|out2Scale|, fed
   * row range by row range of |W2| as it is dequantized.
   */
  private sparseFlips(job: MoeJob, r0: number, ao2s: number): { rows(w: Float32Array, h0: number, h1: number): void } {
    const { H, I, k } = job;
    const fragile = this.fragile;
    const m = fragile.length;
    const base = job.t0 * k;
    const flipY = job.flipY;
    const fi = Int32Array.from(fragile.i);
    const fc = new Float64Array(m);
    for (let f = 0; f < m; f++) fc[f] = fragile.d[f]! * ao2s;
    // Groups of consecutive entries with the same token (the list is in token order).
    const gs: number[] = [];
    const go: number[] = [];
    for (let f = 0; f < m; f++) {
      if (f === 0 || fragile.p[f] !== fragile.p[f - 1]) {
        gs.push(f);
        go.push((job.rows[r0 + fragile.p[f]!]! - base) * H);
      }
    }
    gs.push(m);
    const gStart = Int32Array.from(gs);
    const gOut = Int32Array.from(go);
    const G = gOut.length;
    return {
      rows(w, h0, h1) {
        for (let h = h0; h < h1; h++) {
          const wo = h * I;
          for (let g = 0; g < G; g++) {
            let acc = 0;
            for (let f = gStart[g]!, e = gStart[g + 1]!; f < e; f++) acc += w[wo + fi[f]!]! * fc[f]!;
            const o = gOut[g]! + h;
            flipY[o] = flipY[o]! + acc;
          }
        }
      },
    };
  }

  /** Baseline operands, kept from one GEMM job to the next (filled once, outside the timing). */
  private gemmOperands: { H: number; I: number; w1: EngineMatrix; w2: EngineMatrix; template: Float32Array } | null = null;

  /**
   * Plain GEMM throughput (bench baseline): the MoE's per-expert GEMM shapes, C1 = W1·Xᵀ and
   * C2 = W2·Aᵀ, with fresh B operands (as each expert has) and no other work.
   */
  runGemm(job: GemmJob): JobStats {
    const stats = emptyStats();
    const { H, I } = job;
    const engine = this.engine;
    let maxN = 0;
    for (const n of job.tokens) maxN = Math.max(maxN, n);
    let ops = this.gemmOperands;
    if (ops === null || ops.H !== H || ops.I !== I || ops.template.length < Math.max(H, I) * maxN) {
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
      ops = { H, I, w1, w2, template };
      this.gemmOperands = ops;
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
}

/** Deterministic ordinary values (no denormals, no NaN) for the throughput baseline. */
function fillPattern(v: Float32Array): void {
  for (let i = 0; i < v.length; i++) v[i] = ((i * 7919) % 1021) / 1021 - 0.5;
}
