/**
 * One worker's share of the fast path: take local experts from the shared queue and, for
 * each, run the whole per-expert pipeline in cache-sized chunks of weight rows:
 *
 *   FC1, chunk by chunk of R elements of the intermediate dimension: the R up rows and the
 *   R gate rows of W1 decoded into engine memory (SIMD dequantizer), C = W1c · Xᵀ
 *   ([2R,H]·[H,n], GEMM), epilogue (float32, epilogue.ts), re-quantization
 *   (requantizeInPlace), fragility (errorWindow.ts: Cauchy–Schwarz radius bounds, exact
 *   Σ|W1·x̂| only for candidates, read from the chunk still in cache), and for NVFP4 the
 *   token side of absAccum's block products (fp4AbsProduct.ts);
 *   FC2, chunk by chunk of W2 rows: W2c decoded, C2 = W2c · Âᵀ (GEMM), absY by the block
 *   products (other formats: |W2c| decoded too and |W2c| · |Â|ᵀ by GEMM),
 *   y = fl(C2 · out2Scale) and absY scattered to the (token, slot) rows, the flip allowance
 *   of the fragile elements added from |W2c|.
 *
 * Decoding a few rows at a time keeps the float32 weights (4x the packed bytes) out of
 * main memory: they are written and read while in cache.
 */
import { expertEpilogue, swigluElement, type EpilogueParts, type ExpertEpilogue } from '../epilogue.js';
import { fc2InputBlock, RowAnalyzer, windowRadius, type FragilityCounts } from '../errorWindow.js';
import { F32_UNIT_ROUNDOFF } from '../formats/float.js';
import type { Fc2InputFormat } from '../problem.js';
import { outRows } from './fp4AbsProduct.js';
import type { EngineMatrix, MatrixEngine } from './matrixEngine.js';
import { runNanScaleScanTask } from './nanScaleScan.js';
import { emptyStats, type JobStats, type MoeJob } from './protocol.js';


/**
 * Rows per chunk: n when `copies` chunks of n rows of `rowBytes` fit chunkBytes (the job's
 * FastPathOptions.chunkBytes), else the largest power of two from 2048 down to 32 that
 * divides n (a multiple of 16) and fits (16 at least).
 */
function chunkRows(n: number, rowBytes: number, copies: number, chunkBytes: number): number {
  if (copies * n * rowBytes <= chunkBytes) return n;
  for (let c = 2048; c >= 32; c >>= 1) if (n % c === 0 && copies * c * rowBytes <= chunkBytes) return c;
  return 16;
}

/**
 * Growable scratch, reused across experts: a_c and â of one expert ([n, I], chunk-major) and
 * one token's x̂ row live on the engine (the analysis kernels read them there; fetch fresh
 * views after any engine call), as do one chunk's epilogue parts; row norms and per-token
 * scalars in JS.
 */
class Scratch {
  private aM: EngineMatrix | null = null;
  private ahatM: EngineMatrix | null = null;
  private xM: EngineMatrix | null = null;
  private partsM: [EngineMatrix, EngineMatrix, EngineMatrix] | null = null;
  norm = new Float64Array(0);
  pre = new Float64Array(0);
  xn = new Float64Array(0);
  constructor(private readonly engine: MatrixEngine) {}
  ensure(nI: number, rows: number, H: number, nR: number, n: number): void {
    if (this.partsM === null || this.partsM[0].cols < nR) {
      this.partsM?.forEach((m) => m.dispose());
      this.partsM = [this.engine.alloc(1, nR), this.engine.alloc(1, nR), this.engine.alloc(1, nR)];
    }
    if (this.pre.length < n) {
      this.pre = new Float64Array(n);
      this.xn = new Float64Array(n);
    }
    if (this.aM === null || this.aM.cols < nI) {
      this.aM?.dispose();
      this.ahatM?.dispose();
      this.aM = this.engine.alloc(1, nI);
      this.ahatM = this.engine.alloc(1, nI);
    }
    if (this.xM === null || this.xM.cols !== H || this.xM.rows < n) {
      this.xM?.dispose();
      this.xM = this.engine.alloc(Math.max(n, this.xM?.rows ?? 0), H);
    }
    if (this.norm.length < rows) this.norm = new Float64Array(rows);
  }
  /** a_c [n·I] (chunk-major). */
  get a(): EngineMatrix { return this.aM!; }
  /** â [n·I] (chunk-major). */
  get ahat(): EngineMatrix { return this.ahatM!; }
  /** The epilogue's parts of one chunk [n·R] (chunk-relative): gate', sigmoid, linear part. */
  get gate(): EngineMatrix { return this.partsM![0]; }
  get sig(): EngineMatrix { return this.partsM![1]; }
  get lin(): EngineMatrix { return this.partsM![2]; }
  get parts(): readonly [EngineMatrix, EngineMatrix, EngineMatrix] { return this.partsM!; }
  /** The expert's tokens' x̂ rows [n, H]. */
  get x(): EngineMatrix { return this.xM!; }
  /** FC2 output rows of one chunk, transposed and scaled: [n, R2] each (y, |y|). */
  outRows(len: number): [EngineMatrix, EngineMatrix] {
    if (this.outM === null || this.outM[0].cols < len) {
      this.outM?.forEach((m) => m.dispose());
      this.outM = [this.engine.alloc(1, len), this.engine.alloc(1, len)];
    }
    return this.outM;
  }
  private outM: [EngineMatrix, EngineMatrix] | null = null;
}

