import test from 'ava';
import { generateCase } from './generate.js';
import { runOracle64 } from './oracle64.js';
import { runReference } from './moe.js';
import { DEFAULT_CONVENTIONS, describeConventions, parseConventions, referencePrecisionFor } from './conventions.js';
import type { Problem } from './problem.js';
import { testProblem } from './testing/testProblem.js';

const problem: Problem = testProblem({ T: 5 });

test('parseConventions: absent points default; describeConventions names only the differences', (t) => {
  const c = parseConventions({ fc1Output: 'bf16' }, 'x');
  t.is(c.fc1Output, 'bf16');
  t.is(c.mxScale, 'round_up');
  t.is(describeConventions(c), 'fc1Output=bf16');
  t.is(describeConventions(DEFAULT_CONVENTIONS), 'default');
  t.throws(() => parseConventions('bf16', 'x'), { message: /x: expected an object/ });
});

test('referencePrecisionFor: the fast path for the default, the oracle for oracle-only conventions, refusal for the rest', (t) => {
  t.is(referencePrecisionFor(DEFAULT_CONVENTIONS, 'float32'), 'float32');
  t.is(referencePrecisionFor(parseConventions({ fc1Activation: 'bf16' }, 'c'), 'float32'), 'float64');
  t.throws(() => referencePrecisionFor(parseConventions({ slotSum: 'bf16' }, 'c'), 'float32'), { message: /conventions: expected conventions the reference computes.*slotSum=bf16/ });
});

test('the fast path refuses a convention it does not compute, naming the point; the oracle computes it', async (t) => {
  const c = generateCase({ problem, seed: 3, logitFamily: 'normal', scaleFamily: 'normal' });
  const conventions = parseConventions({ fc1Activation: 'bf16' }, 'c');
  await t.throwsAsync(runReference(c, { conventions }), { message: /opts\.conventions\.fc1Activation: expected a value the float32 reference computes/ });
  const ex = runOracle64(c, { conventions });
  const def = runOracle64(c, {});
  t.is(ex.outputF32.length, def.outputF32.length);
  t.notDeepEqual(ex.outputF32, def.outputF32, 'rounding a_c to bf16 before NVFP4 changes the output');
  t.is(def.conventionBound, undefined, 'no extra bound under the default conventions');
});

test('fc2Output bf16: the oracle rounds FC2 to bf16 and derives a per-element conventionBound (zero where no window holds a bf16 boundary)', (t) => {
  const c = generateCase({ problem, seed: 4, logitFamily: 'normal', scaleFamily: 'normal' });
  const ex = runOracle64(c, { conventions: parseConventions({ fc2Output: 'bf16' }, 'c') });
  const b = ex.conventionBound!;
  t.is(b.length, problem.T * problem.H);
  t.true(b.every((x) => x >= 0 && Number.isFinite(x)));
  t.true(b.some((x) => x === 0), 'most elements must agree bit for bit: no allowance');
  t.true(b.some((x) => x > 0), 'some windows hold a bf16 boundary');
});
