import test from 'ava';
import { testProp, fc } from '@fast-check/ava';
import { BadArgumentError } from '../errors.js';
import { decodeE2m1, encodeE2m1 } from '../formats/e2m1.js';
import { E4M3_VALUES, encodeE4m3 } from '../formats/e4m3.js';
import { unpackE2m1 } from '../formats/fp4pack.js';
import { dequantizeNvfp4, nvfp4GlobalScale, quantizeNvfp4 } from './nvfp4.js';
import { matrixShape } from './shape.js';
import { runs } from '../../properties/runs.js';

const f = Math.fround;

/** Scalar oracle of SPEC §2 with the documented float32 order of operations. */
function oracle(x: Float32Array, rows: number, cols: number, g: number): { codes: number[]; scales: number[] } {
  const codes: number[] = [];
  const scales: number[] = [];
  for (let b = 0; b < (rows * cols) / 16; b++) {
    let amax = 0;
    for (let i = 0; i < 16; i++) amax = Math.max(amax, Math.abs(x[b * 16 + i]!));
    const sc = encodeE4m3(f(f(g * amax) / 6));
    scales.push(sc);
    const s = E4M3_VALUES[sc]!;
    for (let i = 0; i < 16; i++) codes.push(s === 0 ? 0 : encodeE2m1(f(f(x[b * 16 + i]! * g) / s)));
  }
  return { codes, scales };
}

function amaxOf(x: Float32Array): number {
  let m = 0;
  for (const v of x) m = Math.max(m, Math.abs(v));
  return m;
}

/** rows×cols tensors whose blocks stay within a 1e3 dynamic range of the tensor max (normal e4m3 scales). */
const tensor = fc.record({ rows: fc.integer({ min: 1, max: 4 }), blocks: fc.integer({ min: 1, max: 4 }), mag: fc.integer({ min: -20, max: 20 }), seed: fc.integer() })
  .map(({ rows, blocks, mag, seed }) => {
    const cols = blocks * 16;
    const x = new Float32Array(rows * cols);
    let s = seed | 1;
    for (let i = 0; i < x.length; i++) {
      s ^= s << 13; s ^= s >>> 17; s ^= s << 5;
      const blockScale = 1 + ((Math.floor(i / 16) * 7) % 10) * 100; // 1 … 901 per block
      x[i] = ((s % 1000) / 1000) * blockScale * 2 ** mag;
    }
    return { x, rows, cols };
  });

test('global scale: 2688/amax in float32; 1 for an all-zero tensor; bad amax named', (t) => {
  t.is(nvfp4GlobalScale(2688), 1);
  t.is(nvfp4GlobalScale(0), 1);
  t.is(nvfp4GlobalScale(3), f(2688 / 3));
  for (const bad of [NaN, -1, Infinity, 1e-45]) {
    t.is(t.throws(() => nvfp4GlobalScale(bad), { instanceOf: BadArgumentError })?.argument, 'amax');
  }
});

test('a hand-computed block: amax 6 with g = 1 gives scale 1 and exact codes', (t) => {
  const x = new Float32Array([6, -3, 0.5, 0.25, 0.75, 1.25, -5, 2.5, 3.5, -0.1, 0, 1, 1.5, 2, 4, -6]);
  const { packed, scales } = quantizeNvfp4(x, 1, 16, 1);
  t.deepEqual(Array.from(scales), [encodeE4m3(1)]);
  const codes = Array.from(unpackE2m1(packed, 16));
  t.deepEqual(codes.map(decodeE2m1), [6, -3, 0.5, 0, 1, 1, -4, 2, 4, -0, 0, 1, 1.5, 2, 4, -6]);
});

test('scale uses the DECODED e4m3 value and true division: amax 7 → s = e4m3(7/6) = 1.125', (t) => {
  const x = new Float32Array(16);
  x[0] = 7;
  x[1] = 1.6875; // 1.6875 / 1.125 = 1.5 exactly
  x[2] = 2.53125; // / 1.125 = 2.25 → 2 (nearest)
  const { packed, scales } = quantizeNvfp4(x, 1, 16, 1);
  t.is(E4M3_VALUES[scales[0]!], 1.125);
  const q = Array.from(unpackE2m1(packed, 3)).map(decodeE2m1);
  t.deepEqual(q, [6, 1.5, 2]); // 7/1.125 = 6.22 saturates to 6
});

test('all-zero block: scale 0 and codes 0; all-zero tensor uses g = 1', (t) => {
  const x = new Float32Array(32);
  x[20] = 1;
  const g = nvfp4GlobalScale(amaxOf(x));
  const { packed, scales } = quantizeNvfp4(x, 1, 32, g);
  t.is(scales[0], 0);
  t.deepEqual(Array.from(packed.subarray(0, 8)), new Array(8).fill(0));
  t.is(E4M3_VALUES[scales[1]!], 448);
  const zero = quantizeNvfp4(new Float32Array(32), 1, 32, nvfp4GlobalScale(0));
  t.true(zero.scales.every((s) => s === 0) && zero.packed.every((b) => b === 0));
  t.deepEqual(Array.from(dequantizeNvfp4(zero.packed, zero.scales, 1, 32, 1)), new Array(32).fill(0));
});

