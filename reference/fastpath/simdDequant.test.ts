/**
 * The SIMD dequantizer (assembled WebAssembly inside tfjs-backend-wasm's heap) against the
 * JS table decoder: bit-identical q·s, |q·s|, row ranges, row-norm upper bounds, and
 * MXFP4 scales whose products overflow float32.
 */
import { fc, testProp } from '@fast-check/ava';
import test from 'ava';
import { loadMatrixEngine } from '../backend.js';
import { dequantizeFp4Into, type WeightFormat } from './dequantTable.js';
import type { MatrixEngine } from './matrixEngine.js';

let engine: Promise<MatrixEngine> | null = null;
const getEngine = () => (engine ??= loadMatrixEngine().then((e) => e.engine));

test('the wasm engine uses the SIMD dequantizer here', async (t) => {
  t.regex((await getEngine()).name, /SIMD dequant/);
});

testProp('SIMD dequantization equals the JS table decoder bit for bit', [
  fc.constantFrom<WeightFormat>('nvfp4', 'mxfp4'), fc.integer({ min: 1, max: 9 }), fc.integer({ min: 1, max: 4 }),
  fc.integer({ min: 0, max: 3 }), fc.nat(),
], async (t, fmt, rows, blocks, row0, seed) => {
  const e = await getEngine();
  const sf = fmt === 'nvfp4' ? 16 : 32;
  const cols = 32 * blocks;
  let st = seed >>> 0;
  const rnd = () => ((st = (Math.imul(st, 1664525) + 1013904223) >>> 0) >>> 24);
  const off = 3; // unaligned source offsets
  const packed = Uint8Array.from({ length: off + (rows * cols) / 2 }, rnd);
  // NVFP4: any non-NaN e4m3 byte; MXFP4: ue8m0 0..254 (253, 254 overflow 6·s in float32).
  const scales = Uint8Array.from({ length: off + (rows * cols) / sf }, () => {
    const b = rnd();
    return fmt === 'nvfp4' ? ((b & 0x7f) === 0x7f ? b - 1 : b) : Math.min(b, 254);
  });
  const want = new Float32Array(rows * cols);
  const sq = new Float64Array(rows);
  const src = { fmt, packed, packedOffset: off, scales, scalesOffset: off, rows, cols };
  dequantizeFp4Into(src, want, 0, sq);
  const m = e.alloc(rows + row0, cols);
  const a = e.alloc(rows + row0, cols);
  const sq2 = new Float64Array(rows);
  e.dequantFp4(src, { dst: m, row0, absDst: a, rowSq: sq2 });
  const got = m.view().slice(row0 * cols);
  const abs = a.view().slice(row0 * cols);
  m.dispose();
  a.dispose();
  t.deepEqual(new Uint32Array(got.buffer), new Uint32Array(want.buffer));
  t.deepEqual(abs, want.map(Math.abs));
  for (let r = 0; r < rows; r++) {
    // An upper bound, tight unless the float32 sum overflows (then Infinity).
    const ok = sq2[r]! >= sq[r]! && (sq2[r]! <= sq[r]! * (1 + 1e-4) + 2 ** -130 || (sq2[r] === Infinity && sq[r]! > 3e38));
    t.true(ok, `row ${r}: bound ${sq2[r]} for Σ W² = ${sq[r]}`);
  }
}, { numRuns: 40 });
