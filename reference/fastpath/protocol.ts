/**
 * Messages between the fast path's main side (runFast.ts, pool.ts) and its workers
 * (worker.ts). Every array is backed by a SharedArrayBuffer, so posting a job shares,
 * not copies, the case and the result buffers.
 */
import type { Fc2InputFormat } from '../problem.js';
import type { ScaleByteFormat } from '../checkCase.js';
import type { WeightPlacement } from '../routing/types.js';
import type { WeightFormat } from './dequantTable.js';
import type { AbsAccumMode } from './fastPathOptions.js';
import type { GemmJob } from './gemmBaselineJob.js';

/** One reference MoE job over the experts listed in `order` (a shared work queue). */
export interface MoeJob {
  readonly kind: 'moe';
  readonly H: number;
  readonly I: number;
  readonly k: number;
  /** First token of this chunk: slot row r = t·k + j writes at ((r - t0·k)·H) of y/absY/flipY. */
  readonly t0: number;
  readonly fc2Format: Fc2InputFormat;
  readonly weightFormat: WeightFormat;
  /** 'before_fc1': llama4, the routing weight multiplies the FC1 accumulators. */
  readonly weightPlacement: WeightPlacement;
  /** FC1 error window ρ. */
  readonly rho: number;
  /** 'output': y only (no absY, flipY, fragility; radius bounds not computed). */
  readonly analysis: 'full' | 'output';
  /** How absAccum's Σ|W2|·|â| is computed (fastPathOptions.ts AbsAccumMode). */
  readonly absAccum: AbsAccumMode;
  /** Bytes of float32 weights decoded at a time (fastPathOptions.ts chunkBytes). */
  readonly chunkBytes: number;
  /** Per local expert (views of shared memory, reference/expertBytes.ts): packed e2m1 [2I, H/2]. */
  readonly fc1Packed: readonly Uint8Array[];
  /** Per local expert: FC1 block scales [2I, H/sf]. */
  readonly fc1Scales: readonly Uint8Array[];
  /** Per local expert: packed e2m1 [H, I/2]. */
  readonly fc2Packed: readonly Uint8Array[];
  /** Per local expert: FC2 block scales [H, I/sf]. */
  readonly fc2Scales: readonly Uint8Array[];
  /** Dequantized hidden states [T, H] (q·s, no global scale). */
  readonly x: Float32Array;
  /** Upper bounds of ||x̂_t||₂ [T] (Cauchy–Schwarz bounds of the fragility prefilter). */
  readonly xNorm: Float64Array;
  /** Routing weights [T, k]. */
  readonly weights: Float32Array;
  /** CSR of slot rows per local expert (slotPlan.ts). */
  readonly start: Int32Array;
  readonly rows: Int32Array;
  /** Local experts to run, heaviest first; queue[0] is the next index to take (Atomics). */
  readonly order: Int32Array;
  readonly queue: Int32Array;
  readonly out1Scale: Float32Array;
  readonly out1GateScale: Float32Array;
  readonly out2Scale: Float32Array;
  readonly swiglu: { readonly alpha: Float32Array; readonly beta: Float32Array; readonly limit: Float32Array } | null;
  readonly y: Float32Array;
  readonly absY: Float32Array;
  /**
   * Per-slot flip allowance: an expert writes whole rows of its slots with fragile elements
   * (all its rows in the dense case) and marks them in flipRows; its other rows it marks 0
   * and leaves as they are (finalize reads them as zeros).
   */
  readonly flipY: Float32Array;
  /** Per slot row of flipY (chunk-relative): 1 written, 0 no flip allowance. */
  readonly flipRows: Uint8Array;
  /** [T]: set to 1 for tokens with a fragile element. */
  readonly fragileTokens: Uint8Array;
  /**
   * Weight scale arrays to scan for NaN codes (checkCase's scan, nanScaleScan.ts) once the
   * expert queue is empty, scanBytes bytes per task from scanQueue; empty: none.
   */
  readonly scans: readonly NanScaleScanTask[];
  readonly scanBytes: number;
  readonly scanQueue: Int32Array;
}

