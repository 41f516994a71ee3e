/** caseSpecArb: a problem plus the data seed and the logit and scale families. */
import fc from 'fast-check';
import type { CaseSpec } from '../../reference/case.js';
import type { Problem } from '../../reference/problem.js';
import { logitFamilyArb, scaleFamilyArb } from './families.js';
import { problemArb, type ProblemArbOptions } from './problem.js';

export function caseSpecArb(problem: fc.Arbitrary<Problem> | ProblemArbOptions = {}): fc.Arbitrary<CaseSpec> {
  return fc.record({
    problem: problem instanceof fc.Arbitrary ? problem : problemArb(problem),
    seed: fc.nat(),
    logitFamily: logitFamilyArb,
    scaleFamily: scaleFamilyArb,
  });
}
