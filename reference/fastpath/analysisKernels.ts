/**
 * The fast path's per-element analysis work that is not a GEMM, behind one interface with
 * two implementations that compute the same bits: WebAssembly SIMD kernels (wasm/analysis.wat)
 * on tfjs-backend-wasm's heap, and plain JS on any engine's matrices (the fallback for
 * engines without a heap, e.g. tfjs-node, and the twin the kernels are tested against).
 *
 *  - absDots: the exact FC1 absolute sums Σ|W1[r,h]|·|x̂[h]| of one up row and one gate row,
 *    in float64, as four lane sums (even h, odd h) that the caller adds;
 *  - requant: FC2's input re-quantized from a float32 slice (quant/requantize.ts).
 */
import { requantBlock, requantBlockScale, requantizeInPlace, type RequantFormat } from '../quant/requantize.js';
import type { EngineMatrix } from './matrixEngine.js';
import type { EmscriptenHeap } from './simdDequant.js';
import { ANALYSIS_WASM_BASE64 } from './wasm/analysisModule.js';

export interface AnalysisKernels {
  /** 'wasm-simd' or 'js'. */
  readonly name: string;
  /**
   * out[0], out[1]: Σ over even / odd h of |w[uRow,h]|·|x[0,h]| (float64, increasing h);
   * out[2], out[3]: the same for gRow. w: [rows, H]; x: [1, H]; H a multiple of 4.
   */
  absDots(w: EngineMatrix, uRow: number, gRow: number, x: EngineMatrix, out: Float64Array): void;
  /**
   * dst[off, off + len) = src[off, off + len) re-quantized to fmt (requantizeInPlace's
   * arithmetic); len a multiple of the format's block. src is not changed. May grow the
   * heap: fetch fresh views afterwards.
   */
  requant(fmt: RequantFormat, src: EngineMatrix, dst: EngineMatrix, off: number, len: number): void;
}

/** The JS twin: any engine's matrices. */
export const jsAnalysisKernels: AnalysisKernels = {
  name: 'js',
  absDots(w, uRow, gRow, x, out) {
    const wv = w.view();
    const xv = x.view();
    const H = w.cols;
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
}

/** Byte address of a heap matrix's storage. */
type PtrOf = (m: EngineMatrix) => number;

/** The SIMD kernels on one emscripten heap; null when the runtime lacks WebAssembly SIMD. */
export function wasmAnalysisKernels(heap: EmscriptenHeap, ptr: PtrOf): AnalysisKernels | null {
  const bytes = Uint8Array.from(Buffer.from(ANALYSIS_WASM_BASE64, 'base64'));
  if (!Wasm.validate(bytes)) return null;
  const k = new Wasm.Instance(new Wasm.Module(bytes), { env: { mem: heap.asm.memory } }).exports as unknown as AnalysisExports;
  const outPtr = heap._malloc(32);
  let scales = 0;
  let scaleBytes = 0;
  return {
    name: 'wasm-simd',
    absDots(w, uRow, gRow, x, out) {
      const H = w.cols;
      const base = ptr(w);
      k.absdots(base + uRow * H * 4, base + gRow * H * 4, ptr(x), H, outPtr);
      out.set(new Float64Array(heap.HEAPU8.buffer, outPtr, 4));
    },
    requant(fmt, src, dst, off, len) {
      if (fmt === 'bf16') {
        jsAnalysisKernels.requant(fmt, src, dst, off, len);
        return;
      }
      const B = requantBlock(fmt);
      const nb = len / B;
      if (4 * nb > scaleBytes) {
        if (scales !== 0) heap._free(scales);
        scaleBytes = Math.max(4 * nb, 2 * scaleBytes);
        scales = heap._malloc(scaleBytes);
      }
      const s = ptr(src) + 4 * off;
      k.blockamax(s, nb, B, scales);
      const sv = new Float32Array(heap.HEAPU8.buffer, scales, nb);
      for (let b = 0; b < nb; b++) sv[b] = requantBlockScale(fmt, sv[b]!);
      k.requant(s, ptr(dst) + 4 * off, nb, B, scales, fmt === 'mxfp8' ? 1 : 0);
    },
  };
}
