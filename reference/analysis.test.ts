/**
 * ReferenceOptions.analysis 'output' (routing and outputs only) against the default 'full':
 * the same routing and bitwise the same outputs (f32 and bf16) in both precisions, the
 * analysis arrays zero-filled, Expected.analysis 'output', and the comparator refusing it.
 */
import { fc, testProp } from '@fast-check/ava';
import test from 'ava';
import { compare, type CompareInput } from '../harness/compare.js';
import { SCALE_FAMILIES } from './case.js';
import { generateCase } from './generate.js';
import { runReference, shutdownReference } from './moe.js';
import type { Problem } from './problem.js';
import { tinyProblemArb } from './testing/tinyProblemArb.js';
import { runs } from '../properties/runs.js';
import { testProblem } from './testing/testProblem.js';

test.after.always(() => shutdownReference());

const problemArb = tinyProblemArb({ maxT: 9, maxIBlocks: 3 });

const bitsEqual = (a: Float32Array, b: Float32Array): boolean =>
  a.length === b.length && new Uint32Array(a.buffer, a.byteOffset, a.length).every((x, i) => x === new Uint32Array(b.buffer, b.byteOffset, b.length)[i]);

testProp("analysis 'output' gives bitwise the same routing and outputs as 'full', analysis arrays zero-filled", [
  problemArb, fc.nat(), fc.constantFrom(...SCALE_FAMILIES), fc.constantFrom('float32' as const, 'float64' as const),
], async (t, problem, seed, scaleFamily, precision) => {
  const c = generateCase({ problem, seed, logitFamily: 'normal', scaleFamily });
  const full = await runReference(c, { precision });
  const out = await runReference(c, { precision, analysis: 'output' });
  t.deepEqual(out.routing, full.routing);
  t.true(bitsEqual(out.outputF32, full.outputF32), 'outputF32 bitwise equal');
  t.deepEqual(out.outputBf16, full.outputBf16);
  t.is(full.analysis, undefined);
  t.is(out.analysis, 'output');
  t.true(out.absAccum.length === full.absAccum.length && out.absAccum.every((v) => v === 0), 'absAccum zero-filled');
  t.true(out.flipAllowance.length === full.flipAllowance.length && out.flipAllowance.every((v) => v === 0), 'flipAllowance zero-filled');
  t.true(out.fragileTokens.length === problem.T && out.fragileTokens.every((v) => v === 0), 'fragileTokens zero-filled');
  t.deepEqual(out.requant, { elements: full.requant.elements, fragileElements: 0, fragileBlocks: 0 });
  t.deepEqual(out.provenance, full.provenance);
}, { numRuns: runs(30) });

test("the comparator refuses an Expected computed with analysis 'output'; 'full' is the default and unchanged", async (t) => {
  const problem: Problem = testProblem({ T: 4 });
  const c = generateCase({ problem, seed: 11, logitFamily: 'normal', scaleFamily: 'normal' });
  const dflt = await runReference(c);
  const full = await runReference(c, { analysis: 'full' });
  t.deepEqual(full, dflt);
  t.true(full.absAccum.some((v) => v > 0), 'the full analysis is not trivially zero here');
  const out = await runReference(c, { analysis: 'output' });
  const input = (reference: typeof out, referenceForIds: typeof out | null) => ({ reference, referenceForIds }) as unknown as CompareInput;
  t.throws(() => compare(input(out, null)), { message: /reference was computed with ReferenceOptions\.analysis 'output'/ });
  t.throws(() => compare(input(full, out)), { message: /referenceForIds was computed with ReferenceOptions\.analysis 'output'/ });
  await t.throwsAsync(runReference(c, { analysis: 'none' as 'full' }), { name: 'BadArgumentError', message: /^opts\.analysis: expected 'full' or 'output', got "none"/ });
});