/** Fragile elements of one expert: (token position p, element i, Δ). */
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

/** Flip allowance of a few fragile elements, fed W2 row chunks (see ExpertPipeline.sparseFlips). */
interface SparseFlips {
  rows(w: EngineMatrix, rowOffset: number, h0: number, h1: number): void;
}

export class ExpertPipeline {
  private readonly scratch: Scratch;
  private readonly fragile = new FragileList();
  private readonly parts: EpilogueParts = { gate: 0, sig: 0, silu: 0, lin: 0 };
  private readonly analyzers = new Map<Fc2InputFormat, RowAnalyzer>();

  private readonly dots = new Float64Array(4);

  constructor(private readonly engine: MatrixEngine) {
    this.scratch = new Scratch(engine);
  }

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
    stats.start = performance.timeOrigin + t0;
    for (;;) {
      const idx = Atomics.add(job.queue, 0, 1);
      if (idx >= job.order.length) break;
      this.runExpert(job, job.order[idx]!, stats);
      stats.experts++;
    }
    // Then checkCase's NaN weight-scale scan, in the time workers would wait for the last expert.
    const ts = performance.now();
    while (runNanScaleScanTask(job.scans, job.scanBytes, Atomics.add(job.scanQueue, 0, 1), this.engine));
    if (job.scans.length > 0) lap(stats, 'NaN scale scan', ts);
    stats.ms = performance.now() - t0;
    stats.end = performance.timeOrigin + t0 + stats.ms;
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
    const full = job.analysis === 'full';
    const R = chunkRows(I, 4 * H, 2, job.chunkBytes); // R up rows and R gate rows
    // absAccum by exact integer block products (fp4AbsProduct.ts) where the engine has them
    // (row chunks of even length: H even).
    const fp4Abs = full && job.absAccum === 'blocks' && job.weightFormat === 'nvfp4' && job.fc2Format === 'nvfp4' && H % 2 === 0
      ? engine.kernels.fp4Abs : null;
    sc.ensure(n * I, 2 * R, H, n * R, n);
    let t = performance.now();

    // Tokens, transposed: Xᵀ [H, n] (the GEMMs' B operand, packed once by the backend).
    const xt = engine.alloc(H, n);
    {
      const v = sc.x.view(); // the tokens' rows [n, H] (also read by the exact FC1 sums)
      for (let p = 0; p < n; p++) {
        const xo = Math.floor(rows[r0 + p]! / k) * H;
        v.set(x.subarray(xo, xo + H), p * H);
      }
      engine.kernels.transpose({ src: sc.x, srcOff: 0, rows: n, cols: H, dst: xt, dstOff: 0, abs: null, f: 'copy', scale: 1 });
    }
    t = lap(stats, 'gather', t);

