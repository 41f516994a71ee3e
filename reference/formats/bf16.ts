/**
 * bf16, SPEC §2: the top 16 bits of a float32 after round-to-nearest-even.
 * A JS number is first rounded to float32 (Math.fround), then to bf16: this is the
 * float32 → bf16 conversion a kernel performs. NaN stays NaN (the quiet bit is set so a
 * NaN whose payload sits in the low 16 bits cannot turn into Infinity); ±Infinity stay;
 * finite float32 values above the bf16 range round to ±Infinity, as RNE demands.
 */

const F32 = new Float32Array(1);
const U32 = new Uint32Array(F32.buffer);

/** RNE of float32 bits to bf16 bits. */
function bitsToBf16(bits: number): number {
  if ((bits & 0x7f800000) === 0x7f800000 && (bits & 0x007fffff) !== 0) return ((bits >>> 16) | 0x0040) & 0xffff;
  return ((bits + 0x7fff + ((bits >>> 16) & 1)) >>> 16) & 0xffff;
}

/** bf16 bits (uint16) of x rounded to float32 and then to bf16, nearest even. */
export function f32ToBf16(x: number): number {
  F32[0] = x;
  return bitsToBf16(U32[0]!);
}

/** The float value of bf16 bits. */
export function bf16ToF32(bits: number): number {
  U32[0] = (bits & 0xffff) << 16;
  return F32[0]!;
}

/** x rounded to the nearest bf16 value (as a number). */
export function roundBf16(x: number): number {
  return bf16ToF32(f32ToBf16(x));
}

/** Convert a whole Float32Array to bf16 bits (NaN payloads handled as in f32ToBf16). */
export function f32ArrayToBf16(a: Float32Array): Uint16Array {
  const bits = new Uint32Array(a.buffer, a.byteOffset, a.length);
  const out = new Uint16Array(a.length);
  for (let i = 0; i < out.length; i++) {
    const b = bits[i]!;
    out[i] = (b & 0x7f800000) === 0x7f800000 && (b & 0x007fffff) !== 0
      ? (b >>> 16) | 0x0040
      : (b + 0x7fff + ((b >>> 16) & 1)) >>> 16;
  }
  return out;
}

/** Decode bf16 bits to a Float32Array. */
export function bf16ArrayToF32(a: Uint16Array): Float32Array {
  const out = new Float32Array(a.length);
  const bits = new Uint32Array(out.buffer);
  for (let i = 0; i < a.length; i++) bits[i] = a[i]! << 16;
  return out;
}

/** Round every element of v[offset, offset+length) to bf16 in place. */
export function roundBf16InPlace(v: Float32Array, offset: number, length: number): void {
  const bits = new Uint32Array(v.buffer, v.byteOffset + offset * 4, length);
  for (let i = 0; i < length; i++) {
    const b = bits[i]!;
    bits[i] = (b & 0x7f800000) === 0x7f800000 && (b & 0x007fffff) !== 0
      ? ((b | 0x00400000) & 0xffff0000) >>> 0
      : ((b + 0x7fff + ((b >>> 16) & 1)) & 0xffff0000) >>> 0;
  }
}
