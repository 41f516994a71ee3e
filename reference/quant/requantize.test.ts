import test from 'ava';
import { testProp, fc } from '@fast-check/ava';
import { BadArgumentError } from '../errors.js';
import { roundBf16 } from '../formats/bf16.js';
import { dequantizeMxfp8, quantizeMxfp8 } from './mxfp8.js';
import { dequantizeNvfp4, quantizeNvfp4 } from './nvfp4.js';
import { requantizeInPlace } from './requantize.js';
import { runs } from '../../properties/runs.js';

const values = (n: number) => fc.array(
  fc.oneof(
    fc.float({ noNaN: true, noDefaultInfinity: true, min: -3000, max: 3000 }),
    fc.float({ noNaN: true, noDefaultInfinity: true, min: Math.fround(-1e-3), max: Math.fround(1e-3) }),
    fc.constantFrom(0, -0, 6, 3, 0.25, 0.75, 2.5, 5, 448, 464),
  ),
  { minLength: n, maxLength: n },
).map((a) => Float32Array.from(a));

testProp('nvfp4 equals dequantize(quantizeNvfp4(x, g = 1), g = 1), element for element', [values(64)], (t, x) => {
  const v = Float32Array.from(x);
  requantizeInPlace('nvfp4', v, 0, 64);
  const q = quantizeNvfp4(x, 4, 16, 1);
  t.deepEqual(v, dequantizeNvfp4(q.packed, q.scales, 4, 16, 1));
}, { numRuns: runs(400) });

testProp('mxfp8 equals dequantize(quantizeMxfp8(x))', [values(64)], (t, x) => {
  const v = Float32Array.from(x);
  requantizeInPlace('mxfp8', v, 0, 64);
  const q = quantizeMxfp8(x, 2, 32);
  t.deepEqual(v, dequantizeMxfp8(q.data, q.scales, 2, 32));
}, { numRuns: runs(400) });

testProp('bf16 equals roundBf16 per element', [values(40)], (t, x) => {
  const v = Float32Array.from(x);
  requantizeInPlace('bf16', v, 0, 40);
  t.deepEqual(Array.from(v), Array.from(x, roundBf16));
});

test('nvfp4 hand example: s = e4m3(amax/6), q = e2m1(a/s) with ties to even', (t) => {
  const v = new Float32Array(16);
  v[0] = 12; // s = e4m3(2) = 2
  v[1] = 5; // 2.5 → tie → 2 → 4
  v[2] = 7; // 3.5 → tie → 4 → 8
  v[3] = -0.5; // 0.25 → tie → 0
  v[4] = 2.9; // 1.45 → 1.5 → 3
  requantizeInPlace('nvfp4', v, 0, 16);
  t.deepEqual(Array.from(v.subarray(0, 5)), [12, 4, 8, -0, 3]);
});

test('nvfp4: the largest element can saturate after the scale rounds down (6.4·s → 6·s)', (t) => {
  const v = new Float32Array(16);
  v[0] = 6.375 * 6; // amax/6 = 6.375 → e4m3 6.5 (grid 0.5 in [4, 8)); 38.25/6.5 = 5.88 → 6 → 39
  requantizeInPlace('nvfp4', v, 0, 16);
  t.is(v[0], 39);
  const w = new Float32Array(16);
  w[0] = 6.2 * 6; // 6.2 → s = 6; 37.2/6 = 6.2 → saturates to 6 → 36
  requantizeInPlace('nvfp4', w, 0, 16);
  t.is(w[0], 36);
});

test('nvfp4: a block whose scale underflows becomes zero; other blocks untouched by it', (t) => {
  const v = new Float32Array(32);
  v[0] = 0.005; // amax/6 < 2^-10 → s = 0
  v[16] = 6; // s = 1 exactly
  requantizeInPlace('nvfp4', v, 0, 32);
  t.true(v.subarray(0, 16).every((x) => x === 0));
  t.is(v[16], 6);
});

test('only the slice is touched; non-finite blocks become NaN in nvfp4/mxfp8, bf16 keeps them', (t) => {
  const v = new Float32Array(64).fill(1.1);
  v[20] = Infinity;
  requantizeInPlace('nvfp4', v, 16, 32);
  t.is(v[0], Math.fround(1.1));
  t.true(v.subarray(16, 32).every(Number.isNaN));
  t.false(v.subarray(32, 48).some(Number.isNaN));
  t.is(v[48], Math.fround(1.1));
  const m = new Float32Array(64).fill(2);
  m[40] = NaN;
  requantizeInPlace('mxfp8', m, 0, 64);
  t.true(m.subarray(32).every(Number.isNaN));
  t.true(m.subarray(0, 32).every((x) => x === 2));
  const b = new Float32Array([Infinity, NaN, 1]);
  requantizeInPlace('bf16', b, 0, 3);
  t.is(b[0], Infinity);
  t.true(Number.isNaN(b[1]!));
});

test('bad arguments throw naming them', (t) => {
  const v = new Float32Array(64);
  t.is(t.throws(() => requantizeInPlace('nvfp4', v, 0, 24), { instanceOf: BadArgumentError })?.argument, 'length');
  t.is(t.throws(() => requantizeInPlace('mxfp8', v, 0, 16), { instanceOf: BadArgumentError })?.argument, 'length');
  t.is(t.throws(() => requantizeInPlace('nvfp4', v, 56, 16), { instanceOf: BadArgumentError })?.argument, 'offset + length');
  t.is(t.throws(() => requantizeInPlace('nvfp4', v, -16, 16), { instanceOf: BadArgumentError })?.argument, 'offset');
  t.is(t.throws(() => requantizeInPlace('fp16' as 'bf16', v, 0, 16), { instanceOf: BadArgumentError })?.argument, 'format');
});
