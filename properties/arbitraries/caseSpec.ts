/** caseSpecArb: a problem plus the data seed and the logit and scale families. */
import fc from 'fast-check';
import type { CaseSpec, LogitFamily, ScaleFamily } from '../../reference/case.js';
import type { Problem } from '../../reference/problem.js';
import { logitFamilyArb, scaleFamilyArb } from './families.js';
import { problemArb, type ProblemArbOptions } from './problem.js';

/** Restrict the families (default: all). */
export interface CaseFamilyOptions {
  readonly logitFamilies?: readonly LogitFamily[];
  readonly scaleFamilies?: readonly ScaleFamily[];
}

export function caseSpecArb(problem: fc.Arbitrary<Problem> | ProblemArbOptions = {}, families: CaseFamilyOptions = {}): fc.Arbitrary<CaseSpec> {
  return fc.record({
    problem: problem instanceof fc.Arbitrary ? problem : problemArb(problem),
    seed: fc.nat(),
    logitFamily: families.logitFamilies === undefined ? logitFamilyArb : fc.constantFrom(...families.logitFamilies),
    scaleFamily: families.scaleFamilies === undefined ? scaleFamilyArb : fc.constantFrom(...families.scaleFamilies),
  });
}
