import test from 'ava';
import { POISON } from '../caseRunner.js';
import type { Observed } from '../kernels/kernel.js';
import { unusableRows } from '../routingJudge.js';
import { fixture, perfectObserved } from '../testing.js';
import { errorMapOf, type ErrorMap } from './errorMap.js';
import { ErrorMapReuse } from './errorMapReuse.js';

const copy = (o: Observed): Observed => ({ output: Uint16Array.from(o.output), ids: Int32Array.from(o.ids), weights: Float32Array.from(o.weights), executedTactic: o.executedTactic });

test('a tactic with results equal bit for bit to an earlier one reuses its map; any differing bit computes a new one, equal to errorMapOf', (t) => {
  const f = fixture();
  const { T, topK: k, E } = f.expected.problem;
  const wrong = copy(perfectObserved(f.expected));
  wrong.output[3] = wrong.output[3]! ^ 0x4000;
  const reuse = new ErrorMapReuse();
  let computed = 0;
  const mapOf = (expected: typeof f.expected, o: Observed): ErrorMap => reuse.mapFor(expected, [o, o], () => {
    computed++;
    return errorMapOf({ expected, runs: [o, o], poison: POISON, model: f.model, unjudged: unusableRows(o.ids, T, k, E) });
  });
  const first = mapOf(f.expected, wrong);
  t.is(mapOf(f.expected, copy(wrong)), first); // another tactic, same bits: the same map
  t.is(computed, 1);
  for (const change of [
    (o: Observed) => { o.output[5] = o.output[5]! ^ 1; },
    (o: Observed) => { o.weights[0] = o.weights[0]! * 2; },
    (o: Observed) => { o.ids[0] = (o.ids[0]! + 1) % E; },
  ]) {
    const other = copy(wrong);
    change(other);
    const m = mapOf(f.expected, other);
    t.not(m, first);
    t.deepEqual(m, errorMapOf({ expected: f.expected, runs: [other, other], poison: POISON, model: f.model, unjudged: unusableRows(other.ids, T, k, E) }));
  }
  t.is(computed, 4);
  // Another reference object (the kernel's ids recomputed): never shared.
  t.not(mapOf({ ...f.expected }, copy(wrong)), first);
  t.is(computed, 5);
});
