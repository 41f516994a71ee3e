/**
 * The matrix engine the fast path's workers run GEMMs on: float32 matrices living where
 * the backend computes (the wasm heap for tfjs-backend-wasm, so the dequantizer writes
 * weights straight into it, no copy), and C = A·B.
 */
import type * as TfCore from '@tensorflow/tfjs-core';
import type { AnalysisKernels } from './analysisKernels.js';
import { jsAnalysisKernels } from './jsAnalysisKernels.js';
import { wasmAnalysisKernels } from './wasmAnalysisKernels.js';
import { dequantizeFp4Into } from './dequantTable.js';
import type { Fp4Rows } from './fp4Rows.js';
import { SimdDequantizer } from './simdDequant.js';
import { tfjsWasmBackend, type TfjsWasmBackend } from './tfjsWasmInternals.js';

export interface EngineMatrix {
  readonly rows: number;
  readonly cols: number;
  /**
   * The matrix's float32 storage, row-major. Fetch a fresh view after any other engine
   * call: the wasm heap may grow and detach an earlier view.
   */
  view(): Float32Array;
  dispose(): void;
}

export interface MatrixEngine {
  /** e.g. 'tfjs-wasm-simd', 'tfjs-node'. */
  readonly name: string;
  /** The fragility/re-quantization kernels on this engine's matrices. */
  readonly kernels: AnalysisKernels;
  /** A rows×cols matrix with unspecified contents. */
  alloc(rows: number, cols: number): EngineMatrix;
  /** A·B for A [M,K], B [K,N]: a new [M,N] matrix. */
  matmul(a: EngineMatrix, b: EngineMatrix): EngineMatrix;
  /**
   * Decode src's rows×cols FP4 weights into rows [to.row0, to.row0 + rows) of to.dst, exactly
   * q·s; also |W| into the same rows of to.absDst unless null, and an upper bound of each
   * row's Σ W² into to.rowSq[0..rows) unless null.
   */
  dequantFp4(src: Fp4Rows, to: DequantTarget): void;
}

/** Where MatrixEngine.dequantFp4 writes. */
export interface DequantTarget {
  /** The matrix (cols = the source's cols) and its first row written. */
  readonly dst: EngineMatrix;
  readonly row0: number;
  /** |W| into the same rows of this matrix, or null. */
  readonly absDst: EngineMatrix | null;
  /** Upper bounds of each decoded row's Σ W² (rowSq[0..rows)), or null. */
  readonly rowSq: Float64Array | null;
}

/** The portable decoder: dequantTable.ts into the matrices' views. */
function dequantJs(src: Fp4Rows, { dst, row0, absDst, rowSq }: DequantTarget): void {
  const { rows, cols } = src;
  const out = dst.view();
  dequantizeFp4Into(src, out, row0 * cols, rowSq);
  if (absDst !== null) {
    const a = absDst.view();
    for (let i = row0 * cols, e = (row0 + rows) * cols; i < e; i++) a[i] = Math.abs(out[i]!);
  }
}

type Tf = typeof TfCore;

class TensorMatrix implements EngineMatrix {
  constructor(
    readonly tensor: TfCore.Tensor,
    private readonly backend: TfjsWasmBackend,
  ) {}
  get rows(): number { return this.tensor.shape[0]!; }
  get cols(): number { return this.tensor.shape[1]!; }
  view(): Float32Array { return this.backend.view(this.tensor); }
  dispose(): void { this.tensor.dispose(); }
}

/**
 * Zero-copy engine over tfjs-backend-wasm: matrices are tensors whose heap memory we write;
 * weights are decoded in the heap by the SIMD dequantizer when the runtime has SIMD.
 * Never rewrite a matrix after using it as matmul's B: the backend caches B packed by id.
 */
export function wasmEngine(tf: Tf, name: string, useSimd = true): MatrixEngine {
  const backend = tfjsWasmBackend(tf); // checks every tfjs internal used, loudly
  const wrap = (t: TfCore.Tensor) => new TensorMatrix(t, backend);
  const simd = useSimd ? SimdDequantizer.create(backend.heap) : null;
  const ptr = (m: EngineMatrix) => (m as TensorMatrix).view().byteOffset;
  const kernels = (useSimd ? wasmAnalysisKernels(backend.heap, ptr) : null) ?? jsAnalysisKernels;
  return {
    name: simd === null ? name : `${name} (+SIMD dequant, ${kernels.name} analysis)`,
    kernels,
    dequantFp4(src, to) {
      if (simd === null) {
        dequantJs(src, to);
        return;
      }
      const { dst, row0, absDst, rowSq } = to;
      const rowBytes = src.cols * 4;
      simd.run(src, ptr(dst) + row0 * rowBytes, absDst === null ? 0 : ptr(absDst) + row0 * rowBytes, rowSq);
    },
    alloc(rows, cols) {
      return wrap(backend.alloc(rows, cols));
    },
    matmul(a, b) {
      return wrap(tf.matMul((a as TensorMatrix).tensor as TfCore.Tensor2D, (b as TensorMatrix).tensor as TfCore.Tensor2D));
    },
  };
}

class ArrayMatrix implements EngineMatrix {
  readonly data: Float32Array;
  constructor(readonly rows: number, readonly cols: number, data?: Float32Array) {
    this.data = data ?? new Float32Array(rows * cols);
  }
  view(): Float32Array { return this.data; }
  dispose(): void { /* garbage collected */ }
}

/** Copying engine over any tfjs module (e.g. tfjs-node): matrices are JS arrays, uploaded per GEMM. */
export function copyingEngine(tf: Tf, name: string): MatrixEngine {
  return {
    name,
    kernels: jsAnalysisKernels,
    dequantFp4: dequantJs,
    alloc(rows, cols) { return new ArrayMatrix(rows, cols); },
    matmul(a, b) {
      const out = tf.tidy(() => tf.matMul(tf.tensor2d(a.view(), [a.rows, a.cols]), tf.tensor2d(b.view(), [b.rows, b.cols])).dataSync());
      return new ArrayMatrix(a.rows, b.cols, out as Float32Array);
    },
  };
}
