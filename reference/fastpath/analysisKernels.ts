/**
 * The fast path's per-element analysis work that is not a GEMM, behind one interface with
 * two implementations that compute the same bits: WebAssembly SIMD kernels (wasm/analysis.wat)
 * on tfjs-backend-wasm's heap, and plain JS on any engine's matrices (the fallback for
 * engines without a heap, e.g. tfjs-node, and the twin the kernels are tested against).
 *
 *  - absDots: the exact FC1 absolute sums Σ|W1[r,h]|·|x̂[h]| of one up row and one gate row,
 *    in float64, as four lane sums (even h, odd h) that the caller adds;
 *  - epilogue: SwiGLU of one FC1 chunk (epilogue.ts; the WebAssembly sigmoid uses a port of
 *    V8's Math.exp with the same bits), optionally with its parts for the prefilter;
 *  - requant: FC2's input re-quantized from a float32 slice (quant/requantize.ts);
 *  - transpose: dst = f(srcᵀ) with f a copy or a float32 scaling (the GEMM operands and
 *    outputs change layout), optionally |f(srcᵀ)| to a second matrix;
 *  - flips: the sparse flip allowance of a few fragile elements over one |W2| row chunk;
 *  - prefilter: the radius bounds of one FC1 chunk (errorWindow.ts windowRadius on
 *    Cauchy–Schwarz sums) and, per block of FC2's input, whether RowAnalyzer can have
 *    anything to do there (flag 1) or certainly not (flag 0): the fast path then runs the
 *    exact analysis on flagged blocks only, which gives exactly the full analysis's answer.
 */
import { firstNanScale } from '../checkCase.js';
import { swigluElement, type EpilogueParts, type ExpertEpilogue } from '../epilogue.js';
import {
  bf16Stays, e2m1Stays, e4m3Stays, prefilterTables, slack, windowRadius,
} from '../errorWindow.js';
import { requantBlock, requantBlockCode, requantizeInPlace, type RequantFormat } from '../quant/requantize.js';
import type { EngineMatrix } from './matrixEngine.js';
import type { EmscriptenHeap } from './simdDequant.js';
import { ANALYSIS_WASM_BASE64 } from './wasm/analysisModule.js';
import { E4M3_VALUES } from '../formats/e4m3.js';
import { UE8M0_VALUES } from '../formats/ue8m0.js';

/** One FC1 chunk for the prefilter: n tokens × R elements, chunk-major ((p, r) at off + p·R + r). */
export interface PrefilterChunk {
  readonly n: number;
  readonly R: number;
  /** Element offset of the chunk in a and ahat (gate, sig, lin hold the chunk alone, from 0). */
  readonly off: number;
  /** a_c, â and the epilogue's parts (gate' after clamp, sigmoid, linear part), float32. */
  readonly a: EngineMatrix;
  readonly ahat: EngineMatrix;
  readonly gate: EngineMatrix;
  readonly sig: EngineMatrix;
  readonly lin: EngineMatrix;
  /** Upper bounds of the rows' L2 norms: R up rows, then R gate rows. */
  readonly norm: Float64Array;
  /** Per token: the llama4 pre-weight (1 otherwise) and ||x̂||₂ (upper bound). */
  readonly pre: Float64Array;
  readonly xn: Float64Array;
  readonly rho: number;
  readonly ep: ExpertEpilogue;
}

/** The prefilter's answer; views valid until the next kernel or engine call. */
export interface PrefilterResult {
  /** Radius bounds, chunk-relative (p·R + r). */
  readonly radius: Float64Array;
  /** Per block of FC2's input (B = 16 nvfp4, 32 mxfp8, 1 bf16), chunk-relative: 1 = analyze. */
  readonly flags: Uint8Array;
}

/**
 * Fragile elements of one expert grouped by token: group g holds entries
 * start[g] .. start[g+1]-1 with FC2-input column col[f] and coefficient coef[f] = Δ·|out2Scale|.
 */
export interface FlipGroups {
  readonly count: number;
  readonly start: Int32Array;
  readonly col: Int32Array;
  readonly coef: Float64Array;
}