test('a block far below the tensor max gets scale 0 and zero codes', (t) => {
  const x = new Float32Array(32);
  x[0] = 1;
  x[16] = 1e-6; // g·amax/6 = 2688e-6/6 < 2^-10
  const { packed, scales } = quantizeNvfp4(x, 1, 32, nvfp4GlobalScale(1));
  t.is(scales[1], 0);
  t.true(packed.subarray(8).every((b) => b === 0));
});

testProp('quantizer equals the scalar oracle of SPEC §2', [tensor], (t, { x, rows, cols }) => {
  const g = nvfp4GlobalScale(amaxOf(x));
  const { packed, scales } = quantizeNvfp4(x, rows, cols, g);
  const o = oracle(x, rows, cols, g);
  t.deepEqual(Array.from(scales), o.scales);
  t.deepEqual(Array.from(unpackE2m1(packed, rows * cols)), o.codes);
}, { numRuns: runs(150) });

testProp('dequantize is fl32(q·s/g); quantize∘dequantize is idempotent on codes (normal scales)', [tensor], (t, { x, rows, cols }) => {
  const g = nvfp4GlobalScale(amaxOf(x));
  const q1 = quantizeNvfp4(x, rows, cols, g);
  const xd = dequantizeNvfp4(q1.packed, q1.scales, rows, cols, g);
  const codes = unpackE2m1(q1.packed, rows * cols);
  for (let i = 0; i < xd.length; i++) {
    t.true(Object.is(xd[i], f((decodeE2m1(codes[i]!) * E4M3_VALUES[q1.scales[i >> 4]!]!) / g)));
  }
  const q2 = quantizeNvfp4(xd, rows, cols, g);
  t.deepEqual(q2.scales, q1.scales);
  t.deepEqual(q2.packed, q1.packed);
  // and on values with g recomputed from the dequantized tensor
  const g2 = nvfp4GlobalScale(amaxOf(xd));
  const q3 = quantizeNvfp4(xd, rows, cols, g2);
  t.deepEqual(dequantizeNvfp4(q3.packed, q3.scales, rows, cols, 1), dequantizeNvfp4(q1.packed, q1.scales, rows, cols, 1));
}, { numRuns: runs(150) });

test('any leading shape: rows = product of leading dims', (t) => {
  t.deepEqual(matrixShape([2, 3, 32]), { rows: 6, cols: 32 });
  t.deepEqual(matrixShape([48]), { rows: 1, cols: 48 });
  const { rows, cols } = matrixShape([2, 3, 16]);
  const x = new Float32Array(rows * cols).map((_, i) => i - 40);
  const q = quantizeNvfp4(x, rows, cols, 1);
  t.is(q.scales.length, 6);
  t.is(t.throws(() => matrixShape([2, -1, 16]), { instanceOf: BadArgumentError })?.argument, 'shape[1]');
});

test('bad shapes and values throw BadArgumentError naming the argument, expected and actual', (t) => {
  let err = t.throws(() => quantizeNvfp4(new Float32Array(24), 1, 24, 1), { instanceOf: BadArgumentError });
  t.is(err?.argument, 'cols');
  t.regex(err!.message, /multiple of .*16.*got 24/);
  err = t.throws(() => quantizeNvfp4(new Float32Array(30), 2, 16, 1, 'hidden'), { instanceOf: BadArgumentError });
  t.is(err?.argument, 'hidden');
  t.regex(err!.message, /32 elements.*Float32Array\(30\)/);
  const withNaN = new Float32Array(16);
  withNaN[3] = NaN;
  err = t.throws(() => quantizeNvfp4(withNaN, 1, 16, 1, 'hidden'), { instanceOf: BadArgumentError });
  t.is(err?.argument, 'hidden');
  t.regex(err!.message, /NaN at element 3/);
  const withInf = new Float32Array(16);
  withInf[9] = -Infinity;
  t.is(t.throws(() => quantizeNvfp4(withInf, 1, 16, 1), { instanceOf: BadArgumentError })?.argument, 'x');
  t.is(t.throws(() => quantizeNvfp4(new Float32Array(16), 1, 16, 0), { instanceOf: BadArgumentError })?.argument, 'globalScale');
  t.is(t.throws(() => dequantizeNvfp4(new Uint8Array(8), new Uint8Array(2), 1, 16, 1), { instanceOf: BadArgumentError })?.argument, 'scales');
  t.is(t.throws(() => dequantizeNvfp4(new Uint8Array(7), new Uint8Array(1), 1, 16, 1), { instanceOf: BadArgumentError })?.argument, 'packed');
  t.is(t.throws(() => quantizeNvfp4(new Float32Array(16), 1.5, 16, 1), { instanceOf: BadArgumentError })?.argument, 'rows');
});
