import test from 'ava';
import { testProp, fc } from '@fast-check/ava';
import { bf16ArrayToF32, bf16ToF32, f32ArrayToBf16, f32ToBf16, roundBf16, roundBf16InPlace } from './bf16.js';
import { runs } from '../../properties/runs.js';

const isNaNBits = (b: number): boolean => (b & 0x7f80) === 0x7f80 && (b & 0x7f) !== 0;

test('exhaustive: all 65536 bit patterns decode and re-encode to themselves (NaN stays NaN)', (t) => {
  let nan = 0;
  const all = new Uint16Array(65536);
  for (let b = 0; b < 65536; b++) all[b] = b;
  const decoded = bf16ArrayToF32(all);
  const reencoded = f32ArrayToBf16(decoded);
  for (let b = 0; b < 65536; b++) {
    const x = bf16ToF32(b);
    if (isNaNBits(b)) {
      nan++;
      if (!Number.isNaN(x) || !isNaNBits(f32ToBf16(x)) || !isNaNBits(reencoded[b]!)) t.fail(`NaN pattern ${b}`);
    } else if (f32ToBf16(x) !== b || reencoded[b] !== b || !Object.is(decoded[b], x)) {
      t.fail(`pattern ${b.toString(16)}`);
    }
  }
  t.is(nan, 2 * 127);
});

test('exhaustive RNE: for every bf16 h, float32 h·0x8000 (midpoint) goes to the even one, ±1 ulp to the nearest', (t) => {
  const f = new Float32Array(5);
  const u = new Uint32Array(f.buffer);
  for (let h = 0; h < 65536; h++) {
    if ((h & 0x7f80) === 0x7f80) continue; // Inf/NaN exponents
    const base = h << 16;
    u[0] = base | 0x8000; // midpoint
    u[1] = base | 0x7fff;
    u[2] = base | 0x8001;
    u[3] = base | 0x0001;
    u[4] = base | 0xffff;
    const out = f32ArrayToBf16(f);
    const mid = h % 2 === 0 ? h : (h + 1) & 0xffff;
    const expected = [mid, h, (h + 1) & 0xffff, h, (h + 1) & 0xffff];
    for (let i = 0; i < 5; i++) {
      if (out[i] !== expected[i] || f32ToBf16(f[i]!) !== expected[i]) t.fail(`h=${h.toString(16)} case ${i}`);
    }
  }
  t.pass();
});

test('limits: ±Infinity stay, float32 max rounds to Infinity, NaN payloads in the low bits stay NaN', (t) => {
  t.is(f32ToBf16(Infinity), 0x7f80);
  t.is(f32ToBf16(-Infinity), 0xff80);
  t.is(f32ToBf16(3.4028234663852886e38), 0x7f80);
  t.is(f32ToBf16(3.3895313892515355e38), 0x7f7f); // bf16 max stays
  const f = new Float32Array(1);
  new Uint32Array(f.buffer)[0] = 0x7f800001; // NaN with payload only in the low bits
  t.true(isNaNBits(f32ArrayToBf16(f)[0]!));
  t.true(Number.isNaN(roundBf16(NaN)));
  t.true(Object.is(roundBf16(-0), -0));
});

testProp('array and in-place paths equal the scalar path', [fc.float32Array({ minLength: 1, maxLength: 64 })], (t, a) => {
  const bits = f32ArrayToBf16(a);
  const copy = Float32Array.from(a);
  roundBf16InPlace(copy, 0, copy.length);
  for (let i = 0; i < a.length; i++) {
    const x = a[i]!;
    if (Number.isNaN(x)) {
      t.true(isNaNBits(bits[i]!));
      t.true(Number.isNaN(copy[i]!));
    } else {
      t.is(bits[i], f32ToBf16(x));
      t.true(Object.is(copy[i], roundBf16(x)));
    }
  }
}, { numRuns: runs(300) });

test('roundBf16InPlace touches only its slice', (t) => {
  const v = new Float32Array([1.00390625, 1.00390625, 1.00390625, 1.00390625]);
  roundBf16InPlace(v, 1, 2);
  t.deepEqual(Array.from(v), [1.00390625, 1, 1, 1.00390625]);
});
