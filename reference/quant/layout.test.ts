import test from 'ava';
import { testProp, fc } from '@fast-check/ava';
import { BadArgumentError } from '../errors.js';
import { swizzleScales128x4, swizzledScaleOffset, swizzledScaleSize, unswizzleScales128x4 } from './layout.js';
import { runs } from '../../properties/runs.js';

test('SPEC §2 offset formula on hand-computed positions', (t) => {
  // ((m/128)·ceil(cols/4) + k/4)·512 + (m%32)·16 + ((m%128)/32)·4 + k%4
  t.is(swizzledScaleOffset(0, 0, 4), 0);
  t.is(swizzledScaleOffset(0, 3, 4), 3);
  t.is(swizzledScaleOffset(1, 0, 4), 16);
  t.is(swizzledScaleOffset(31, 3, 4), 31 * 16 + 3); // 499
  t.is(swizzledScaleOffset(32, 0, 4), 4);
  t.is(swizzledScaleOffset(64, 0, 4), 8);
  t.is(swizzledScaleOffset(96, 1, 4), 13);
  t.is(swizzledScaleOffset(127, 3, 4), 31 * 16 + 12 + 3); // 511: the tile's last byte
  t.is(swizzledScaleOffset(128, 0, 4), 512);
  t.is(swizzledScaleOffset(0, 4, 8), 512);
  t.is(swizzledScaleOffset(128, 0, 8), 1024);
  t.is(swizzledScaleOffset(130, 5, 6), (1 * 2 + 1) * 512 + 2 * 16 + 0 * 4 + 1); // 1569
  t.is(swizzledScaleOffset(200, 2, 3), 512 + (200 % 32) * 16 + 2 * 4 + 2); // cols 3 pads to 4
});

test('size: rows padded to 128, scale columns to 4', (t) => {
  t.is(swizzledScaleSize(1, 1), 512);
  t.is(swizzledScaleSize(128, 4), 512);
  t.is(swizzledScaleSize(129, 5), 256 * 8);
  t.is(swizzledScaleSize(0, 7), 0);
});

const dims = fc.record({ rows: fc.integer({ min: 1, max: 300 }), cols: fc.integer({ min: 1, max: 11 }), batch: fc.integer({ min: 1, max: 3 }) });

testProp('swizzle puts every byte at the formula offset, pads with 0, and unswizzle inverts it', [dims], (t, { rows, cols, batch }) => {
  const linear = new Uint8Array(batch * rows * cols);
  for (let i = 0; i < linear.length; i++) linear[i] = 1 + (i % 255); // never 0, so padding is visible
  const swz = swizzleScales128x4(linear, rows, cols, batch);
  const size = swizzledScaleSize(rows, cols);
  t.is(swz.length, batch * size);
  const hit = new Uint8Array(swz.length);
  for (let e = 0; e < batch; e++) {
    for (let m = 0; m < rows; m++) {
      for (let k = 0; k < cols; k++) {
        const o = e * size + swizzledScaleOffset(m, k, cols);
        if (swz[o] !== linear[(e * rows + m) * cols + k]) t.fail(`e=${e} m=${m} k=${k}`);
        hit[o] = 1;
      }
    }
  }
  for (let i = 0; i < swz.length; i++) if (!hit[i] && swz[i] !== 0) t.fail(`padding byte ${i} is ${swz[i]}`);
  t.deepEqual(unswizzleScales128x4(swz, rows, cols, batch), linear);
}, { numRuns: runs(40) });

test('wrong lengths throw naming the argument', (t) => {
  let err = t.throws(() => swizzleScales128x4(new Uint8Array(10), 3, 4), { instanceOf: BadArgumentError });
  t.is(err?.argument, 'linear');
  t.regex(err!.message, /12 elements.*Uint8Array\(10\)/);
  err = t.throws(() => unswizzleScales128x4(new Uint8Array(100), 3, 4), { instanceOf: BadArgumentError });
  t.is(err?.argument, 'swizzled');
  t.is(t.throws(() => swizzleScales128x4(new Uint8Array(0), -1, 4), { instanceOf: BadArgumentError })?.argument, 'rows');
  t.is(t.throws(() => swizzleScales128x4(new Uint8Array(4), 1, 4, 0), { instanceOf: BadArgumentError })?.argument, 'batch');
});
