import { fc, testProp } from '@fast-check/ava';
import { renormalizeMethod } from './renormalize.js';
import { renormalizeNaiveMethod } from './renormalizeNaive.js';
import { routingInput } from './testing/fixtures.js';
import { runs } from '../../properties/runs.js';
import { F32_UNIT_ROUNDOFF } from '../formats/float.js';

/** A token row: E in [1, 64], k in [1, E], finite float32 logits (with repeats for ties). */
const rowArb = fc.integer({ min: 1, max: 64 }).chain((E) => fc.tuple(
  fc.constant(E),
  fc.integer({ min: 1, max: Math.min(E, 10) }),
  fc.array(fc.oneof(
    fc.float({ min: -60, max: 60, noNaN: true }),
    fc.constantFrom(-1, 0, 0.5, 2),
  ), { minLength: E, maxLength: E }),
));

testProp('renormalize equals renormalize_naive up to float32 rounding', [rowArb], (t, [E, k, logits]) => {
  const a = renormalizeMethod.route(routingInput({ method: 'renormalize' }, E, k, logits));
  const b = renormalizeNaiveMethod.route(routingInput({ method: 'renormalize_naive' }, E, k, logits));
  // The methods may break near-ties differently (ranking by logits vs by rounded
  // probabilities), so compare the weight lists, both sorted best first.
  for (let j = 0; j < k; j++) {
    const x = a.weights[j]!;
    const y = b.weights[j]!;
    t.true(Math.abs(x - y) <= (k + 4) * F32_UNIT_ROUNDOFF * Math.max(x, y) + 1e-37, `slot ${j}: ${x} vs ${y}`);
  }
}, { numRuns: runs(200) });

testProp('renormalize weights sum to 1 (finite logits)', [rowArb], (t, [E, k, logits]) => {
  const r = renormalizeMethod.route(routingInput({ method: 'renormalize' }, E, k, logits));
  const sum = Array.from(r.weights).reduce((p, q) => p + q, 0);
  t.true(Math.abs(sum - 1) <= (k + 2) * F32_UNIT_ROUNDOFF, `sum ${sum}`);
  t.true(Array.from(r.weights).every((w, j) => j === 0 || w <= r.weights[j - 1]!), 'weights best first');
}, { numRuns: runs(200) });
