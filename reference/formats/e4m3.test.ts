import test from 'ava';
import { testProp, fc } from '@fast-check/ava';
import { E4M3_VALUES, decodeE4m3, encodeE4m3, encodeE4m3F32, roundE4m3F32 } from './e4m3.js';
import { runs } from '../../properties/runs.js';

/** Brute force over all finite codes: nearest, ties to the even code, saturating, sign kept. */
function oracle(x: number): number {
  if (Number.isNaN(x)) return 0x7f;
  const neg = x < 0 || Object.is(x, -0);
  const a = Math.min(Math.abs(x), 448);
  let best = 0;
  for (let c = 1; c < 0x7f; c++) {
    const d = Math.abs(E4M3_VALUES[c]! - a);
    const db = Math.abs(E4M3_VALUES[best]! - a);
    if (d < db || (d === db && c % 2 === 0)) best = c;
  }
  return (neg ? 0x80 : 0) | best;
}

test('the table: bias 7, 448 largest, subnormals down to 2^-9, NaN at 0x7F/0xFF', (t) => {
  t.is(E4M3_VALUES[0x38], 1);
  t.is(E4M3_VALUES[0x7e], 448);
  t.is(E4M3_VALUES[0xfe], -448);
  t.is(E4M3_VALUES[0x01], 2 ** -9);
  t.is(E4M3_VALUES[0x07], 7 * 2 ** -9);
  t.is(E4M3_VALUES[0x08], 2 ** -6);
  t.is(E4M3_VALUES[0x3f], 1.875);
  t.is(E4M3_VALUES[0x40], 2);
  t.true(Number.isNaN(decodeE4m3(0x7f)));
  t.true(Number.isNaN(decodeE4m3(0xff)));
  t.true(Object.is(decodeE4m3(0x80), -0));
  // Strictly increasing over the positive finite codes.
  for (let c = 1; c < 0x7f; c++) t.true(E4M3_VALUES[c]! > E4M3_VALUES[c - 1]!);
});

test('every code decodes and re-encodes to itself; -0 (0x80) too; NaN codes encode to 0x7F', (t) => {
  for (let c = 0; c < 256; c++) {
    const expected = (c & 0x7f) === 0x7f ? 0x7f : c;
    t.is(encodeE4m3(decodeE4m3(c)), expected, `code ${c}`);
    t.is(encodeE4m3F32(decodeE4m3(c)), expected, `fast code ${c}`);
  }
  t.is(encodeE4m3(NaN), 0x7f);
  t.true(Number.isNaN(roundE4m3F32(NaN)));
});

test('every midpoint between neighbouring codes goes to the even code (normals and subnormals, both signs)', (t) => {
  for (let c = 0; c < 0x7e; c++) {
    const lo = E4M3_VALUES[c]!;
    const hi = E4M3_VALUES[c + 1]!;
    const mid = (lo + hi) / 2; // exact in float32 (4 significant bits)
    t.is(Math.fround(mid), mid);
    const even = c % 2 === 0 ? c : c + 1;
    t.is(encodeE4m3(mid), even, `mid ${mid}`);
    t.is(encodeE4m3(-mid), even | 0x80);
    t.is(encodeE4m3F32(mid), even);
    t.is(encodeE4m3F32(-mid), even | 0x80);
    t.is(roundE4m3F32(mid), E4M3_VALUES[even]);
    t.is(roundE4m3F32(-mid), -E4M3_VALUES[even]!);
    // One float32 ulp either side: the nearest neighbour.
    const f = new Float32Array([mid]);
    const u = new Uint32Array(f.buffer);
    u[0]! -= 1;
    t.is(encodeE4m3(f[0]!), c);
    t.is(encodeE4m3F32(f[0]!), c);
    u[0]! += 2;
    t.is(encodeE4m3(f[0]!), c + 1);
    t.is(encodeE4m3F32(f[0]!), c + 1);
  }
});

test('smallest subnormal: 2^-10 ties to 0, anything above goes to 2^-9', (t) => {
  t.is(encodeE4m3(2 ** -10), 0);
  t.is(encodeE4m3(-(2 ** -10)), 0x80);
  t.is(encodeE4m3(2 ** -10 * (1 + 2 ** -20)), 1);
  t.is(encodeE4m3(3 * 2 ** -10), 2); // midpoint of 1 and 2 → even 2
  t.is(encodeE4m3(1e-30), 0);
});

test('saturates at ±448: 464 (the would-be midpoint to 480), larger values, Infinity', (t) => {
  for (const x of [448, 449, 463.9, 464, 480, 1e6, 3.4e38, Infinity]) {
    t.is(encodeE4m3(x), 0x7e, String(x));
    t.is(encodeE4m3(-x), 0xfe);
    t.is(encodeE4m3F32(x), 0x7e);
    t.is(roundE4m3F32(x), 448);
    t.is(roundE4m3F32(-x), -448);
  }
  t.is(encodeE4m3(447.99), 0x7e); // nearest is 448
  t.is(encodeE4m3(431.99), 0x7d); // below the 416|448 midpoint 432
  t.is(encodeE4m3(432), 0x7e); // midpoint 416|448 → even code 0x7E
});

testProp('encodeE4m3 equals the brute-force oracle on doubles', [fc.double({ noNaN: true, min: -600, max: 600 })], (t, x) => {
  t.is(encodeE4m3(x), oracle(x));
}, { numRuns: runs(2000) });

testProp('float32 fast paths equal encodeE4m3 on every float32', [fc.float()], (t, x) => {
  t.is(encodeE4m3F32(x), encodeE4m3(x));
  const r = roundE4m3F32(x);
  if (Number.isNaN(x)) t.true(Number.isNaN(r));
  else t.true(Object.is(r, decodeE4m3(encodeE4m3(x))));
}, { numRuns: runs(5000) });

testProp('small float32 values (subnormal range) agree too', [fc.float({ min: Math.fround(-0.05), max: Math.fround(0.05), noNaN: true })], (t, x) => {
  t.is(encodeE4m3F32(x), oracle(x));
  t.is(encodeE4m3(x), oracle(x));
}, { numRuns: runs(2000) });
