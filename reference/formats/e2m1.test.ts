import test from 'ava';
import { testProp, fc } from '@fast-check/ava';
import { BadArgumentError } from '../errors.js';
import { E2M1_VALUES, decodeE2m1, encodeE2m1, encodeE2m1Unchecked, roundE2m1 } from './e2m1.js';
import { runs } from '../../properties/runs.js';

const MAGS = [0, 0.5, 1, 1.5, 2, 3, 4, 6];

/** Brute force: nearest of the 16 values, ties to the even code, sign kept. */
function oracle(x: number): number {
  const neg = x < 0 || Object.is(x, -0);
  const a = Math.abs(x);
  let best = 0;
  for (let c = 1; c < 8; c++) {
    const d = Math.abs(MAGS[c]! - a);
    const db = Math.abs(MAGS[best]! - a);
    if (d < db || (d === db && c % 2 === 0)) best = c;
  }
  return (neg ? 8 : 0) | best;
}

test('the table is SPEC §2: magnitudes 0, 0.5, 1, 1.5, 2, 3, 4, 6 with sign bit 3', (t) => {
  for (let c = 0; c < 8; c++) {
    t.is(E2M1_VALUES[c], MAGS[c]);
    t.is(E2M1_VALUES[c + 8], -MAGS[c]!);
  }
  t.true(Object.is(decodeE2m1(8), -0));
});

test('every code decodes and re-encodes to itself (code 8 is -0 and encodes back to 8)', (t) => {
  for (let c = 0; c < 16; c++) t.is(encodeE2m1(decodeE2m1(c)), c, `code ${c}`);
  t.is(encodeE2m1(-0), 8);
  t.is(encodeE2m1(0), 0);
});

test('every rounding midpoint goes to the even code', (t) => {
  const expected: Array<[number, number]> = [[0.25, 0], [0.75, 2], [1.25, 2], [1.75, 4], [2.5, 4], [3.5, 6], [5, 6]];
  for (const [mid, code] of expected) {
    t.is(encodeE2m1(mid), code, `+${mid}`);
    t.is(encodeE2m1(-mid), code | 8, `-${mid}`);
    t.is(code % 2, 0);
    // Just off the midpoint the nearest neighbour wins.
    const below = mid - mid * 2 ** -40;
    const above = mid + mid * 2 ** -40;
    t.is(encodeE2m1(below), oracle(below));
    t.is(encodeE2m1(above), oracle(above));
    t.not(encodeE2m1(below), encodeE2m1(above));
  }
});

test('saturates at ±6, Infinity included', (t) => {
  for (const x of [6, 6.0000001, 7, 100, 1e38, Infinity]) {
    t.is(encodeE2m1(x), 7);
    t.is(encodeE2m1(-x), 15);
  }
});

test('NaN has no code: BadArgumentError', (t) => {
  const err = t.throws(() => encodeE2m1(NaN), { instanceOf: BadArgumentError });
  t.is(err?.argument, 'x');
  t.true(Number.isNaN(roundE2m1(NaN)));
});

testProp('encodeE2m1 equals the brute-force nearest-even oracle', [fc.double({ noNaN: true, min: -8, max: 8 })], (t, x) => {
  t.is(encodeE2m1(x), oracle(x));
  t.is(encodeE2m1Unchecked(x), encodeE2m1(x));
  t.true(Object.is(roundE2m1(x), decodeE2m1(encodeE2m1(x))));
}, { numRuns: runs(3000) });

test('fast paths agree on every float32 midpoint neighbourhood', (t) => {
  const f32 = new Float32Array(1);
  const u32 = new Uint32Array(f32.buffer);
  for (const mid of [0.25, 0.75, 1.25, 1.75, 2.5, 3.5, 5, 6]) {
    f32[0] = mid;
    const bits = u32[0]!;
    for (let d = -3; d <= 3; d++) {
      u32[0] = bits + d;
      const x = f32[0]!;
      t.is(encodeE2m1Unchecked(x), oracle(x));
      t.is(roundE2m1(-x), -E2M1_VALUES[oracle(x)]!);
    }
  }
});