    const fragile = this.fragile;
    fragile.clear();
    const counts: FragilityCounts = { fragileElements: 0, fragileBlocks: 0 };
    // llama4: the routing weight of each token's slot, applied to FC1's accumulators.
    let preW: Float32Array | null = null;
    if (job.weightPlacement === 'before_fc1') {
      preW = new Float32Array(n);
      for (let p = 0; p < n; p++) preW[p] = job.weights[rows[r0 + p]!]!;
    }
    const w1c = engine.alloc(2 * R, H);
    const fc1Packed = job.fc1Packed[l]!; // expert l's own bytes (case.ts: per-expert storage)
    const fc1Scales = job.fc1Scales[l]!;
    for (let i0 = 0; i0 < I; i0 += R) {
      // Up rows i0..i0+R-1, then gate rows I+i0..I+i0+R-1, with their squared norms.
      // (Row norms feed the fragility prefilter only: not wanted for analysis 'output'.)
      engine.dequantFp4(
        { fmt: job.weightFormat, packed: fc1Packed, packedOffset: (i0 * H) / 2, scales: fc1Scales, scalesOffset: (i0 * H) / sf, rows: R, cols: H },
        { dst: w1c, row0: 0, absDst: null, rowSq: full ? sc.norm : null },
      );
      const gateNorm = full ? sc.norm.subarray(R, 2 * R) : null;
      engine.dequantFp4(
        { fmt: job.weightFormat, packed: fc1Packed, packedOffset: ((I + i0) * H) / 2, scales: fc1Scales, scalesOffset: ((I + i0) * H) / sf, rows: R, cols: H },
        { dst: w1c, row0: R, absDst: null, rowSq: gateNorm },
      );
      if (full) for (let r = 0; r < 2 * R; r++) sc.norm[r] = Math.sqrt(sc.norm[r]!) * (1 + 1e-9); // from upper bounds of Σ W²
      t = lap(stats, 'dequant', t);
      const c = engine.matmul(w1c, xt);
      t = lap(stats, 'gemm', t);
      engine.kernels.epilogue(c, n, R, preW, sc.a, i0 * n, full ? sc.parts : null, ep);
      t = lap(stats, 'epilogue', t);
      engine.kernels.requant(job.fc2Format, sc.a, sc.ahat, i0 * n, R * n);
      t = lap(stats, 'requant', t);
      if (fp4Abs !== null) {
        fp4Abs.tokens(sc.ahat, i0 * n, n, R, i0, I);
        t = lap(stats, 'absAccum', t);
      }
      if (full) {
        this.analyzeFragility(job, ep, w1c, c, r0, n, i0, R, counts, stats);
        t = lap(stats, 'fragility', t);
      }
      c.dispose();
    }
    w1c.dispose();
    xt.dispose();
    stats.elements += n * I;
    stats.fragileElements += counts.fragileElements;
    stats.fragileBlocks += counts.fragileBlocks;

    const o2s = ep.out2Scale;
    const ao2s = Math.abs(o2s);
    const base = job.t0 * k;
    const dense = fragile.length * 8 > n * I;
    // absAccum: exact block products, or (other formats, or the dense flip GEMM, which needs
    // |W2| anyway) the GEMM |W2| · |Â|ᵀ.
    const intAbs = dense ? null : fp4Abs;
    const absGemm = full && intAbs === null;

    // FC2 operands: Âᵀ and |Â|ᵀ [I, n] (â of (p, i) is at chunk-major index i0·n + p·R + r).
    const at = engine.alloc(I, n);
    const aat = absGemm ? engine.alloc(I, n) : null;
    for (let i0 = 0; i0 < I; i0 += R) {
      engine.kernels.transpose({
        src: sc.ahat, srcOff: i0 * n, rows: n, cols: R, dst: at, dstOff: i0 * n, abs: aat === null ? null : { dst: aat, off: i0 * n }, f: 'copy', scale: 1,
      });
    }
    t = lap(stats, 'gather', t);

