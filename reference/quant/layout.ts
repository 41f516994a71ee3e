/**
 * Block-scale layouts, SPEC §2. Every function here works on the SCALE matrix:
 * `rows` is the number of tensor rows and `cols` the number of SCALE columns
 * (the tensor's last dimension divided by the block size), not tensor columns.
 *
 * linear:   [rows, cols] row-major, byte m·cols + k.
 * 128x4:    rows padded to a multiple of 128, columns to a multiple of 4, tiles of
 *           128 rows × 4 columns stored as 512 contiguous bytes, tiles row-major
 *           (a row of tiles covers all ceil(cols/4) column tiles); inside a tile,
 *           row m sits at (m%32)·16 + ((m%128)/32)·4 and column k at k%4:
 *           offset(m, k) = ((m/128)·ceil(cols/4) + k/4)·512 + (m%32)·16 + ((m%128)/32)·4 + k%4.
 *           Padding bytes are 0.
 */
import { BadArgumentError } from '../errors.js';
import { checkLength } from './shape.js';

function checkDims(rows: number, cols: number): void {
  if (!Number.isSafeInteger(rows) || rows < 0) throw new BadArgumentError('rows', 'an integer >= 0', String(rows));
  if (!Number.isSafeInteger(cols) || cols < 0) throw new BadArgumentError('cols', 'an integer >= 0 (scale columns)', String(cols));
}

/** Byte offset of scale (row m, scale column k) in the 128x4 layout of a matrix with `cols` scale columns. */
export function swizzledScaleOffset(m: number, k: number, cols: number): number {
  const colTiles = Math.ceil(cols / 4);
  return (Math.floor(m / 128) * colTiles + Math.floor(k / 4)) * 512 + (m % 32) * 16 + Math.floor((m % 128) / 32) * 4 + (k % 4);
}

/** Bytes of the 128x4 layout: rows padded to 128 times scale columns padded to 4. */
export function swizzledScaleSize(rows: number, cols: number): number {
  checkDims(rows, cols);
  return Math.ceil(rows / 128) * 128 * Math.ceil(cols / 4) * 4;
}

function checkBatch(batch: number): void {
  if (!Number.isSafeInteger(batch) || batch < 1) throw new BadArgumentError('batch', 'an integer >= 1', String(batch));
}

/**
 * Linear [batch, rows, cols] scales to the 128x4 layout, each of the `batch` matrices
 * (e.g. one per expert) swizzled on its own and stored one after another, padding 0.
 */
export function swizzleScales128x4(linear: Uint8Array, rows: number, cols: number, batch = 1): Uint8Array {
  checkDims(rows, cols);
  checkBatch(batch);
  checkLength('linear', linear, batch * rows * cols, `batch·rows·cols = ${batch}·${rows}·${cols} scale bytes`);
  const size = swizzledScaleSize(rows, cols);
  const out = new Uint8Array(batch * size);
  const colTiles = Math.ceil(cols / 4);
  for (let e = 0; e < batch; e++) {
    for (let m = 0; m < rows; m++) {
      const rowBase = e * size + Math.floor(m / 128) * colTiles * 512 + (m % 32) * 16 + ((m % 128) >> 5) * 4;
      const src = (e * rows + m) * cols;
      for (let k = 0; k < cols; k++) out[rowBase + (k >> 2) * 512 + (k & 3)] = linear[src + k]!;
    }
  }
  return out;
}

/** The 128x4 layout of [batch] matrices back to linear [batch, rows, cols] (padding dropped). */
export function unswizzleScales128x4(swizzled: Uint8Array, rows: number, cols: number, batch = 1): Uint8Array {
  checkDims(rows, cols);
  checkBatch(batch);
  const size = swizzledScaleSize(rows, cols);
  checkLength('swizzled', swizzled, batch * size, `batch·swizzledScaleSize(${rows}, ${cols}) = ${batch}·${size}`);
  const out = new Uint8Array(batch * rows * cols);
  const colTiles = Math.ceil(cols / 4);
  for (let e = 0; e < batch; e++) {
    for (let m = 0; m < rows; m++) {
      const rowBase = e * size + Math.floor(m / 128) * colTiles * 512 + (m % 32) * 16 + ((m % 128) >> 5) * 4;
      const dst = (e * rows + m) * cols;
      for (let k = 0; k < cols; k++) out[dst + k] = swizzled[rowBase + (k >> 2) * 512 + (k & 3)]!;
    }
  }
  return out;
}
