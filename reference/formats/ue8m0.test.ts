import test from 'ava';
import { testProp, fc } from '@fast-check/ava';
import { BadArgumentError } from '../errors.js';
import { UE8M0_VALUES, decodeUe8m0, ue8m0CeilScale, ue8m0CeilScaleF32 } from './ue8m0.js';
import { runs } from '../../properties/runs.js';

test('decode: 2^(e-127) for every code, 255 is NaN', (t) => {
  for (let c = 0; c < 255; c++) t.is(decodeUe8m0(c), 2 ** (c - 127), `code ${c}`);
  t.true(Number.isNaN(decodeUe8m0(255)));
  t.is(UE8M0_VALUES[127], 1);
  t.is(UE8M0_VALUES[0], 2 ** -127);
});

test('every finite code re-encodes to itself (a power of two needs no rounding up)', (t) => {
  for (let c = 0; c < 255; c++) {
    t.is(ue8m0CeilScale(decodeUe8m0(c), 1), c);
    if (c <= 252) t.is(ue8m0CeilScale(decodeUe8m0(c) * 6, 6), c); // 6·2^(c-127) is exact
  }
});

test('the exponent is rounded UP: a block maximum never saturates', (t) => {
  t.is(ue8m0CeilScale(6, 6), 127); // exactly emax: s = 1
  t.is(ue8m0CeilScale(6.000001, 6), 128); // just above: s = 2
  t.is(ue8m0CeilScale(7, 6), 128); // OCP floor rule would give s = 1 and saturate 7 → 6
  t.is(ue8m0CeilScale(3.0000001, 6), 127);
  t.is(ue8m0CeilScale(3, 6), 126);
  t.is(ue8m0CeilScale(448, 448), 127);
  t.is(ue8m0CeilScale(449, 448), 128);
  t.is(ue8m0CeilScale(1, 448), 127 - 8); // 1/448 → 2^-8 ≥ 1/448 > 2^-9
});

test('amax 0 gives the smallest code; extremes clamp to [0, 254]', (t) => {
  t.is(ue8m0CeilScale(0, 6), 0);
  t.is(ue8m0CeilScale(1e-45, 6), 0);
  t.is(ue8m0CeilScale(6 * 2 ** -127, 6), 0);
  t.is(ue8m0CeilScale(6 * 2 ** -127 * 1.5, 6), 1);
  t.is(ue8m0CeilScale(3.4e38, 6), 253);
  t.is(ue8m0CeilScale(1e308, 1e-300), 254);
});

test('bad amax or elementMax throws BadArgumentError naming it', (t) => {
  for (const bad of [NaN, -1, Infinity]) {
    t.is(t.throws(() => ue8m0CeilScale(bad, 6), { instanceOf: BadArgumentError })?.argument, 'amax');
  }
  t.is(t.throws(() => ue8m0CeilScale(1, 0), { instanceOf: BadArgumentError })?.argument, 'elementMax');
});

testProp('s = decoded code is the smallest power of two with s·emax >= amax', [fc.float({ min: 0, max: Math.fround(3e38), noNaN: true }), fc.constantFrom(6, 448)], (t, amax, emax) => {
  const code = ue8m0CeilScale(amax, emax);
  const s = decodeUe8m0(code);
  if (code > 0) {
    t.true(s * emax >= amax);
    t.true((s / 2) * emax < amax);
  } else {
    t.true(2 ** -127 * emax >= amax);
  }
  t.is(ue8m0CeilScaleF32(amax, emax), code);
}, { numRuns: runs(3000) });

test('float32 fast path agrees next to every boundary 6·2^k and 448·2^k', (t) => {
  const f = new Float32Array(1);
  const u = new Uint32Array(f.buffer);
  for (const emax of [6, 448]) {
    for (let k = -140; k < 120; k++) {
      f[0] = emax * 2 ** k;
      const bits = u[0]!;
      for (let d = -2; d <= 2; d++) {
        u[0] = bits + d;
        if (!(f[0]! > 0)) continue;
        t.is(ue8m0CeilScaleF32(f[0]!, emax), ue8m0CeilScale(f[0]!, emax), `${emax}·2^${k} ${d}ulp`);
      }
    }
  }
});
