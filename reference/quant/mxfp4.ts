/**
 * MXFP4 block quantization, SPEC §2: blocks of 32 along the last dimension, a ue8m0
 * scale s = 2^ceil(log2(amax_b / 6)) (exponent rounded UP, so the block's largest
 * element never saturates), q = e2m1(fl32(x / s)) (exact: s is a power of two), x̂ = q·s.
 * An all-zero block gets the smallest scale code 0 (2^-127) and zero codes.
 * The sign of zero is kept. NaN or infinite input is rejected naming the tensor.
 */
import { encodeE2m1Unchecked } from '../formats/e2m1.js';
import { E2M1_PAIR_VALUES } from '../formats/fp4pack.js';
import { UE8M0_VALUES, ue8m0CeilScale } from '../formats/ue8m0.js';
import { checkBlockShape, checkLength, finiteAmax } from './shape.js';

export const MX_BLOCK = 32;

/** Quantize into preallocated outputs (see quantizeMxfp4); the caller has validated shapes. */
function quantizeMxfp4Into(
  x: Float32Array, xOffset: number, rows: number, cols: number,
  packed: Uint8Array, packedOffset: number, scales: Uint8Array, scalesOffset: number, name: string,
): void {
  const blocks = (rows * cols) / MX_BLOCK;
  for (let b = 0; b < blocks; b++) {
    const base = xOffset + b * MX_BLOCK;
    const sCode = ue8m0CeilScale(finiteAmax(x, base, MX_BLOCK, name), 6);
    scales[scalesOffset + b] = sCode;
    const s = UE8M0_VALUES[sCode]!;
    const p = packedOffset + b * (MX_BLOCK / 2);
    for (let j = 0; j < MX_BLOCK / 2; j++) {
      const r0 = Math.fround(x[base + 2 * j]! / s);
      const r1 = Math.fround(x[base + 2 * j + 1]! / s);
      packed[p + j] = encodeE2m1Unchecked(r0) | (encodeE2m1Unchecked(r1) << 4);
    }
  }
}

/** Quantize a rows×cols float32 tensor (cols a multiple of 32) to MXFP4: packed [rows, cols/2], scales [rows, cols/32]. */
export function quantizeMxfp4(x: Float32Array, rows: number, cols: number, name = 'x'): { packed: Uint8Array; scales: Uint8Array } {
  checkBlockShape(rows, cols, MX_BLOCK, 'MXFP4');
  checkLength(name, x, rows * cols, `rows·cols = ${rows}·${cols}`);
  const packed = new Uint8Array((rows * cols) / 2);
  const scales = new Uint8Array((rows * cols) / MX_BLOCK);
  quantizeMxfp4Into(x, 0, rows, cols, packed, 0, scales, 0, name);
  return { packed, scales };
}

/** Dequantize MXFP4: q·s (exact in float32). Scales in the linear layout. */
export function dequantizeMxfp4(packed: Uint8Array, scales: Uint8Array, rows: number, cols: number): Float32Array {
  checkBlockShape(rows, cols, MX_BLOCK, 'MXFP4');
  checkLength('packed', packed, (rows * cols) / 2, `rows·cols/2 = ${rows}·${cols}/2`);
  checkLength('scales', scales, (rows * cols) / MX_BLOCK, `rows·cols/32 = ${rows}·${cols}/32`);
  const out = new Float32Array(rows * cols);
  const blocks = (rows * cols) / MX_BLOCK;
  for (let b = 0; b < blocks; b++) {
    const s = UE8M0_VALUES[scales[b]!]!;
    const p = b * (MX_BLOCK / 2);
    const o = b * MX_BLOCK;
    for (let j = 0; j < MX_BLOCK / 2; j++) {
      const byte = packed[p + j]!;
      out[o + 2 * j] = E2M1_PAIR_VALUES[2 * byte]! * s;
      out[o + 2 * j + 1] = E2M1_PAIR_VALUES[2 * byte + 1]! * s;
    }
  }
  return out;
}
