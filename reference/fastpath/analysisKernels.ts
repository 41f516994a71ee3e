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
 *  - nanScan: checkCase's NaN weight-scale scan;
 *  - flips: the sparse flip allowance of a few fragile elements over one W2 row chunk;
 *  - fp4Abs (WebAssembly only): |W2|·|Â|ᵀ for NVFP4 × NVFP4 by exact integer block products;
 *  - prefilter: the radius bounds of one FC1 chunk (errorWindow.ts windowRadius on
 *    Cauchy–Schwarz sums) and, per block of FC2's input, whether RowAnalyzer can have
 *    anything to do there (flag 1) or certainly not (flag 0): the fast path then runs the
 *    exact analysis on flagged blocks only, which gives exactly the full analysis's answer.
 *
 * The JS twin is jsAnalysisKernels.ts, the WebAssembly one wasmAnalysisKernels.ts.
 */
import type { ExpertEpilogue } from '../epilogue.js';
import type { ScaleByteFormat } from '../checkCase.js';
import type { Fc2InputFormat } from '../problem.js';
import type { Fp4AbsProduct } from './fp4AbsProduct.js';
import type { EngineMatrix } from './matrixEngine.js';

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

/** AnalysisKernels.transpose's operands, by name. */
export interface TransposeArgs {
  readonly src: EngineMatrix;
  readonly srcOff: number;
  readonly rows: number;
  readonly cols: number;
  readonly dst: EngineMatrix;
  readonly dstOff: number;
  /** A second destination for |f(v)|, same layout, or null. */
  readonly abs: { readonly dst: EngineMatrix; readonly off: number } | null;
  /** 'copy': the value; 'scale': fl32(v·scale). */
  readonly f: 'copy' | 'scale';
  /** A float32 value (read only by 'scale'). */
  readonly scale: number;
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
  nanScan(bytes: Uint8Array, format: ScaleByteFormat): number;
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
   * srcOff; f: 'copy' the value, 'scale' fl32(v·scale) (scale a float32 value). With abs,
   * also |f(v)| at abs.dst[abs.off + c·rows + r].
   */
  transpose(args: TransposeArgs): void;
  /**
   * dst[off, off + len) = src[off, off + len) re-quantized to fmt (requantizeInPlace's
   * arithmetic); len a multiple of the format's block. src is not changed. May grow the
   * heap: fetch fresh views afterwards.
   */
  requant(fmt: Fc2InputFormat, src: EngineMatrix, dst: EngineMatrix, off: number, len: number): void;
  /**
   * Radius bounds and block flags of one chunk whose â (chunk.ahat) was computed by this
   * object's requant of the same slice, just before. May grow the heap.
   */
  prefilter(fmt: Fc2InputFormat, chunk: PrefilterChunk): PrefilterResult;
  /**
   * out[g·nh + q] = fl32(0 + Σ_f |w[row0 + q, col[f]]|·coef[f]) over group g's entries in order
   * (float64 sum), for rows q = 0..nh-1 of w (W2 or |W2|, [rows, I]). The view is valid until the
   * next kernel or engine call. May grow the heap.
   */
  flips(w: EngineMatrix, row0: number, nh: number, groups: FlipGroups): Float32Array;
  /**
   * |W2|·|Â|ᵀ of NVFP4 weights and NVFP4 FC2 input with exact block products
   * (fp4AbsProduct.ts), or null: the caller then runs the GEMM of |W2| and |Â|ᵀ.
   */
  readonly fp4Abs: Fp4AbsProduct | null;
}
