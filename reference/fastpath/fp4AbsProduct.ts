/**
 * |W2|·|Â|ᵀ for NVFP4 weights and NVFP4 FC2 input (the absAccum the comparator's bound is
 * built on), with integer products inside each block of 16.
 *
 * Both operands are e2m1 codes times an e4m3 block scale along the same 16-element blocks
 * of I, so for token p and weight row h
 *
 *   Σ_i |W2[h,i]|·|Â[p,i]| = Σ_b sw[h,b]·sa[p,b]·D[h,p,b]/4,  D = Σ_{j<16} (2|qw|)·(2|qa|),
 *
 * where 2|q| ∈ {0, 1, 2, 3, 4, 6, 8, 12}: D is an exact integer ≤ 2304 and D·sa·sw is exact
 * in float32 (12 + 4 + 4 significant bits), so the only roundings are the float32 sum over
 * the I/16 blocks (in block order) and the final scaling: out = fl32(fl32(acc/4)·scale).
 * That is at least as close to the exact sum as a float32 GEMM over I products, and it
 * costs about half as much (the WebAssembly kernel multiplies int16 codes, two tokens per
 * lane: `absprod` in wasm/analysis.wat).
 *
 * Token side: the block scale of Â is the one its re-quantization used (requantize.ts's rule
 * on the block's amax, requantBlockScale), and each |â| must be 2|q|/2 times it exactly; a value
 * that is not is an internal error (thrown), never a silently wrong bound.
 *
 * Layouts (shared by the WebAssembly kernel and the JS twin below), nb = I/16 blocks, tokens
 * in groups of 8 (g), the last group padded:
 *  - tc (int16): tc[((g·nb + b)·8 + m)·8 + 2l + e] = t(8g + l, 16b + 2m + e)
 *    + 4096·(t(8g + 4 + l, 16b + 2m + e) − 6), l < 4, t = 2|q| (0 for padding tokens);
 *  - ts (float32): ts[(g·nb + b)·8 + l] = sa(8g + l, b) (0 for padding, NaN for a NaN block).
 */
import { E4M3_VALUES } from '../formats/e4m3.js';
import type { EngineMatrix } from './matrixEngine.js';

export interface Fp4AbsProduct {
  /**
   * Records the token side of one FC1 chunk of an expert: elements i0 .. i0 + R − 1 of its
   * n tokens, chunk-major at off + p·R + r in ahat, FC2's input just re-quantized to NVFP4 by
   * this kernel object's requant (whose block scales it reads). Call for every chunk (i0 = 0
   * first) before product(). R a multiple of 16; I the expert's full FC2-input width. May
   * grow the heap.
   */
  tokens(ahat: EngineMatrix, off: number, n: number, R: number, i0: number, I: number): void;
  /**
   * out[p·rows + h] = fl32(fl32(acc/4)·scale) for the recorded tokens p < n and the `rows`
   * NVFP4 weight rows h of width I at packed[packedOffset..] (low nibble first) with e4m3
   * scales at scales[scalesOffset..]; out holds outRows(n)·rows float32 (rows even).
   * scale: a float32 value. May grow the heap.
   */
  product(
    packed: Uint8Array, packedOffset: number, scales: Uint8Array, scalesOffset: number, rows: number,
    out: EngineMatrix, scale: number,
  ): void;
}

/** Rows of product()'s output for n tokens (n rounded up to a multiple of 8). */
export function outRows(n: number): number {
  return Math.ceil(n / 8) * 8;
}

/** int16 slots of tc for n tokens and nb blocks. */
export function tokenCodeLength(n: number, nb: number): number {
  return (outRows(n) / 8) * nb * 64;
}

/** float32 slots of ts for n tokens and nb blocks. */
export function tokenScaleLength(n: number, nb: number): number {
  return (outRows(n) / 8) * nb * 8;
}

/** What an empty tc slot holds: t = 0 in both fields (the high field's −6 offset). */
export const EMPTY_TOKEN_CODE = -6 * 4096;

/**
 * Packs one chunk's token side into tc/ts (which start as EMPTY_TOKEN_CODE / 0 for the
 * expert). scales[q] = the block scale the re-quantization used for the chunk's q-th block
 * (chunk-major, (p·R + r)/16; requantBlockScale, NaN for a NaN block).
 */