/** Finalize (slot-order sums) of token blocks taken from a shared queue. */
export interface FinalizeJob {
  readonly kind: 'finalize';
  readonly H: number;
  readonly topK: number;
  readonly localOffset: number;
  readonly localExperts: number;
  /** Chunk [t0, t1) whose per-slot rows y/absY/flipY hold. */
  readonly t0: number;
  readonly t1: number;
  /** Tokens per queue task. */
  readonly tokensPerTask: number;
  readonly ids: Int32Array;
  readonly weights: Float32Array;
  readonly weightPlacement: WeightPlacement;
  /** 'output': absY/flipY are not read; absAccum/flipAllowance rows are zero-filled. */
  readonly analysis: 'full' | 'output';
  readonly y: Float32Array;
  readonly absY: Float32Array;
  readonly flipY: Float32Array;
  /** Per slot row of flipY: 1 when written, 0 when it holds no flip allowance (not zero-filled). */
  readonly flipRows: Uint8Array;
  /** [T, H] outputs (absolute token index). */
  readonly outputF32: Float32Array;
  /** [T, H] bf16 bits of outputF32 (f32ArrayToBf16 of the finalized rows). */
  readonly outputBf16: Uint16Array;
  readonly absAccum: Float32Array;
  readonly flipAllowance: Float32Array;
  /**
   * The shared WebAssembly.Memory that y, absY, flipY, outputF32, absAccum and
   * flipAllowance are views of (the finalize kernel sums there), or null (JS sums).
   */
  readonly memory: object | null;
  readonly queue: Int32Array;
}

/** Decode the hidden states (dequantizeHidden, q·s) of token blocks taken from a shared queue. */
export interface HiddenJob {
  readonly kind: 'hidden';
  readonly T: number;
  readonly H: number;
  readonly format: 'nvfp4' | 'mxfp8' | 'bf16';
  /** nvfp4: packed e2m1 [T, H/2]; mxfp8: e4m3 [T, H]; bf16: bits [T, H]. */
  readonly data: Uint8Array | Uint16Array;
  /** nvfp4: e4m3 [T, H/16]; mxfp8: ue8m0 [T, H/32]; bf16: null. */
  readonly scales: Uint8Array | null;
  /** Out: [T, H] float32. */
  readonly x: Float32Array;
  /** Out, unless null: upper bounds of ||x̂_t||₂ [T] (√ of a rounded-up Σx², or of the FP4 decoder's row bound). */
  readonly xNorm: Float64Array | null;
  readonly tokensPerTask: number;
  readonly queue: Int32Array;
}

/** One weight scale array to scan; `first[0]` ends as the smallest NaN index (0x7fffffff: none). */
export interface NanScaleScanTask {
  readonly scales: Uint8Array;
  readonly format: ScaleByteFormat;
  readonly first: Int32Array;
}

/** Every job a worker runs; 'gemm' is the benchmark's baseline (gemmBaselineJob.ts). */
export type Job = MoeJob | GemmJob | FinalizeJob | HiddenJob;
export type { GemmJob };

export interface JobStats {
  elements: number;
  fragileElements: number;
  fragileBlocks: number;
  /** Experts whose flip allowance went through a dense GEMM (many fragile elements). */
  denseFlipExperts: number;
  /** Exact FC1 absolute sums computed (candidates of the fragility prefilter). */
  exactRadii: number;
  experts: number;
  ms: number;
  /** When this worker started and ended the job: performance.timeOrigin + now(), comparable across threads. */
  start: number;
  end: number;
  /** Milliseconds per pipeline phase (summed over this worker's experts). */
  phases: Record<string, number>;
}

export function emptyStats(): JobStats {
  return { elements: 0, fragileElements: 0, fragileBlocks: 0, denseFlipExperts: 0, exactRadii: 0, experts: 0, ms: 0, start: 0, end: 0, phases: {} };
}

export type WorkerReply =
  | { readonly type: 'ready'; readonly name: string; readonly note?: string }
  | { readonly type: 'done'; readonly id: number; readonly stats: JobStats }
  | { readonly type: 'error'; readonly id: number; readonly name: string; readonly message: string; readonly stack?: string };

export interface WorkerRequest {
  readonly id: number;
  readonly job: Job;
}
