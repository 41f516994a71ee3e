/**
 * NVFP4 block quantization, SPEC §2: blocks of 16 along the last dimension, an e4m3
 * block scale and a float32 global encode scale g per tensor (per expert for weights).
 *
 * Arithmetic, every step in float32 (fl = Math.fround):
 *   g     = fl(2688 / amax(tensor))            (2688 = 448·6; g = 1 for an all-zero tensor)
 *   s_b   = e4m3(fl(fl(g · amax_b) / 6))        the scale byte; s = its DECODED value
 *   q     = e2m1(fl(fl(x · g) / s))           true division by the decoded scale,
 *                                              not multiplication by a reciprocal
 *   x̂     = fl(q · s / g)                      dequantization (q·s is exact in float32)
 * The sign of zero is kept (-0 and tiny negatives give code 0x8, "-0").
 * A block whose scale encodes to 0 (all zeros, or amax_b so small that g·amax_b/6 is
 * below half of e4m3's smallest subnormal 2^-9) stores q = 0 for every element.
 * NaN or infinite input is rejected with BadArgumentError naming the tensor.
 */
import { BadArgumentError } from '../errors.js';
import { E4M3_VALUES, encodeE4m3F32 } from '../formats/e4m3.js';
import { encodeE2m1Unchecked } from '../formats/e2m1.js';
import { E2M1_PAIR_VALUES } from '../formats/fp4pack.js';
import { checkBlockShape, checkLength, finiteAmax } from './shape.js';

const NVFP4_BLOCK = 16;

/** g = fl32(448·6 / amax); 1 for amax = 0. amax must be finite, >= 0, and not so small that g overflows float32. */
export function nvfp4GlobalScale(amax: number): number {
  if (!(amax >= 0) || amax === Infinity) throw new BadArgumentError('amax', 'a finite number >= 0', String(amax));
  if (amax === 0) return 1;
  const g = Math.fround(2688 / amax);
  if (g === Infinity) throw new BadArgumentError('amax', 'at least 2688 / 3.4028235e38 (else g overflows float32)', String(amax));
  return g;
}

function checkGlobalScale(g: number): void {
  if (!(g > 0) || g === Infinity) throw new BadArgumentError('globalScale', 'a finite number > 0', String(g));
}

/**
 * Quantize rows×cols of x (starting at x[xOffset]) into preallocated outputs:
 * packed[packedOffset ..+ rows·cols/2], scales[scalesOffset ..+ rows·cols/16] (linear layout).
 * No shape checks beyond NaN/Inf: the public quantizeNvfp4 validates; the generator calls this directly.
 */
export function quantizeNvfp4Into(
  x: Float32Array, xOffset: number, rows: number, cols: number, globalScale: number,
  packed: Uint8Array, packedOffset: number, scales: Uint8Array, scalesOffset: number, name: string,
): void {
  const g = Math.fround(globalScale);
  const blocks = (rows * cols) / NVFP4_BLOCK;
  for (let b = 0; b < blocks; b++) {
    const base = xOffset + b * NVFP4_BLOCK;
    const amax = finiteAmax(x, base, NVFP4_BLOCK, name);
    const sCode = encodeE4m3F32(Math.fround(Math.fround(g * amax) / 6));
    scales[scalesOffset + b] = sCode;
    const s = E4M3_VALUES[sCode]!;
    const p = packedOffset + b * (NVFP4_BLOCK / 2);
    if (s === 0) {
      for (let j = 0; j < NVFP4_BLOCK / 2; j++) packed[p + j] = 0;
      continue;
    }
    for (let j = 0; j < NVFP4_BLOCK / 2; j++) {
      const r0 = Math.fround(Math.fround(x[base + 2 * j]! * g) / s);
      const r1 = Math.fround(Math.fround(x[base + 2 * j + 1]! * g) / s);
      packed[p + j] = encodeE2m1Unchecked(r0) | (encodeE2m1Unchecked(r1) << 4);
    }
  }
}

/** Quantize a rows×cols float32 tensor (cols a multiple of 16) with global encode scale g. */
export function quantizeNvfp4(
  x: Float32Array, rows: number, cols: number, globalScale: number, name = 'x',
): { packed: Uint8Array; scales: Uint8Array } {
  checkBlockShape(rows, cols, NVFP4_BLOCK, 'NVFP4');
  checkLength(name, x, rows * cols, `rows·cols = ${rows}·${cols}`);
  checkGlobalScale(globalScale);
  const packed = new Uint8Array((rows * cols) / 2);
  const scales = new Uint8Array((rows * cols) / NVFP4_BLOCK);
  quantizeNvfp4Into(x, 0, rows, cols, globalScale, packed, 0, scales, 0, name);
  return { packed, scales };
}

/** Dequantize: fl32(q·s/g). Pass globalScale = 1 to get q·s exactly. Scales in the linear layout. */
export function dequantizeNvfp4(
  packed: Uint8Array, scales: Uint8Array, rows: number, cols: number, globalScale: number,
): Float32Array {
  checkBlockShape(rows, cols, NVFP4_BLOCK, 'NVFP4');
  checkLength('packed', packed, (rows * cols) / 2, `rows·cols/2 = ${rows}·${cols}/2`);
  checkLength('scales', scales, (rows * cols) / NVFP4_BLOCK, `rows·cols/16 = ${rows}·${cols}/16`);
  checkGlobalScale(globalScale);
  const g = Math.fround(globalScale);
  const out = new Float32Array(rows * cols);
  const blocks = (rows * cols) / NVFP4_BLOCK;
  for (let b = 0; b < blocks; b++) {
    const s = E4M3_VALUES[scales[b]!]!;
    const p = b * (NVFP4_BLOCK / 2);
    const o = b * NVFP4_BLOCK;
    if (g === 1) {
      for (let j = 0; j < NVFP4_BLOCK / 2; j++) {
        const byte = packed[p + j]!;
        out[o + 2 * j] = E2M1_PAIR_VALUES[2 * byte]! * s;
        out[o + 2 * j + 1] = E2M1_PAIR_VALUES[2 * byte + 1]! * s;
      }
    } else {
      for (let j = 0; j < NVFP4_BLOCK / 2; j++) {
        const byte = packed[p + j]!;
        out[o + 2 * j] = (E2M1_PAIR_VALUES[2 * byte]! * s) / g;
        out[o + 2 * j + 1] = (E2M1_PAIR_VALUES[2 * byte + 1]! * s) / g;
      }
    }
  }
  return out;
}