export interface AnalysisKernels {
  /** 'wasm-simd' or 'js'. */
  readonly name: string;
  /** Index of the first NaN scale byte of `bytes` (checkCase.ts firstNanScale), or -1. */
  nanScan(bytes: Uint8Array, nvfp4: boolean): number;
  /**
   * a[aOff + p·R + r] = swigluElement(C[r, p], C[R + r, p], pre[p], ep) for the chunk's
   * C [2R, n] (R up rows, then R gate rows); pre null: no pre-weight (1). With parts, also
   * the element's gate', sigmoid and linear part at p·R + r of parts[0], [1], [2].
   * R a multiple of 4. May grow the heap.
   */
  epilogue(
    c: EngineMatrix, n: number, R: number, pre: Float32Array | null, a: EngineMatrix, aOff: number,
    parts: readonly [EngineMatrix, EngineMatrix, EngineMatrix] | null, ep: ExpertEpilogue,
  ): void;
  /**
   * out[0], out[1]: Σ over even / odd h of |w[uRow,h]|·|x[xRow,h]| (float64, increasing h);
   * out[2], out[3]: the same for gRow. w: [rows, H]; x: [tokens, H]; H a multiple of 4.
   */
  absDots(w: EngineMatrix, uRow: number, gRow: number, x: EngineMatrix, xRow: number, out: Float64Array): void;
  /**
   * dst[dstOff + c·rows + r] = f(src[srcOff + r·cols + c]) for the [rows, cols] matrix at
   * srcOff; f: 'copy' the value, 'scale' fl32(v·scale) (scale a float32 value). With dst2,
   * also |f(v)| at dst2[dst2Off + c·rows + r].
   */
  transpose(
    src: EngineMatrix, srcOff: number, rows: number, cols: number, dst: EngineMatrix, dstOff: number,
    dst2: EngineMatrix | null, dst2Off: number, f: 'copy' | 'scale', scale: number,
  ): void;
  /**
   * dst[off, off + len) = src[off, off + len) re-quantized to fmt (requantizeInPlace's
   * arithmetic); len a multiple of the format's block. src is not changed. May grow the
   * heap: fetch fresh views afterwards.
   */
  requant(fmt: RequantFormat, src: EngineMatrix, dst: EngineMatrix, off: number, len: number): void;
  /**
   * Radius bounds and block flags of one chunk whose â (chunk.ahat) was computed by this
   * object's requant of the same slice, just before. May grow the heap.
   */
  prefilter(fmt: RequantFormat, chunk: PrefilterChunk): PrefilterResult;
  /**
   * out[g·nh + q] = fl32(0 + Σ_f w[row0 + q, col[f]]·coef[f]) over group g's entries in order
   * (float64 sum), for rows q = 0..nh-1 of w (|W2|, [rows, I]). The view is valid until the
   * next kernel or engine call. May grow the heap.
   */
  flips(w: EngineMatrix, row0: number, nh: number, groups: FlipGroups): Float32Array;
}

const NV_TABLES = prefilterTables('nvfp4');
const MX_TABLES = prefilterTables('mxfp8');

/** The JS prefilter (any engine): the same bounds and flags as the wasm kernel. */
class JsPrefilter {
  private radius = new Float64Array(0);
  private flags = new Uint8Array(0);
  private readonly parts = { gate: 0, sig: 0, silu: 0, lin: 0 };

  run(fmt: RequantFormat, c: PrefilterChunk): PrefilterResult {
    const { n, R, off, norm, pre, xn, rho, ep } = c;
    const B = requantBlock(fmt);
    const len = n * R;
    if (this.radius.length < len) this.radius = new Float64Array(len);
    if (this.flags.length < len / B) this.flags = new Uint8Array(len / B);
    const radius = this.radius;
    const flags = this.flags;
    const a = c.a.view(), ahat = c.ahat.view(), gate = c.gate.view(), sig = c.sig.view(), lin = c.lin.view();
    const parts = this.parts;
    for (let p = 0; p < n; p++) {
      for (let r0 = 0; r0 < R; r0 += B) {
        let amax = 0, sum = 0, hiB = 0, loB = 0;
        for (let r = r0; r < r0 + B; r++) {
          const e = p * R + r;
          const v = a[off + e]!;
          parts.gate = gate[e]!;
          parts.sig = sig[e]!;
          parts.silu = Math.fround(parts.gate * parts.sig);
          parts.lin = lin[e]!;
          const rb = windowRadius(rho, norm[r]! * xn[p]!, norm[R + r]! * xn[p]!, pre[p]!, ep, parts, v);
          radius[e] = rb;
          const m = Math.abs(v);
          sum += v;
          if (m > amax) amax = m;
          if (m + rb > hiB) hiB = m + rb;
          if (m - rb > loB) loB = m - rb;
        }
        const b = (p * R + r0) / B;
        flags[b] = 1;
        if (fmt === 'bf16') {
          const e = p * R + r0;
          if (bf16Stays(a[off + e]!, slack(a[off + e]!, radius[e]!), ahat[off + e]!)) flags[b] = 0;
          continue;
        }
        // The block's scale code (-1: NaN or an infinity, the exact analysis decides); its
        // bounded amax window must lie inside the code's certain amax interval.
        const c0 = requantBlockCode(fmt, sum - sum !== 0 ? NaN : amax);
        const tab = fmt === 'nvfp4' ? NV_TABLES : MX_TABLES;
        if (c0 < 0 || !(tab[256 + c0]! <= loB && hiB <= tab[512 + c0]!)) continue;
        const inv = 1 / tab[c0]!;
        let quiet = true;
        for (let r = r0; r < r0 + B && quiet; r++) {
          const e = p * R + r;
          const v = a[off + e]!;
          const rr = slack(v, radius[e]!);
          quiet = fmt === 'nvfp4' ? e2m1Stays(v, rr, ahat[off + e]!, inv) : e4m3Stays(v, rr, ahat[off + e]!, inv);
        }
        if (quiet) flags[b] = 0;
      }
    }
    return { radius, flags };
  }
}

