/** configProblemArb: the standard configurations of SPEC §6 at a given T (or T arbitrary). */
import fc from 'fast-check';
import { CONFIG_NAMES, configProblem, type ConfigName } from '../../reference/configs.js';
import type { Problem } from '../../reference/problem.js';

export function configProblemArb(
  T: number | fc.Arbitrary<number>, names: readonly ConfigName[] = CONFIG_NAMES,
): fc.Arbitrary<Problem> {
  const tArb = typeof T === 'number' ? fc.constant(T) : T;
  return fc.tuple(fc.constantFrom(...names), tArb).map(([name, t]) => configProblem(name, t));
}