export function packTokenChunk(
  ahat: Float32Array, off: number, n: number, R: number, i0: number, nb: number, scales: Float32Array,
  tc: Int16Array, ts: Float32Array,
): void {
  const bpr = R / 16; // blocks per token row of the chunk
  const b0 = i0 / 16;
  for (let p = 0; p < n; p++) {
    const g = p >> 3;
    const l = p & 7;
    const high = l >= 4;
    const lane = 2 * (l & 3);
    for (let q = 0; q < bpr; q++) {
      const sa = scales[p * bpr + q]!;
      const b = b0 + q;
      ts[(g * nb + b) * 8 + l] = sa;
      if (!(sa > 0)) continue; // NaN block (scale NaN) or zero block (all +0): codes stay 0
      const src = off + p * R + q * 16;
      const base = (g * nb + b) * 64 + lane;
      for (let j = 0; j < 16; j++) {
        const t = (Math.abs(ahat[src + j]!) / sa) * 2;
        if (!(t === 0 || t === 1 || t === 2 || t === 3 || t === 4 || t === 6 || t === 8 || t === 12)) {
          throw new Error(
            `fp4AbsProduct: FC2 input element (token ${p}, i ${i0 + q * 16 + j}) = ${ahat[src + j]} is not an e2m1 value times its block scale ${sa}`
            + ' (internal error: the re-quantized input and its block scale disagree)');
        }
        const at = base + (j >> 1) * 8 + (j & 1);
        tc[at] = tc[at]! + (high ? 4096 * t : t);
      }
    }
  }
}

const MAG2 = [0, 1, 2, 3, 4, 6, 8, 12]; // 2|q| of e2m1 codes 0..7 (sign bit dropped)

/** fp4AbsProductJs's operands, by name (the WebAssembly absprod's, as JS arrays). */
export interface Fp4AbsProductArgs {
  /** `rows` NVFP4 weight rows of nb blocks of 16: packed from packedOffset, e4m3 scales from scalesOffset. */
  readonly packed: Uint8Array;
  readonly packedOffset: number;
  readonly scales: Uint8Array;
  readonly scalesOffset: number;
  readonly rows: number;
  readonly nb: number;
  /** The token side of n tokens, as packTokenChunk wrote it. */
  readonly tc: Int16Array;
  readonly ts: Float32Array;
  readonly n: number;
  /** outRows(n)·rows float32, written at p·rows + h. */
  readonly out: Float32Array;
  /** A float32 value. */
  readonly scale: number;
}

/**
 * The JS twin of abswts + absprod (same layouts, same float32 operations in the same
 * order): the test oracle of the WebAssembly kernel.
 */
export function fp4AbsProductJs(args: Fp4AbsProductArgs): void {
  const { packed, packedOffset, scales, scalesOffset, rows, nb, tc, ts, n, out, scale } = args;
  const f = Math.fround;
  const I = 16 * nb;
  for (let h = 0; h < rows; h++) {
    for (let p = 0; p < outRows(n); p++) {
      const g = p >> 3;
      const l = p & 7;
      let acc = 0;
      for (let b = 0; b < nb; b++) {
        const sw = Math.abs(E4M3_VALUES[scales[scalesOffset + h * nb + b]!]!);
        let d = 0;
        let wsum = 0;
        for (let j = 0; j < 16; j++) {
          const byte = packed[packedOffset + (h * I + 16 * b + j) / 2 | 0]!;
          const w = MAG2[((j & 1) === 0 ? byte : byte >> 4) & 7]!;
          wsum += w;
          d += w * tc[(g * nb + b) * 64 + (j >> 1) * 8 + 2 * (l & 3) + (j & 1)]!;
        }
        // the kernel's int32 lane: low 12 bits token 8g + l (l < 4), the rest 8g + 4 + l
        const D = l < 4 ? d & 4095 : (d >> 12) + 6 * wsum;
        acc = f(acc + D * f(ts[(g * nb + b) * 8 + l]! * sw));
      }
      out[p * rows + h] = f(f(acc * 0.25) * scale);
    }
  }
}
