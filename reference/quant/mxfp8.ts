/**
 * MXFP8 block quantization, SPEC §2: blocks of 32 along the last dimension, a ue8m0
 * scale s = 2^ceil(log2(amax_b / 448)) (exponent rounded UP: the largest element never
 * saturates), q = e4m3(fl32(x / s)) (exact division: s is a power of two), x̂ = q·s.
 * An all-zero block gets the smallest scale code 0 and zero bytes.
 * The sign of zero is kept. NaN or infinite input is rejected naming the tensor.
 */
import { E4M3_VALUES, encodeE4m3F32 } from '../formats/e4m3.js';
import { UE8M0_VALUES, ue8m0CeilScale } from '../formats/ue8m0.js';
import { MX_BLOCK } from './mxfp4.js';
import { checkBlockShape, checkLength, finiteAmax } from './shape.js';

/** Quantize into preallocated outputs (see quantizeMxfp8); the caller has validated shapes. */
export function quantizeMxfp8Into(
  x: Float32Array, xOffset: number, rows: number, cols: number,
  data: Uint8Array, dataOffset: number, scales: Uint8Array, scalesOffset: number, name: string,
): void {
  const blocks = (rows * cols) / MX_BLOCK;
  for (let b = 0; b < blocks; b++) {
    const base = xOffset + b * MX_BLOCK;
    const sCode = ue8m0CeilScale(finiteAmax(x, base, MX_BLOCK, name), 448);
    scales[scalesOffset + b] = sCode;
    const s = UE8M0_VALUES[sCode]!;
    const d = dataOffset + b * MX_BLOCK;
    for (let j = 0; j < MX_BLOCK; j++) data[d + j] = encodeE4m3F32(Math.fround(x[base + j]! / s));
  }
}

/** Quantize a rows×cols float32 tensor (cols a multiple of 32) to MXFP8: data [rows, cols], scales [rows, cols/32]. */
export function quantizeMxfp8(x: Float32Array, rows: number, cols: number, name = 'x'): { data: Uint8Array; scales: Uint8Array } {
  checkBlockShape(rows, cols, MX_BLOCK, 'MXFP8');
  checkLength(name, x, rows * cols, `rows·cols = ${rows}·${cols}`);
  const data = new Uint8Array(rows * cols);
  const scales = new Uint8Array((rows * cols) / MX_BLOCK);
  quantizeMxfp8Into(x, 0, rows, cols, data, 0, scales, 0, name);
  return { data, scales };
}

/** Dequantize MXFP8: q·s (exact in float32: the smallest product is 2^-9·2^-127). */
export function dequantizeMxfp8(data: Uint8Array, scales: Uint8Array, rows: number, cols: number): Float32Array {
  checkBlockShape(rows, cols, MX_BLOCK, 'MXFP8');
  checkLength('data', data, rows * cols, `rows·cols = ${rows}·${cols}`);
  checkLength('scales', scales, (rows * cols) / MX_BLOCK, `rows·cols/32 = ${rows}·${cols}/32`);
  const out = new Float32Array(rows * cols);
  const blocks = (rows * cols) / MX_BLOCK;
  for (let b = 0; b < blocks; b++) {
    const s = UE8M0_VALUES[scales[b]!]!;
    const o = b * MX_BLOCK;
    for (let j = 0; j < MX_BLOCK; j++) out[o + j] = E4M3_VALUES[data[o + j]!]! * s;
  }
  return out;
}