    // Which slot rows of flipY this expert writes (all of them when dense, the rows of tokens
    // with fragile elements otherwise: sparseFlips marks those); finalize reads the others as
    // zero rows.
    if (full) for (let p = 0; p < n; p++) job.flipRows[rows[r0 + p]! - base] = dense ? 1 : 0;
    const sparse = fragile.length > 0 && !dense ? this.sparseFlips(job, r0, n, ao2s) : null;
    let dt: EngineMatrix | null = null;
    if (dense) {
      // Many fragile elements (e.g. bf16 re-quantization): |W2| · Δᵀ by GEMM.
      stats.denseFlipExperts++;
      dt = engine.alloc(I, n);
      const dv = dt.view();
      dv.fill(0);
      for (let f = 0; f < fragile.length; f++) dv[fragile.i[f]! * n + fragile.p[f]!] = fragile.d[f]!;
    }
    const R2 = chunkRows(H, 4 * I, absGemm ? 2 : 1, job.chunkBytes); // W2 rows per FC2 chunk (and |W2| rows for the GEMM)
    const w2c = engine.alloc(R2, I);
    const aw2c = absGemm ? engine.alloc(R2, I) : null;
    const fc2Packed = job.fc2Packed[l]!;
    const fc2Scales = job.fc2Scales[l]!;
    const y = job.y;
    const absY = job.absY;
    const flipY = job.flipY;
    const denseScale = ao2s * (1 + (I + 2) * F32_UNIT_ROUNDOFF); // float32 sums of non-negative terms: relative error <= γ(I)
    for (let h0 = 0; h0 < H; h0 += R2) {
      engine.dequantFp4(
        { fmt: job.weightFormat, packed: fc2Packed, packedOffset: (h0 * I) / 2, scales: fc2Scales, scalesOffset: (h0 * I) / sf, rows: R2, cols: I },
        { dst: w2c, row0: 0, absDst: aw2c, rowSq: null },
      );
      t = lap(stats, 'dequant', t);
      if (sparse !== null) {
        sparse.rows(w2c, h0, h0, h0 + R2);
        t = lap(stats, 'flip allowance', t);
      }
      const [ty, tabs] = sc.outRows(outRows(n) * R2);
      if (intAbs !== null) {
        intAbs.product(fc2Packed, (h0 * I) / 2, fc2Scales, (h0 * I) / sf, R2, tabs, ao2s);
        t = lap(stats, 'absAccum', t);
      }
      const c2 = engine.matmul(w2c, at);
      const c2a = aw2c === null ? null : engine.matmul(aw2c, aat!);
      const c3 = dt === null ? null : engine.matmul(aw2c!, dt);
      t = lap(stats, 'gemm', t);
      // y = fl(C2·out2Scale) and |y| = fl(C2a·|out2Scale|) (or the block products'),
      // transposed to token rows [n, R2] on the engine, then copied to the (token, slot) rows.
      engine.kernels.transpose({ src: c2, srcOff: 0, rows: R2, cols: n, dst: ty, dstOff: 0, abs: null, f: 'scale', scale: o2s });
      if (c2a !== null) engine.kernels.transpose({ src: c2a, srcOff: 0, rows: R2, cols: n, dst: tabs, dstOff: 0, abs: null, f: 'scale', scale: ao2s });
      {
        const vy = ty.view();
        const va = full ? tabs.view() : null;
        for (let p = 0; p < n; p++) {
          const so = (rows[r0 + p]! - base) * H + h0;
          y.set(vy.subarray(p * R2, (p + 1) * R2), so);
          if (va !== null) absY.set(va.subarray(p * R2, (p + 1) * R2), so);
        }
      }
      if (c3 !== null) {
        const v3 = c3.view();
        for (let p = 0; p < n; p++) {
          const so = (rows[r0 + p]! - base) * H + h0;
          for (let r = 0; r < R2; r++) flipY[so + r] = v3[r * n + p]! * denseScale;
        }
        c3.dispose();
      }
      c2.dispose();
      c2a?.dispose();
      t = lap(stats, 'scatter', t);
    }
    w2c.dispose();
    aw2c?.dispose();
    at.dispose();
    aat?.dispose();
    dt?.dispose();
  }

  /** Fragility of elements i0..i0+R-1 of every token; exact Σ|W1·x̂| from the chunk w (rows: R up, R gate). */
  private analyzeFragility(
    job: MoeJob, ep: ExpertEpilogue, w: EngineMatrix, cm: EngineMatrix, r0: number, n: number, i0: number, R: number,
    counts: FragilityCounts, stats: JobStats,
  ): void {
    const { k } = job;
    const sc = this.scratch;
    const parts = this.parts;
    const fragile = this.fragile;
    const kernels = this.engine.kernels;
    const dots = this.dots;
    let c: Float32Array = new Float32Array(0); // C's view, fetched after the prefilter
    let p = 0;
    let pre = 1;
    let base = 0; // element offset of the analyzed block within the token's row
    const exactRadius = (i: number): number => {
      const r = base + i;
      stats.exactRadii++;
      kernels.absDots(w, r, R + r, sc.x, p, dots);
      // Double sums of exact float32 products: relative error far below this margin.
      const su = (dots[0]! + dots[1]!) * (1 + 1e-9);
      const sg = (dots[2]! + dots[3]!) * (1 + 1e-9);
      const v = swigluElement(c[r * n + p]!, c[(R + r) * n + p]!, pre, ep, parts);
      return windowRadius(job.rho, su, sg, pre, ep, parts, v);
    };
    const emit = (i: number, d: number): void => fragile.push(p, i0 + base + i, d);
    const analyzer = this.analyzer(job.fc2Format);
    const B = fc2InputBlock(job.fc2Format);
    // Radius bounds and the blocks that may hold something (the rest certainly hold nothing).
    for (let q = 0; q < n; q++) {
      const row = job.rows[r0 + q]!;
      sc.pre[q] = job.weightPlacement === 'finalize' ? 1 : job.weights[row]!;
      sc.xn[q] = job.xNorm[Math.floor(row / k)]!;
    }
    const { radius, flags } = kernels.prefilter(job.fc2Format, {
      n, R, off: i0 * n, a: sc.a, ahat: sc.ahat, gate: sc.gate, sig: sc.sig, lin: sc.lin,
      norm: sc.norm, pre: sc.pre, xn: sc.xn, rho: job.rho, ep,
    });
    const a = sc.a.view(); // views after the prefilter (it may grow the heap)
    const ahat = sc.ahat.view();
    c = cm.view();
    const blocks = R / B;
    for (p = 0; p < n; p++) {
      const row = job.rows[r0 + p]!;
      const t = Math.floor(row / k);
      pre = job.weightPlacement === 'finalize' ? 1 : job.weights[row]!;
      const before = fragile.length;
      for (let b = 0; b < blocks; b++) {
        if (flags[p * blocks + b] === 0) continue;
        base = b * B;
        analyzer.analyze(a, ahat, i0 * n + p * R + base, B, radius, p * R + base, exactRadius, emit, counts);
      }
      if (fragile.length > before) job.fragileTokens[t] = 1;
    }
  }

  /**
   * Few fragile elements: flipY[row(p), h] = Σ_{fragile (p,i)} |W2[h,i]|·Δ·|out2Scale| (the
   * rows were zero-filled; float64 sums in entry order, rounded once), fed W2 row chunks
   * as they are decoded (rows h0..h1-1 at row h - rowOffset of w).
   */
  private sparseFlips(job: MoeJob, r0: number, nP: number, ao2s: number): SparseFlips {
    const { H, k } = job;
    const fragile = this.fragile;
    const m = fragile.length;
    const base = job.t0 * k;
    const flipY = job.flipY;
    const kernels = this.engine.kernels;
    // Entries grouped by token (counting sort on p: entry order kept within a token).
    const gStartAll = new Int32Array(nP + 1);
    for (let f = 0; f < m; f++) gStartAll[fragile.p[f]! + 1]!++;
    for (let q = 0; q < nP; q++) gStartAll[q + 1]! += gStartAll[q]!;
    const fill = gStartAll.slice(0, nP);
    const col = new Int32Array(m);
    const coef = new Float64Array(m);
    for (let f = 0; f < m; f++) {
      const at = fill[fragile.p[f]!]!++;
      col[at] = fragile.i[f]!;
      coef[at] = fragile.d[f]! * ao2s;
    }
    const gs: number[] = [];
    const gOut: number[] = [];
    for (let q = 0; q < nP; q++) {
      if (gStartAll[q + 1]! === gStartAll[q]!) continue;
      gs.push(gStartAll[q]!);
      gOut.push((job.rows[r0 + q]! - base) * H);
    }
    gs.push(m);
    for (let q = 0; q < nP; q++) if (gStartAll[q + 1]! > gStartAll[q]!) job.flipRows[job.rows[r0 + q]! - base] = 1;
    const groups = { count: gOut.length, start: Int32Array.from(gs), col, coef };
    return {
      rows(w, rowOffset, h0, h1) {
        const nh = h1 - h0;
        const out = kernels.flips(w, h0 - rowOffset, nh, groups);
        for (let g = 0; g < groups.count; g++) flipY.set(out.subarray(g * nh, (g + 1) * nh), gOut[g]! + h0);
      },
    };
  }
}
