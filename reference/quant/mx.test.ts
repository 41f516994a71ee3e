import test from 'ava';
import { testProp, fc } from '@fast-check/ava';
import { BadArgumentError } from '../errors.js';
import { decodeE2m1, encodeE2m1 } from '../formats/e2m1.js';
import { E4M3_VALUES, encodeE4m3 } from '../formats/e4m3.js';
import { unpackE2m1 } from '../formats/fp4pack.js';
import { decodeUe8m0, ue8m0CeilScale } from '../formats/ue8m0.js';
import { dequantizeMxfp4, quantizeMxfp4 } from './mxfp4.js';
import { dequantizeMxfp8, quantizeMxfp8 } from './mxfp8.js';
import { runs } from '../../properties/runs.js';

/** Tensors of 1..3 rows × 1..3 blocks of 32, magnitudes over many binades, some zero blocks. */
const tensor = fc.record({
  rows: fc.integer({ min: 1, max: 3 }),
  blocks: fc.integer({ min: 1, max: 3 }),
  values: fc.array(fc.float({ noNaN: true, noDefaultInfinity: true, min: -1e6, max: 1e6 }), { minLength: 288, maxLength: 288 }),
  zeroBlock: fc.integer({ min: -1, max: 8 }),
}).map(({ rows, blocks, values, zeroBlock }) => {
  const cols = blocks * 32;
  const x = Float32Array.from(values.slice(0, rows * cols));
  if (zeroBlock >= 0 && zeroBlock < rows * blocks) x.fill(0, zeroBlock * 32, zeroBlock * 32 + 32);
  return { x, rows, cols };
});

const FORMATS = [
  {
    name: 'MXFP4', emax: 6,
    quant: (x: Float32Array, r: number, c: number) => { const q = quantizeMxfp4(x, r, c); return { codes: unpackE2m1(q.packed, r * c), scales: q.scales, raw: q }; },
    dequant: (q: { raw: { packed: Uint8Array; scales: Uint8Array } }, r: number, c: number) => dequantizeMxfp4(q.raw.packed, q.raw.scales, r, c),
    encode: encodeE2m1, decode: decodeE2m1,
  },
  {
    name: 'MXFP8', emax: 448,
    quant: (x: Float32Array, r: number, c: number) => { const q = quantizeMxfp8(x, r, c); return { codes: q.data, scales: q.scales, raw: { packed: q.data, scales: q.scales } }; },
    dequant: (q: { raw: { packed: Uint8Array; scales: Uint8Array } }, r: number, c: number) => dequantizeMxfp8(q.raw.packed, q.raw.scales, r, c),
    encode: encodeE4m3, decode: (c: number) => E4M3_VALUES[c]!,
  },
] as const;

for (const F of FORMATS) {
  testProp(`${F.name}: scale exponent rounded up (the block max never saturates), codes = element(x/s)`, [tensor], (t, { x, rows, cols }) => {
    const q = F.quant(x, rows, cols);
    for (let b = 0; b < (rows * cols) / 32; b++) {
      let amax = 0;
      for (let i = 0; i < 32; i++) amax = Math.max(amax, Math.abs(x[b * 32 + i]!));
      const code = q.scales[b]!;
      t.is(code, ue8m0CeilScale(amax, F.emax));
      const s = decodeUe8m0(code);
      t.true(amax <= s * F.emax, 'the largest element fits without saturating');
      if (code > 0) t.true(amax > (s / 2) * F.emax, 'and s is the smallest such power of two');
      for (let i = 0; i < 32; i++) t.is(q.codes[b * 32 + i], F.encode(Math.fround(x[b * 32 + i]! / s)));
    }
  }, { numRuns: runs(60) });

  testProp(`${F.name}: dequantize = q·s; quantize∘dequantize idempotent (values; codes unless the block max sits at or below emax/2)`, [tensor], (t, { x, rows, cols }) => {
    const q1 = F.quant(x, rows, cols);
    const xd = F.dequant(q1, rows, cols);
    for (let i = 0; i < xd.length; i++) t.true(Object.is(xd[i], F.decode(q1.codes[i]!) * decodeUe8m0(q1.scales[i >> 5]!)));
    const q2 = F.quant(xd, rows, cols);
    t.deepEqual(F.dequant(q2, rows, cols), xd);
    for (let b = 0; b < (rows * cols) / 32; b++) {
      let qmax = 0;
      for (let i = 0; i < 32; i++) qmax = Math.max(qmax, Math.abs(F.decode(q1.codes[b * 32 + i]!)));
      if (qmax > F.emax / 2 || q1.scales[b] === 0) {
        t.is(q2.scales[b], q1.scales[b]);
        t.deepEqual(q2.codes.subarray(b * 32, b * 32 + 32), q1.codes.subarray(b * 32, b * 32 + 32));
      } else {
        // The rounded maximum dropped to emax/2 or below: one binade lower, codes doubled, same values.
        t.is(q2.scales[b], q1.scales[b]! - 1);
      }
    }
  }, { numRuns: runs(60) });

  test(`${F.name}: an all-zero block gets the smallest scale code 0 and zero codes`, (t) => {
    const x = new Float32Array(64);
    x[40] = 3;
    const q = F.quant(x, 1, 64);
    t.is(q.scales[0], 0);
    t.true(q.codes.subarray(0, 32).every((c) => c === 0));
    t.deepEqual(Array.from(F.dequant(q, 1, 64).subarray(0, 32)), new Array(32).fill(0));
  });

  test(`${F.name}: cols not a multiple of 32, wrong lengths and NaN throw naming the argument`, (t) => {
    let err = t.throws(() => F.quant(new Float32Array(48), 1, 48), { instanceOf: BadArgumentError });
    t.is(err?.argument, 'cols');
    t.regex(err!.message, /multiple of .*32.*got 48/);
    err = t.throws(() => F.quant(new Float32Array(33), 1, 32), { instanceOf: BadArgumentError });
    t.is(err?.argument, 'x');
    const bad = new Float32Array(32);
    bad[31] = NaN;
    t.is(t.throws(() => F.quant(bad, 1, 32), { instanceOf: BadArgumentError })?.argument, 'x');
  });
}

test('MXFP4 hand example: amax 7 → s = 2 (OCP floor rule would give 1 and saturate 7 to 6)', (t) => {
  const x = new Float32Array(32);
  x[0] = 7;
  x[1] = -1;
  x[2] = 0.6; // 0.3 → 0.5
  x[3] = 0.5; // 0.25 → tie → 0
  const q = quantizeMxfp4(x, 1, 32);
  t.is(decodeUe8m0(q.scales[0]!), 2);
  t.deepEqual(Array.from(dequantizeMxfp4(q.packed, q.scales, 1, 32).subarray(0, 4)), [8, -1, 1, 0]);
});

test('MXFP8 hand example: amax 500 → s = 2; elements e4m3(x/2)·2', (t) => {
  const x = new Float32Array(32);
  x[0] = 500;
  x[1] = 3.3;
  const q = quantizeMxfp8(x, 1, 32);
  t.is(decodeUe8m0(q.scales[0]!), 2);
  const d = dequantizeMxfp8(q.data, q.scales, 1, 32);
  t.is(d[0], 512); // 250 → e4m3 256 (grid 16 in [128, 256]: 240 | 256)
  t.is(d[1], 3.25); // 1.65 → 1.625 (grid 0.125 in [1, 2))
});