/** The JS twin: any engine's matrices. */
const jsPrefilter = new JsPrefilter();
const jsParts: EpilogueParts = { gate: 0, sig: 0, silu: 0, lin: 0 };
let jsFlipsOut = new Float32Array(0);

export const jsAnalysisKernels: AnalysisKernels = {
  name: 'js',
  nanScan(bytes, nvfp4) {
    return firstNanScale(bytes, nvfp4);
  },
  epilogue(cm, n, R, pre, am, aOff, parts, ep) {
    const c = cm.view();
    const a = am.view();
    const [gate, sig, lin] = parts === null ? [null, null, null] : parts.map((m) => m.view());
    for (let p = 0; p < n; p++) {
      const w = pre === null ? 1 : pre[p]!;
      for (let r = 0; r < R; r++) {
        const o = p * R + r;
        a[aOff + o] = swigluElement(c[r * n + p]!, c[(R + r) * n + p]!, w, ep, jsParts);
        if (gate !== null) {
          gate[o] = jsParts.gate;
          sig![o] = jsParts.sig;
          lin![o] = jsParts.lin;
        }
      }
    }
  },
  prefilter(fmt, chunk) {
    return jsPrefilter.run(fmt, chunk);
  },
  flips(w, row0, nh, groups) {
    const I = w.cols;
    const wv = w.view();
    const { count, start, col, coef } = groups;
    if (jsFlipsOut.length < count * nh) jsFlipsOut = new Float32Array(count * nh);
    const out = jsFlipsOut;
    for (let q = 0; q < nh; q++) {
      const row = (row0 + q) * I;
      for (let g = 0; g < count; g++) {
        let acc = 0;
        for (let f = start[g]!; f < start[g + 1]!; f++) acc += wv[row + col[f]!]! * coef[f]!;
        out[g * nh + q] = acc;
      }
    }
    return out.subarray(0, count * nh);
  },
  transpose(src, srcOff, rows, cols, dst, dstOff, dst2, dst2Off, f, scale) {
    const sv = src.view();
    const dv = dst.view();
    const d2 = dst2 === null ? null : dst2.view();
    for (let r = 0; r < rows; r++) {
      for (let c = 0; c < cols; c++) {
        const v = f === 'copy' ? sv[srcOff + r * cols + c]! : Math.fround(sv[srcOff + r * cols + c]! * scale);
        dv[dstOff + c * rows + r] = v;
        if (d2 !== null) d2[dst2Off + c * rows + r] = Math.abs(v);
      }
    }
  },
  absDots(w, uRow, gRow, x, xRow, out) {
    const wv = w.view();
    const H = w.cols;
    const xv = x.view().subarray(xRow * H, (xRow + 1) * H);
    let su0 = 0, su1 = 0, sg0 = 0, sg1 = 0;
    const ou = uRow * H;
    const og = gRow * H;
    for (let h = 0; h < H; h += 2) {
      const x0 = Math.abs(xv[h]!);
      const x1 = Math.abs(xv[h + 1]!);
      su0 += Math.abs(wv[ou + h]!) * x0;
      su1 += Math.abs(wv[ou + h + 1]!) * x1;
      sg0 += Math.abs(wv[og + h]!) * x0;
      sg1 += Math.abs(wv[og + h + 1]!) * x1;
    }
    out[0] = su0;
    out[1] = su1;
    out[2] = sg0;
    out[3] = sg1;
  },
  requant(fmt, src, dst, off, len) {
    const d = dst.view();
    d.set(src.view().subarray(off, off + len), off);
    requantizeInPlace(fmt, d, off, len);
  },
};

/** The WebAssembly API used here (the project's TS lib settings do not declare it). */
interface WasmApi {
  validate(bytes: Uint8Array): boolean;
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: object) => { readonly exports: Record<string, unknown> };
}
const Wasm = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;

