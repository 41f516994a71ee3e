/**
 * The WebAssembly SIMD analysis kernels (wasm/analysis.wat, bytes in wasm/analysisModule.ts)
 * on tfjs-backend-wasm's heap: the same bits as the JS twin (jsAnalysisKernels.ts).
 */
import { E4M3_VALUES } from '../formats/e4m3.js';
import { UE8M0_VALUES } from '../formats/ue8m0.js';
import { requantBlock, requantBlockCode } from '../quant/requantize.js';
import type { AnalysisKernels } from './analysisKernels.js';
import { EMPTY_TOKEN_CODE, outRows, packTokenChunk, tokenCodeLength, tokenScaleLength, type Fp4AbsProduct } from './fp4AbsProduct.js';
import { jsAnalysisKernels, MX_TABLES, NV_TABLES } from './jsAnalysisKernels.js';
import type { EngineMatrix } from './matrixEngine.js';
import { ANALYSIS_WASM_BASE64 } from './wasm/analysisModule.js';
import { HeapBuffer, Wasm } from './wasmRuntime.js';
import type { WasmHeap } from './tfjsWasmInternals.js';

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
  nanscan(p: number, len: number, nvfp4: number): number;
  abstok(ahat: number, n: number, R: number, sa: number, nb: number, b0: number, tc: number, ts: number): number;
  absprod(
    packed: number, scales: number, tab: number, scratch: number, tc: number, ts: number, rows: number, nb: number, npg: number,
    out: number, ostride: number, scale: number,
  ): void;
}

/** Byte address of a heap matrix's storage. */
type PtrOf = (m: EngineMatrix) => number;

