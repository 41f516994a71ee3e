/** Arbitraries of the simple enums: quant mode, activation, logit and scale families. */
import fc from 'fast-check';
import { LOGIT_FAMILIES, SCALE_FAMILIES, type LogitFamily, type ScaleFamily } from '../../reference/case.js';
import { QUANT_MODES, type ActivationConfig, type QuantMode } from '../../reference/problem.js';

export const quantModeArb: fc.Arbitrary<QuantMode> = fc.constantFrom(...QUANT_MODES);

/** Plain SwiGLU first (shrinks to it), else the clamped gpt-oss variant with varied constants. */
export const activationArb: fc.Arbitrary<ActivationConfig> = fc.oneof(
  fc.constant<ActivationConfig>({ kind: 'swiglu' }),
  fc.record({
    alpha: fc.constantFrom(1.702, 1, 0.5),
    beta: fc.constantFrom(1, 0),
    limit: fc.constantFrom(7, 1, 20),
  }).map((a): ActivationConfig => ({ kind: 'swiglu_clamped', ...a })),
);

export const logitFamilyArb: fc.Arbitrary<LogitFamily> = fc.constantFrom(...LOGIT_FAMILIES);

export const scaleFamilyArb: fc.Arbitrary<ScaleFamily> = fc.constantFrom(...SCALE_FAMILIES);
