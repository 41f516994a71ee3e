/**
 * The fast path's table dequantizer gives exactly generate.ts's q·s values (bit for bit,
 * -0 included) and exact squared row norms, for NVFP4 and MXFP4 weights, including the
 * row-range calls the pipeline makes and MXFP4 scales whose products overflow float32.
 */
import { fc, testProp } from '@fast-check/ava';
import test from 'ava';
import { generateCase, dequantizeExpertWeights } from '../generate.js';
import type { Problem, QuantMode } from '../problem.js';
import { dequantizeFp4Into } from './dequantTable.js';

function problem(quantMode: QuantMode, H: number, I: number): Problem {
  return {
    T: 1, H, I, E: 3, topK: 1, localOffset: 0, localExperts: 3, routing: { method: 'renormalize' },
    logitsDtype: 'float32', biasDtype: 'none', quantMode, activation: { kind: 'swiglu' },
  };
}

testProp('dequantizeFp4Into equals dequantizeExpertWeights bit for bit, with exact row norms', [
  fc.constantFrom<QuantMode>('nvfp4', 'mxfp4_bf16'), fc.integer({ min: 1, max: 3 }), fc.integer({ min: 1, max: 2 }), fc.nat(),
  fc.constantFrom('normal', 'decades', 'zero_blocks', 'zero_expert'),
], (t, mode, hb, ib, seed, scaleFamily) => {
  const p = problem(mode, 32 * hb, 32 * ib);
  const c = generateCase({ problem: p, seed, logitFamily: 'normal', scaleFamily });
  const sf = mode === 'nvfp4' ? 16 : 32;
  const fmt = mode === 'nvfp4' ? 'nvfp4' : 'mxfp4';
  for (let l = 0; l < p.localExperts; l++) {
    for (const [which, rows, cols] of [['fc1', 2 * p.I, p.H], ['fc2', p.H, p.I]] as const) {
      const want = dequantizeExpertWeights(c, which, l);
      const w = which === 'fc1' ? c.fc1 : c.fc2;
      const got = new Float32Array(rows * cols);
      const sq = new Float64Array(rows);
      dequantizeFp4Into({ fmt, packed: w.packed.expert(l), packedOffset: 0, scales: w.scales.expert(l), scalesOffset: 0, rows, cols }, got, 0, sq);
      t.deepEqual(new Uint32Array(got.buffer), new Uint32Array(want.buffer), `${which} expert ${l}`);
      for (let r = 0; r < rows; r++) {
        let s = 0;
        for (let j = 0; j < cols; j++) s += want[r * cols + j]! ** 2;
        // Same terms, another summation order: equal up to double rounding.
        t.true(Math.abs(sq[r]! - s) <= 1e-12 * s, `${which} row ${r}: ${sq[r]} vs ${s}`);
      }
      // Row ranges (as the pipeline's chunked W2 dequantization calls it).
      const part = new Float32Array(rows * cols);
      for (let r0 = 0; r0 < rows; r0 += 5) {
        const n = Math.min(5, rows - r0);
        dequantizeFp4Into({ fmt, packed: w.packed.expert(l), packedOffset: (r0 * cols) / 2, scales: w.scales.expert(l), scalesOffset: (r0 * cols) / sf, rows: n, cols }, part, r0 * cols);
      }
      t.deepEqual(part, got);
    }
  }
}, { numRuns: 12 });

test('MXFP4 scales whose products overflow float32 take the exact path', (t) => {
  // One row of 32: codes 7 (6) and 1 (0.5) with scale 2^127 (code 254): 6·2^127 = Infinity.
  const packed = new Uint8Array(16).fill(0x17);
  const scales = Uint8Array.of(254);
  const out = new Float32Array(32);
  const oneRow = { fmt: 'mxfp4' as const, packed, packedOffset: 0, scales, scalesOffset: 0, rows: 1, cols: 32 };
  dequantizeFp4Into(oneRow, out, 0);
  t.is(out[0], Infinity);
  t.is(out[1], 0.5 * 2 ** 127);
  t.throws(() => dequantizeFp4Into(oneRow, new Float32Array(33), 1), { instanceOf: RangeError });
});