interface AnalysisExports {
  absdots(u: number, g: number, x: number, n: number, out: number): void;
  blockamax(src: number, nBlocks: number, B: number, dst: number): void;
  requant(src: number, dst: number, nBlocks: number, B: number, scales: number, mx: number): void;
  radfilter(
    n: number, R: number, B: number, mx: number, a: number, ahat: number, gate: number, sig: number, lin: number,
    norm: number, tok: number, ep: number, codes: number, tab: number, rad: number, flags: number,
  ): void;
  flips(w: number, I: number, nh: number, G: number, gs: number, fi: number, fc: number, out: number): void;
  transpose(src: number, rows: number, cols: number, dst: number, dst2: number, scale: number, mode: number): void;
  epilogue(c: number, n: number, R: number, pre: number, a: number, gate: number, sig: number, lin: number, ep: number, clamped: number): void;
  exp(x: number): number;
  nanscan(p: number, len: number, nvfp4: number): number;
}

/** Growable scratch on an emscripten heap. */
class HeapBuffer {
  ptr = 0;
  private bytes = 0;
  constructor(private readonly heap: EmscriptenHeap) {}
  /** At least `bytes` bytes (8-byte aligned); may grow the heap. */
  ensure(bytes: number): number {
    if (bytes > this.bytes) {
      if (this.ptr !== 0) this.heap._free(this.ptr);
      this.bytes = Math.max(bytes, 2 * this.bytes, 64);
      this.ptr = this.heap._malloc(this.bytes);
    }
    return this.ptr;
  }
}

/** Byte address of a heap matrix's storage. */
type PtrOf = (m: EngineMatrix) => number;

