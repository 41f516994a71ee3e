import test from 'ava';
import type { CaseSpec } from '../../reference/case.js';
import type { Problem } from '../../reference/problem.js';
import { testProblem } from '../../reference/testing/testProblem.js';
import { shapePattern } from './shapePattern.js';

const spec = (over: Partial<Problem>, logitFamily: CaseSpec['logitFamily'] = 'normal'): CaseSpec => ({ problem: testProblem(over), seed: 1, logitFamily, scaleFamily: 'normal' });
const cases = new Map<number, CaseSpec>([
  [0, spec({})], [1, spec({ quantMode: 'mxfp4_mxfp8' })], [2, spec({ T: 16 })], [3, spec({ quantMode: 'mxfp4_mxfp8', T: 16 })], [4, spec({}, 'ties')],
]);

test('a property that separates the failing cases exactly is said', (t) => {
  const s = shapePattern(cases, new Set([1, 3]));
  t.deepEqual(s.map((x) => [x.property, x.value]), [['quant', 'mxfp4_mxfp8']]);
  t.is(s[0]!.text, 'every failing case has quant mxfp4_mxfp8, and every case with it fails (2 cases; the other 3 cases pass)');
  t.deepEqual(shapePattern(cases, new Set([2, 3])).map((x) => x.value), ['a multiple of 8']);
});

test('nothing is said for one failing case, for every case failing, or without a separation', (t) => {
  t.deepEqual(shapePattern(cases, new Set([4])), []);
  t.deepEqual(shapePattern(cases, new Set([0, 1, 2, 3, 4])), []);
  t.deepEqual(shapePattern(cases, new Set([0, 1])), []); // both nvfp4-or-not: no common quant; T same as cases 4
});
