/**
 * A run of FP4 weight rows inside a case's packed arrays: the source every FP4 decoder of the
 * fast path takes (dequantTable.ts, simdDequant.ts, MatrixEngine.dequantFp4), by name.
 */
import type { WeightFormat } from './dequantTable.js';

export interface Fp4Rows {
  readonly fmt: WeightFormat;
  /** Packed e2m1 codes (two per byte, low nibble first); the rows start at packedOffset (= first element / 2). */
  readonly packed: Uint8Array;
  readonly packedOffset: number;
  /** Block scales (e4m3 for nvfp4, ue8m0 for mxfp4); the rows' first at scalesOffset (= first element / block). */
  readonly scales: Uint8Array;
  readonly scalesOffset: number;
  readonly rows: number;
  readonly cols: number;
}