/** The SIMD kernels on one emscripten heap; null when the runtime lacks WebAssembly SIMD. */
export function wasmAnalysisKernels(heap: EmscriptenHeap, ptr: PtrOf): AnalysisKernels | null {
  const bytes = Uint8Array.from(Buffer.from(ANALYSIS_WASM_BASE64, 'base64'));
  if (!Wasm.validate(bytes)) return null;
  const k = new Wasm.Instance(new Wasm.Module(bytes), { env: { mem: heap.asm.memory } }).exports as unknown as AnalysisExports;
  const outPtr = heap._malloc(32);
  const scales = new HeapBuffer(heap);
  const codes = new HeapBuffer(heap);
  const tables = { nvfp4: heap._malloc(8192), mxfp8: heap._malloc(8192) };
  new Float64Array(heap.HEAPU8.buffer, tables.nvfp4, 1024).set(NV_TABLES);
  new Float64Array(heap.HEAPU8.buffer, tables.mxfp8, 1024).set(MX_TABLES);
  const inputs = new HeapBuffer(heap);
  const radius = new HeapBuffer(heap);
  const flags = new HeapBuffer(heap);
  const flipIn = new HeapBuffer(heap);
  const epIn = new HeapBuffer(heap);
  const scanIn = new HeapBuffer(heap);
  const flipOut = new HeapBuffer(heap);
  let lastSlice = '';
  return {
    flips(w, row0, nh, groups) {
      if (nh % 4 !== 0) return jsAnalysisKernels.flips(w, row0, nh, groups);
      const { count, start, col, coef } = groups;
      const m = start[count]!;
      const bytes = 8 * m + 4 * m + 4 * (count + 1) + 16;
      const base = flipIn.ensure(bytes);
      const out = flipOut.ensure(4 * count * nh);
      const u8 = heap.HEAPU8;
      new Float64Array(u8.buffer, base, m).set(coef.subarray(0, m));
      new Int32Array(u8.buffer, base + 8 * m, m).set(col.subarray(0, m));
      new Int32Array(u8.buffer, base + 12 * m, count + 1).set(start.subarray(0, count + 1));
      k.flips(ptr(w) + 4 * row0 * w.cols, w.cols, nh, count, base + 12 * m, base + 8 * m, base, out);
      return new Float32Array(heap.HEAPU8.buffer, out, count * nh);
    },
    name: 'wasm-simd',
    nanScan(bytes, nvfp4) {
      if (bytes.length === 0) return -1;
      const p = scanIn.ensure(bytes.length);
      heap.HEAPU8.set(bytes, p);
      return k.nanscan(p, bytes.length, nvfp4 ? 1 : 0);
    },
    epilogue(c, n, R, pre, a, aOff, parts, ep) {
      if (R % 4 !== 0) {
        jsAnalysisKernels.epilogue(c, n, R, pre, a, aOff, parts, ep);
        return;
      }
      const base = epIn.ensure(24 + 4 * n);
      const f = new Float32Array(heap.HEAPU8.buffer, base, 6 + n);
      f[0] = ep.gateScale;
      f[1] = ep.upScale;
      f[2] = ep.alpha;
      f[3] = ep.betaC;
      f[4] = ep.limit;
      f[5] = ep.limitC;
      if (pre !== null) f.set(pre.subarray(0, n), 6);
      k.epilogue(ptr(c), n, R, pre === null ? 0 : base + 24, ptr(a) + 4 * aOff,
        parts === null ? 0 : ptr(parts[0]), parts === null ? 0 : ptr(parts[1]), parts === null ? 0 : ptr(parts[2]),
        base, ep.clamped ? 1 : 0);
    },
    transpose(src, srcOff, rows, cols, dst, dstOff, dst2, dst2Off, f, scale) {
      k.transpose(ptr(src) + 4 * srcOff, rows, cols, ptr(dst) + 4 * dstOff, dst2 === null ? 0 : ptr(dst2) + 4 * dst2Off,
        f === 'copy' ? 1 : scale, f === 'copy' ? 0 : 1);
    },
    absDots(w, uRow, gRow, x, xRow, out) {
      const H = w.cols;
      const base = ptr(w);
      k.absdots(base + uRow * H * 4, base + gRow * H * 4, ptr(x) + xRow * H * 4, H, outPtr);
      out.set(new Float64Array(heap.HEAPU8.buffer, outPtr, 4));
    },
    requant(fmt, src, dst, off, len) {
      lastSlice = '';
      if (fmt === 'bf16') {
        jsAnalysisKernels.requant(fmt, src, dst, off, len);
        return;
      }
      const B = requantBlock(fmt);
      const nb = len / B;
      scales.ensure(4 * nb);
      codes.ensure(4 * nb);
      const s = ptr(src) + 4 * off;
      k.blockamax(s, nb, B, scales.ptr);
      const sv = new Float32Array(heap.HEAPU8.buffer, scales.ptr, nb);
      const cv = new Int32Array(heap.HEAPU8.buffer, codes.ptr, nb);
      const values = fmt === 'nvfp4' ? E4M3_VALUES : UE8M0_VALUES;
      for (let b = 0; b < nb; b++) {
        const code = requantBlockCode(fmt, sv[b]!);
        cv[b] = code;
        sv[b] = code < 0 ? NaN : values[code]!;
      }
      k.requant(s, ptr(dst) + 4 * off, nb, B, scales.ptr, fmt === 'mxfp8' ? 1 : 0);
      lastSlice = `${fmt}:${src === dst ? 'same' : 'other'}:${off}:${len}`;
    },
    prefilter(fmt, c) {
      if (fmt === 'bf16') return jsAnalysisKernels.prefilter(fmt, c);
      const { n, R, off } = c;
      const len = n * R;
      if (lastSlice !== `${fmt}:other:${off}:${len}`) {
        throw new Error(`analysis kernels: prefilter(${fmt}, off ${off}, ${len} elements) must follow requant of the same slice (last: '${lastSlice}')`);
      }
      const B = requantBlock(fmt);
      const inBytes = 8 * (2 * R + 2 * n + 8);
      const base = inputs.ensure(inBytes);
      const rad = radius.ensure(8 * len);
      const fl = flags.ensure(len / B);
      const f64 = new Float64Array(heap.HEAPU8.buffer, base, inBytes / 8);
      f64.set(c.norm.subarray(0, 2 * R), 0);
      const tok = 2 * R;
      for (let p = 0; p < n; p++) {
        f64[tok + 2 * p] = c.pre[p]!;
        f64[tok + 2 * p + 1] = c.xn[p]!;
      }
      const ep = tok + 2 * n;
      f64[ep] = c.rho;
      f64[ep + 1] = Math.abs(c.ep.gateScale);
      f64[ep + 2] = Math.abs(c.ep.upScale);
      f64[ep + 3] = c.ep.alpha;
      f64[ep + 4] = Math.abs(c.ep.betaC);
      const at = (m: EngineMatrix) => ptr(m) + 4 * off;
      k.radfilter(n, R, B, fmt === 'mxfp8' ? 1 : 0, at(c.a), at(c.ahat), ptr(c.gate), ptr(c.sig), ptr(c.lin),
        base, base + 8 * tok, base + 8 * ep, codes.ptr, tables[fmt], rad, fl);
      return { radius: new Float64Array(heap.HEAPU8.buffer, rad, len), flags: new Uint8Array(heap.HEAPU8.buffer, fl, len / B) };
    },
  };
}
