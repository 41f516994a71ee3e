import test from 'ava';
import { testProp, fc } from '@fast-check/ava';
import { BadArgumentError } from '../errors.js';
import { E2M1_VALUES } from './e2m1.js';
import { E2M1_PAIR_VALUES, packE2m1, unpackE2m1 } from './fp4pack.js';

test('element 2j goes to the LOW nibble', (t) => {
  t.deepEqual(Array.from(packE2m1(new Uint8Array([1, 2, 15, 8]))), [0x21, 0x8f]);
  t.deepEqual(Array.from(packE2m1(new Uint8Array([7, 9, 3]))), [0x97, 0x03]);
  t.deepEqual(Array.from(unpackE2m1(new Uint8Array([0x21, 0x8f]), 4)), [1, 2, 15, 8]);
});

testProp('pack/unpack round trip', [fc.uint8Array({ max: 15, maxLength: 65 })], (t, codes) => {
  const packed = packE2m1(codes);
  t.is(packed.length, Math.ceil(codes.length / 2));
  t.deepEqual(unpackE2m1(packed, codes.length), codes);
});

test('the pair table decodes every byte to (low, high) values', (t) => {
  for (let b = 0; b < 256; b++) {
    t.true(Object.is(E2M1_PAIR_VALUES[2 * b], E2M1_VALUES[b & 15]));
    t.true(Object.is(E2M1_PAIR_VALUES[2 * b + 1], E2M1_VALUES[b >> 4]));
  }
});

test('unpack with a count beyond the data throws naming count', (t) => {
  const err = t.throws(() => unpackE2m1(new Uint8Array(2), 5), { instanceOf: BadArgumentError });
  t.is(err?.argument, 'count');
  t.regex(err!.message, /expected .*\[0, 4\].*got 5/);
});