/** The SIMD kernels on the backend's heap; null when the runtime lacks WebAssembly SIMD. */
export function wasmAnalysisKernels(heap: WasmHeap, ptr: PtrOf): AnalysisKernels | null {
  const bytes = Uint8Array.from(Buffer.from(ANALYSIS_WASM_BASE64, 'base64'));
  if (!Wasm.validate(bytes)) return null;
  const k = new Wasm.Instance(new Wasm.Module(bytes), { env: { mem: heap.memory } }).exports as unknown as AnalysisExports;
  const outPtr = heap.malloc(32);
  const scales = new HeapBuffer(heap);
  const codes = new HeapBuffer(heap);
  const tables = { nvfp4: heap.malloc(8192), mxfp8: heap.malloc(8192) };
  new Float64Array(heap.u8.buffer, tables.nvfp4, 1024).set(NV_TABLES);
  new Float64Array(heap.u8.buffer, tables.mxfp8, 1024).set(MX_TABLES);
  const inputs = new HeapBuffer(heap);
  const radius = new HeapBuffer(heap);
  const flags = new HeapBuffer(heap);
  const flipIn = new HeapBuffer(heap);
  const epIn = new HeapBuffer(heap);
  const scanIn = new HeapBuffer(heap);
  const flipOut = new HeapBuffer(heap);
  let lastSlice = '';
  return {
    fp4Abs: wasmFp4AbsProduct(heap, ptr, k, (off, len) => {
      if (lastSlice !== `nvfp4:other:${off}:${len}`) {
        throw new Error(`analysis kernels: fp4Abs.tokens(off ${off}, ${len} elements) must follow requant(nvfp4) of the same slice (last: '${lastSlice}')`);
      }
      return scales.ptr;
    }),
    flips(w, row0, nh, groups) {
      if (nh % 4 !== 0) return jsAnalysisKernels.flips(w, row0, nh, groups);
      const { count, start, col, coef } = groups;
      const m = start[count]!;
      const bytes = 8 * m + 4 * m + 4 * (count + 1) + 16;
      const base = flipIn.ensure(bytes);
      const out = flipOut.ensure(4 * count * nh);
      const u8 = heap.u8;
      new Float64Array(u8.buffer, base, m).set(coef.subarray(0, m));
      new Int32Array(u8.buffer, base + 8 * m, m).set(col.subarray(0, m));
      new Int32Array(u8.buffer, base + 12 * m, count + 1).set(start.subarray(0, count + 1));
      k.flips(ptr(w) + 4 * row0 * w.cols, w.cols, nh, count, base + 12 * m, base + 8 * m, base, out);
      return new Float32Array(heap.u8.buffer, out, count * nh);
    },
    name: 'wasm-simd',
    nanScan(bytes, format) {
      if (bytes.length === 0) return -1;
      const p = scanIn.ensure(bytes.length);
      heap.u8.set(bytes, p);
      return k.nanscan(p, bytes.length, format === 'e4m3' ? 1 : 0); // the WAT kernel's flag: 1 e4m3, 0 ue8m0
    },
    epilogue(c, n, R, pre, a, aOff, parts, ep) {
      if (R % 4 !== 0) {
        jsAnalysisKernels.epilogue(c, n, R, pre, a, aOff, parts, ep);
        return;
      }
      const base = epIn.ensure(24 + 4 * n);
      const f = new Float32Array(heap.u8.buffer, base, 6 + n);
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
    transpose({ src, srcOff, rows, cols, dst, dstOff, abs, f, scale }) {
      k.transpose(ptr(src) + 4 * srcOff, rows, cols, ptr(dst) + 4 * dstOff, abs === null ? 0 : ptr(abs.dst) + 4 * abs.off,
        f === 'copy' ? 1 : scale, f === 'copy' ? 0 : 1);
    },
    absDots(w, uRow, gRow, x, xRow, out) {
      const H = w.cols;
      const base = ptr(w);
      k.absdots(base + uRow * H * 4, base + gRow * H * 4, ptr(x) + xRow * H * 4, H, outPtr);
      out.set(new Float64Array(heap.u8.buffer, outPtr, 4));
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
      const sv = new Float32Array(heap.u8.buffer, scales.ptr, nb);
      const cv = new Int32Array(heap.u8.buffer, codes.ptr, nb);
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
      const f64 = new Float64Array(heap.u8.buffer, base, inBytes / 8);
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
      return { radius: new Float64Array(heap.u8.buffer, rad, len), flags: new Uint8Array(heap.u8.buffer, fl, len / B) };
    },
  };
}

/**
 * fp4AbsProduct.ts's product with the `abstok` and `absprod` kernels. The token
 * side reads the block scales the requant kernel just computed for the same slice
 * (requantScales: their heap address; it throws for any other slice).
 */
function wasmFp4AbsProduct(
  heap: WasmHeap, ptr: PtrOf, k: AnalysisExports, requantScales: (off: number, len: number) => number,
): Fp4AbsProduct {
  const tab = heap.malloc(1024);
  new Float32Array(heap.u8.buffer, tab, 256).set(E4M3_VALUES);
  const tcBuf = new HeapBuffer(heap);
  const tsBuf = new HeapBuffer(heap);
  const bytesBuf = new HeapBuffer(heap);
  const wBuf = new HeapBuffer(heap);
  let n = 0;
  let nb = 0;
  let covered = -1; // elements of I recorded for the current expert (-1: none)
  return {
    tokens(ahat, off, nTok, R, i0, I) {
      if (R % 16 !== 0 || I % 16 !== 0 || i0 % 16 !== 0 || R <= 0 || i0 + R > I) {
        throw new Error(`fp4AbsProduct.tokens: R (${R}), I (${I}) and i0 (${i0}) must be multiples of 16 with 0 < R and i0 + R <= I`);
      }
      if (off < 0 || off + nTok * R > ahat.rows * ahat.cols) {
        throw new Error(`fp4AbsProduct.tokens: ahat holds ${ahat.rows * ahat.cols} values, the chunk needs [${off}, ${off + nTok * R})`);
      }
      if (i0 === 0) {
        n = nTok;
        nb = I / 16;
        covered = 0;
        tcBuf.ensure(2 * tokenCodeLength(n, nb));
        tsBuf.ensure(4 * tokenScaleLength(n, nb));
        new Int16Array(heap.u8.buffer, tcBuf.ptr, tokenCodeLength(n, nb)).fill(EMPTY_TOKEN_CODE);
        new Float32Array(heap.u8.buffer, tsBuf.ptr, tokenScaleLength(n, nb)).fill(0);
      } else if (nTok !== n || I !== 16 * nb || i0 !== covered) {
        throw new Error(`fp4AbsProduct.tokens: chunk at i0 ${i0} (n ${nTok}, I ${I}) does not continue the expert's (n ${n}, I ${16 * nb}, next i0 ${covered})`);
      }
      const sa = requantScales(off, nTok * R);
      const bad = k.abstok(ptr(ahat) + 4 * off, nTok, R, sa, nb, i0 / 16, tcBuf.ptr, tsBuf.ptr);
      if (bad !== 0) {
        // The JS packer, on the same scales, names the first element that is not an e2m1 value times its scale.
        packTokenChunk(ahat.view(), off, nTok, R, i0, nb, new Float32Array(heap.u8.buffer, sa, (nTok * R) / 16),
          new Int16Array(tokenCodeLength(n, nb)), new Float32Array(tokenScaleLength(n, nb)));
        throw new Error(`fp4AbsProduct.tokens: ${bad} groups of 8 elements of FC2's input are not e2m1 values times their block scale (internal error)`);
      }
      covered += R;
    },
    product(packed, packedOffset, scales, scalesOffset, rows, out, scale) {
      if (covered !== 16 * nb) throw new Error(`fp4AbsProduct.product: the token side covers ${covered} of I = ${16 * nb} elements`);
      if (rows % 2 !== 0 || rows < 2) throw new Error(`fp4AbsProduct.product: rows must be even and positive, got ${rows}`);
      if (out.rows * out.cols < outRows(n) * rows) {
        throw new Error(`fp4AbsProduct.product: out holds ${out.rows * out.cols} values, needs ${outRows(n) * rows}`);
      }
      const nPacked = rows * nb * 8;
      const nScales = rows * nb;
      if (packedOffset < 0 || packedOffset + nPacked > packed.length || scalesOffset < 0 || scalesOffset + nScales > scales.length) {
        throw new Error(`fp4AbsProduct.product: ${rows} rows of I = ${16 * nb} need packed[${packedOffset}, ${packedOffset + nPacked}) of ${packed.length} bytes and scales[${scalesOffset}, ${scalesOffset + nScales}) of ${scales.length}`);
      }
      const b = bytesBuf.ensure(nPacked + nScales);
      const scratch = wBuf.ensure(80 * nb);
      const u8 = heap.u8;
      u8.set(packed.subarray(packedOffset, packedOffset + nPacked), b);
      u8.set(scales.subarray(scalesOffset, scalesOffset + nScales), b + nPacked);
      k.absprod(b, b + nPacked, tab, scratch, tcBuf.ptr, tsBuf.ptr, rows, nb, outRows(n) / 8, ptr(out), 4 * rows, scale);
    },
  };
}
