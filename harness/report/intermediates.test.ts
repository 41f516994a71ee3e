import test from 'ava';
import { generateCase } from '../../reference/generate.js';
import { runOracle64 } from '../../reference/oracle64.js';
import type { CaseSpec } from '../../reference/case.js';
import { testProblem } from '../../reference/testing/testProblem.js';
import { elementIntermediates, TERMS_SHOWN } from './intermediates.js';
import type { Problem } from '../../reference/problem.js';

const spec = (over: Partial<Problem>, seed = 11): CaseSpec => ({ seed, logitFamily: 'normal', scaleFamily: 'normal', problem: testProblem(over) });

const shapes: Array<[string, Partial<Problem>]> = [
  ['nvfp4 renormalize', {}],
  ['mxfp8 clamped swiglu', { quantMode: 'mxfp4_mxfp8', activation: { kind: 'swiglu_clamped', alpha: 1.702, beta: 1, limit: 7 } }],
  ['bf16 activations', { quantMode: 'mxfp4_bf16' }],
  ['llama4 (weight before FC1)', { routing: { method: 'llama4' }, topK: 1 }],
  ['expert-parallel slice', { localOffset: 3, localExperts: 4 }],
];

for (const [name, over] of shapes) {
  test(`the intermediates add up to the float64 oracle's output bit for bit (${name})`, (t) => {
    const c = generateCase(spec(over));
    const ref = runOracle64(c);
    const { T, H, topK: k } = c.spec.problem;
    for (const [tt, h] of [[0, 0], [T - 1, H - 1], [Math.floor(T / 2), 17]] as const) {
      const im = elementIntermediates(c, tt, h);
      t.is(im.routedBy, 'reference');
      t.is(im.slots.length, k);
      t.is(im.recomputed, ref.outputF32[tt * H + h]!, `out[${tt},${h}]`);
      t.deepEqual(im.slots.map((s) => s.expert), Array.from(ref.routing.ids.subarray(tt * k, (tt + 1) * k)));
      for (const s of im.slots.filter((x) => x.local)) {
        t.is(s.terms.length, TERMS_SHOWN);
        for (const term of s.terms) {
          if (c.spec.problem.quantMode === 'mxfp4_bf16') t.is(term.blockScale, null);
          else t.true(term.blockScale! > 0 || term.requantized === 0, `block scale ${term.blockScale}`);
        }
        const mags = s.terms.map((x) => Math.abs(x.contribution));
        t.deepEqual(mags, [...mags].sort((a, b) => b - a), 'terms largest first');
      }
    }
  });
}

test('the intermediates follow the kernel ids when they are usable, else the reference', (t) => {
  const c = generateCase(spec({}));
  const ref = runOracle64(c);
  const k = c.spec.problem.topK;
  const refIds = Array.from(ref.routing.ids.subarray(0, k));
  const other = [0, 1, 2, 3, 4, 5, 6, 7].filter((e) => !refIds.includes(e)).slice(0, k);
  const mine = elementIntermediates(c, 0, 5, other);
  t.is(mine.routedBy, 'kernel');
  t.deepEqual(mine.slots.map((s) => s.expert), other);
  const forced = Int32Array.from(ref.routing.ids);
  forced.set(other, 0);
  t.is(mine.recomputed, runOracle64(c, { forcedIds: forced }).outputF32[5]!);
  t.is(elementIntermediates(c, 0, 5, [99, -1]).routedBy, 'reference');
  t.is(elementIntermediates(c, 0, 5, [refIds[0]!, refIds[0]!]).routedBy, 'reference');
  t.throws(() => elementIntermediates(c, 9, 0), { instanceOf: RangeError, message: /t = 9, expected an integer in \[0, 9\)/ });
});
