import test from 'ava';
import { bf16BitsToNumber, compareToGolden, describeComparison, ulpBf16, ulpDistanceF32 } from './compareGolden.js';
import { diffSafetensors, diffTensor } from './diffTensors.js';
import type { StoredExpected } from './expectedTensors.js';
import { tensorOf } from './safetensors.js';
import type { GoldenTolerance } from './tolerance.js';

test('ulpDistanceF32 counts float32 steps across zero and treats NaN strictly', (t) => {
  t.is(ulpDistanceF32(1, 1), 0);
  t.is(ulpDistanceF32(1, Math.fround(1 + 2 ** -23)), 1);
  t.is(ulpDistanceF32(0, -0), 0);
  t.is(ulpDistanceF32(2 ** -149, -(2 ** -149)), 2);
  t.is(ulpDistanceF32(-Infinity, -Infinity), 0);
  t.is(ulpDistanceF32(Number.NaN, Number.NaN), 0);
  t.is(ulpDistanceF32(Number.NaN, 1), Infinity);
});

test('bf16 helpers', (t) => {
  t.is(bf16BitsToNumber(0x3f80), 1);
  t.is(bf16BitsToNumber(0xc040), -3);
  t.is(ulpBf16(1), 2 ** -7);
  t.is(ulpBf16(-3), 2 ** -6);
  t.is(ulpBf16(0), 2 ** -133);
});

const TOL: GoldenTolerance = { routingIds: 'exact', routingWeightUlps: 1, outputAbsAccumFactor: 2 ** -22, outputBf16Ulps: 1, diagnosticsRelative: 2 ** -20, why: 'test' };
const DIMS = { H: 2, topK: 2, E: 3 };

function stored(): StoredExpected {
  return {
    routing: {
      ids: new Int32Array([0, 2]), weights: new Float32Array([0.75, 0.25]), selectionScores: new Float32Array([3, -Infinity, 1]),
      evidence: { scores: new Float32Array([3, -Infinity, 1]), expertTieClass: new Int32Array([0, -1, 2]), groups: null },
    },
    outputF32: new Float32Array([1, -2]),
    outputBf16: new Uint16Array([0x3f80, 0xc000]),
    absAccum: new Float32Array([4, 4]),
    flipAllowance: new Float32Array([0, 0.5]),
    fragileTokens: new Uint8Array([1]),
    requant: { elements: 0, fragileElements: 0, fragileBlocks: 0 },
    provenance: { precision: 'float64', backend: 'test', threads: 1 },
  };
}

test('compareToGolden accepts an identical result and differences inside the bounds', (t) => {
  const s = stored();
  t.true(compareToGolden(s, s, TOL, DIMS).ok);
  const near = {
    routing: { ...s.routing, weights: new Float32Array([Math.fround(0.75 + 2 ** -24), 0.25]) },
    outputF32: new Float32Array([1 + 2 ** -21, -2.4]), // 4·2^-22 = 2^-20 allowed; flip allowance 0.5 on element 1
    outputBf16: new Uint16Array([0x3f80, 0xc019]), // -2.390625: inside 0.5 + 1 ulp
  };
  const c = compareToGolden(s, near, TOL, DIMS);
  t.true(c.ok, describeComparison('near', c));
  t.is(c.bf16BitsDiffering, 1);
});

test('compareToGolden rejects each kind of difference beyond its bound', (t) => {
  const s = stored();
  const variants: Array<[string, Partial<StoredExpected['routing']> | null, Float32Array | null, Uint16Array | null]> = [
    ['routing.ids', { ids: new Int32Array([2, 0]) }, null, null],
    ['routing.weights', { weights: new Float32Array([Math.fround(0.75 + 2 ** -22), 0.25]) }, null, null],
    ['routing.selection_scores', { selectionScores: new Float32Array([3, 0, 1]) }, null, null],
    ['output_f32', null, new Float32Array([1 + 2 ** -19, -2]), null],
    ['output', null, null, new Uint16Array([0x3f82, 0xc000])],
  ];
  const diag: Array<[string, Partial<StoredExpected>]> = [
    ['abs_accum', { absAccum: new Float32Array([4, 4.001]) }],
    ['flip_allowance', { flipAllowance: new Float32Array([0.001, 0.5]) }],
    ['fragile_tokens', { fragileTokens: new Uint8Array([0]) }],
    ['requant.elements', { requant: { elements: 3, fragileElements: 0, fragileBlocks: 0 } }],
  ];
  for (const [tensor, over] of diag) {
    const c = compareToGolden(s, { ...s, ...over }, TOL, DIMS);
    t.deepEqual(Object.keys(c.counts), [tensor], tensor);
  }
  t.true(compareToGolden(s, { ...s, absAccum: new Float32Array([4, 4 * (1 + 2 ** -22)]) }, TOL, DIMS).ok, 'within diagnosticsRelative');
  for (const [tensor, routing, f32, bf16] of variants) {
    const c = compareToGolden(s, {
      routing: { ...s.routing, ...(routing ?? {}) },
      outputF32: f32 ?? s.outputF32,
      outputBf16: bf16 ?? s.outputBf16,
    }, TOL, DIMS);
    t.false(c.ok, tensor);
    t.deepEqual(Object.keys(c.counts), [tensor], tensor);
    t.regex(describeComparison('x', c), new RegExp(tensor.replace('.', '\\.')));
  }
});

test('diffTensor reports changed elements, bytes and the largest difference', (t) => {
  const a = tensorOf('F32', [3], new Float32Array([1, 2, 3]));
  const b = tensorOf('F32', [3], new Float32Array([1, 2.5, 2]));
  t.like(diffTensor('x', a, a), { status: 'identical', changedBytes: 0 });
  const d = diffTensor('x', a, b);
  t.like(d, { status: 'changed', changedElements: 2, elements: 3, maxAbsDiff: 1 });
  t.true(d.changedBytes >= 2 && d.changedBytes <= 8);
  t.like(diffTensor('x', a, tensorOf('F32', [1, 3], new Float32Array(3))), { status: 'reshaped' });
  const bf = diffTensor('y', tensorOf('BF16', [1], new Uint16Array([0x3f80])), tensorOf('BF16', [1], new Uint16Array([0x4000])));
  t.like(bf, { status: 'changed', maxAbsDiff: 1 });
  const files = diffSafetensors(
    { tensors: new Map([['x', a], ['gone', a]]), metadata: {} },
    { tensors: new Map([['x', b], ['new', a]]), metadata: {} },
  );
  t.deepEqual(files.map((f) => [f.name, f.status]), [['x', 'changed'], ['new', 'added'], ['gone', 'removed']]);
});
