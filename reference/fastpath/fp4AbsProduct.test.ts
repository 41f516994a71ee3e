/**
 * absAccum's exact block products (fp4AbsProduct.ts): the WebAssembly kernels (abstok,
 * abswts, absprod) equal the JS twin bit for bit, both are within the float32 block-sum
 * rounding of the exact Σ|W|·|Â|, and inconsistent or out-of-order input is refused.
 * Serial: the kernels keep one expert's token side between calls.
 */
import { fc, testProp } from '@fast-check/ava';
import test from 'ava';
import { loadMatrixEngine } from '../backend.js';
import { E2M1_VALUES } from '../formats/e2m1.js';
import { E4M3_VALUES } from '../formats/e4m3.js';
import { F32_UNIT_ROUNDOFF } from '../formats/float.js';
import { requantBlockScale } from '../quant/requantize.js';
import { streamRng } from '../rng.js';
import { runs } from '../../properties/runs.js';
import {
  EMPTY_TOKEN_CODE, fp4AbsProductJs, outRows, packTokenChunk, tokenCodeLength, tokenScaleLength, type Fp4AbsProduct,
} from './fp4AbsProduct.js';
import type { EngineMatrix, MatrixEngine } from './matrixEngine.js';

let engine: Promise<MatrixEngine> | null = null;
const getEngine = () => (engine ??= loadMatrixEngine().then((e) => e.engine));
const f32 = Math.fround;
const U = F32_UNIT_ROUNDOFF;

function rng(seed: number): () => number {
  const r = streamRng(seed, 'fp4AbsProduct.test');
  return () => r.unit();
}

/** FC2 input of n tokens × I, chunk-major in chunks of R (chunk i0 at i0·n + p·R + r). */
function fc2Input(u: () => number, n: number, I: number): Float32Array {
  const a = new Float32Array(n * I);
  for (let q = 0; q < (n * I) / 16; q++) {
    const k = u();
    const mag = k < 0.05 ? 0 : k < 0.1 ? 2 ** (-135 + 10 * u()) : 2 ** (-10 + 20 * u()); // zero, tiny (zero scale), ordinary
    for (let j = 0; j < 16; j++) a[16 * q + j] = f32((u() < 0.5 ? -1 : 1) * mag * u());
    if (u() < 0.04) a[16 * q + Math.floor(u() * 16)] = u() < 0.5 ? NaN : -Infinity; // a NaN block after re-quantization
  }
  return a;
}

/** Random NVFP4 weights: rows × I codes and e4m3 scales (no NaN code; some zero and subnormal scales). */
function weights(u: () => number, rows: number, I: number): { packed: Uint8Array; scales: Uint8Array } {
  const packed = Uint8Array.from({ length: (rows * I) / 2 }, () => Math.floor(u() * 256));
  const scales = Uint8Array.from({ length: (rows * I) / 16 }, () => {
    const k = u();
    const code = k < 0.05 ? 0 : k < 0.1 ? 1 + Math.floor(u() * 7) : Math.floor(u() * 256);
    return (code & 0x7f) === 0x7f ? code - 1 : code;
  });
  return { packed, scales };
}

const weight = (w: { packed: Uint8Array; scales: Uint8Array }, I: number, h: number, i: number): number => {
  const e = h * I + i;
  const byte = w.packed[e >> 1]!;
  return E2M1_VALUES[(e & 1) === 0 ? byte & 15 : byte >> 4]! * E4M3_VALUES[w.scales[e >> 4]!]!;
};

interface Setup {
  e: MatrixEngine;
  abs: Fp4AbsProduct;
  aM: EngineMatrix;
  ahatM: EngineMatrix;
}

/** Re-quantize the chunks and record the token side, as the pipeline does. */
async function tokensOf(a: Float32Array, n: number, I: number, R: number): Promise<Setup> {
  const e = await getEngine();
  const abs = e.kernels.fp4Abs;
  if (abs === null) throw new Error('this engine has no fp4Abs kernels');
  const aM = e.alloc(1, n * I);
  const ahatM = e.alloc(1, n * I);
  aM.view().set(a);
  for (let i0 = 0; i0 < I; i0 += R) {
    e.kernels.requant('nvfp4', aM, ahatM, i0 * n, n * R);
    abs.tokens(ahatM, i0 * n, n, R, i0, I);
  }
  return { e, abs, aM, ahatM };
}

test('the wasm engine has the fp4Abs kernels here', async (t) => {
  const e = await getEngine();
  t.not(e.kernels.fp4Abs, null, `${e.name} runs absAccum as a GEMM here`);
});

