export { activationArb, logitFamilyArb, quantModeArb, scaleFamilyArb } from './families.js';
export { problemArb, tokenCountArb, type ProblemArbOptions } from './problem.js';
export { configProblemArb } from './configProblem.js';
export { caseSpecArb, type CaseFamilyOptions } from './caseSpec.js';
export { ARB_SIZES, SIZE_LIMITS, TOKEN_COUNTS, defaultArbSize, sizeLimits, type ArbSize, type SizeLimits } from './size.js';