testProp.serial('fp4Abs: WebAssembly equals the JS twin bit for bit and the exact Σ|W|·|Â| within the block-sum rounding', [
  fc.integer({ min: 1, max: 21 }), fc.integer({ min: 1, max: 6 }), fc.integer({ min: 1, max: 3 }), fc.integer({ min: 1, max: 6 }),
  fc.double({ min: 2 ** -20, max: 2 ** 20, noNaN: true }), fc.nat(),
], async (t, n, blocksPerChunk, chunks, rowPairs, scaleIn, seed) => {
  const u = rng(seed);
  const R = 16 * blocksPerChunk;
  const I = R * chunks;
  const nb = I / 16;
  const rows = 2 * rowPairs;
  const scale = f32(scaleIn);
  const a = fc2Input(u, n, I);
  const w = weights(u, rows, I);
  const { e, abs, aM, ahatM } = await tokensOf(a, n, I, R);
  const out = e.alloc(outRows(n), rows);
  abs.product(w.packed, 0, w.scales, 0, rows, out, scale);
  const got = Float32Array.from(out.view().subarray(0, outRows(n) * rows));

  // The twin, from the same â and the block scales by requantize.ts's rule on a's amax.
  const ahat = Float32Array.from(ahatM.view().subarray(0, n * I));
  const tc = new Int16Array(tokenCodeLength(n, nb)).fill(EMPTY_TOKEN_CODE);
  const ts = new Float32Array(tokenScaleLength(n, nb));
  for (let i0 = 0; i0 < I; i0 += R) {
    const blockScales = new Float32Array((n * R) / 16);
    for (let q = 0; q < blockScales.length; q++) {
      let m = 0;
      for (let j = 0; j < 16; j++) {
        const v = Math.abs(a[i0 * n + 16 * q + j]!);
        m = v > m || v !== v ? v : m;
      }
      blockScales[q] = requantBlockScale('nvfp4', m);
    }
    packTokenChunk(ahat, i0 * n, n, R, i0, nb, blockScales, tc, ts);
  }
  const want = new Float32Array(outRows(n) * rows);
  fp4AbsProductJs({ packed: w.packed, packedOffset: 0, scales: w.scales, scalesOffset: 0, rows, nb, tc, ts, n, out: want, scale });
  t.deepEqual(Buffer.from(got.buffer), Buffer.from(want.buffer), 'WebAssembly vs JS twin');

  // The exact sum (float64: products of e2m1·e4m3 values are exact) and the rounding bound.
  const hat = (p: number, i: number) => ahat[Math.floor(i / R) * R * n + p * R + (i % R)]!;
  for (let p = 0; p < n; p++) {
    for (let h = 0; h < rows; h++) {
      let exact = 0;
      for (let i = 0; i < I; i++) exact += Math.abs(weight(w, I, h, i)) * Math.abs(hat(p, i));
      const v = got[p * rows + h]!;
      if (exact !== exact) {
        if (v === v) t.fail(`out[p=${p},h=${h}] = ${v}, but the token's FC2 input holds NaN`);
        continue;
      }
      const ref = exact * scale;
      const bound = (nb + 3) * U * ref + 2 ** -148;
      if (!(Math.abs(v - ref) <= bound)) t.fail(`out[p=${p},h=${h}] = ${v}, but exact = ${ref} (bound ${bound}; n ${n}, I ${I}, R ${R}, seed ${seed})`);
    }
  }
  [aM, ahatM, out].forEach((m) => m.dispose());
  t.pass();
}, { numRuns: runs(40) });

test('packTokenChunk refuses an FC2 input that is not e2m1 values times the block scale, naming the element', (t) => {
  const n = 2;
  const R = 16;
  const ahat = new Float32Array(n * R).fill(1.5);
  ahat[R + 5] = 1.7; // token 1, element 5
  const blockScales = new Float32Array([1, 1]);
  const err = t.throws(() => packTokenChunk(ahat, 0, n, R, 0, 1, blockScales, new Int16Array(tokenCodeLength(n, 1)), new Float32Array(tokenScaleLength(n, 1))));
  t.regex(err.message, /token 1, i 5\) = 1\.7/);
  t.regex(err.message, /block scale 1/);
});

test.serial('fp4Abs refuses a token chunk that was not re-quantized just before, incomplete coverage and odd rows', async (t) => {
  const e = await getEngine();
  const abs = e.kernels.fp4Abs!;
  const n = 3;
  const I = 32;
  const R = 16;
  const { aM, ahatM } = await tokensOf(fc2Input(rng(7), n, I), n, I, I); // one chunk of 32: complete
  const out = e.alloc(outRows(n), 4);
  const w = weights(rng(8), 4, I);
  t.throws(() => abs.product(w.packed, 0, w.scales, 0, 3, out, 1), { message: /rows must be even/ });
  t.throws(() => abs.product(w.packed, 8, w.scales, 0, 4, out, 1), { message: /need packed\[8, 72\) of 64 bytes/ });
  t.throws(() => abs.tokens(ahatM, 0, n, R, 32, I), { message: /i0 \+ R <= I/ });
  t.throws(() => abs.tokens(ahatM, n * I - 8, n, R, 0, I), { message: /ahat holds 96 values, the chunk needs \[88, 136\)/ });
  e.kernels.requant('nvfp4', aM, ahatM, 0, n * R);
  abs.tokens(ahatM, 0, n, R, 0, I); // a new expert: only the first half recorded
  e.kernels.requant('nvfp4', aM, ahatM, 0, n * R);
  t.throws(() => abs.tokens(ahatM, n * R, n, R, R, I), { message: /must follow requant\(nvfp4\) of the same slice/ });
  t.throws(() => abs.product(w.packed, 0, w.scales, 0, 4, out, 1), { message: /covers 16 of I = 32/ });
  e.kernels.requant('nvfp4', aM, ahatM, 0, n * R);
  t.throws(() => abs.tokens(ahatM, 0, n, R, 16, 48), { message: /does not continue the expert's \(n 3, I 32, next i0 16\)/ });
  // A forged â (not the re-quantization of a) is an internal error, not a wrong bound.
  const a = aM.view();
  for (let i = 0; i < n * R; i++) a[i] = 1;
  e.kernels.requant('nvfp4', aM, ahatM, 0, n * R);
  ahatM.view()[4] = 0.3;
  t.throws(() => abs.tokens(ahatM, 0, n, R, 0, I), { message: /token 0, i 4\) = 0\.3/ });
  [aM, ahatM, out].forEach((m) => m.dispose());
});
