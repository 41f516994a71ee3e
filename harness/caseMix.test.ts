import test from 'ava';
import { caseMix, SCENARIOS } from './caseMix.js';
import { matchesTactic, parseTacticFilter } from './tacticFilter.js';

test('the mix is deterministic from its seed and covers every scenario in one cycle', (t) => {
  const a = caseMix({ runs: SCENARIOS.length, seed: 9 });
  t.deepEqual(a, caseMix({ runs: SCENARIOS.length, seed: 9 }));
  t.notDeepEqual(a, caseMix({ runs: SCENARIOS.length, seed: 10 }));
  const methods = new Set(a.map((s) => s.problem.routing.method));
  t.true(methods.has('deepseek_v3') && methods.has('llama4'));
  t.true(a.some((s) => s.problem.quantMode === 'mxfp4_mxfp8'));
  t.true(a.some((s) => s.problem.localOffset > 0));
  t.true(a.some((s) => s.logitFamily === 'ties'));
  t.true(a.some((s) => s.problem.routing.method === 'deepseek_v3' && s.logitFamily === 'all_negative' && s.problem.T >= 10));
  for (const s of a) t.true(s.problem.H <= 128 && s.problem.I <= 128 && s.problem.E <= 16 && s.problem.T <= 64);
});

test('filters restrict the mix; unknown combinations get plain scenarios', (t) => {
  const r = caseMix({ runs: 6, seed: 1, routing: ['topk'], quant: ['mxfp4_bf16'] });
  t.true(r.every((s) => s.problem.routing.method === 'topk' && s.problem.quantMode === 'mxfp4_bf16'));
  const fixed = caseMix({ runs: 4, seed: 1, T: [5], H: 256, I: 64 });
  t.true(fixed.every((s) => s.problem.T === 5 && s.problem.H === 256 && s.problem.I === 64));
  t.throws(() => caseMix({ runs: 0, seed: 1 }), { message: /^runs: expected an integer >= 1, got 0/ });
});

test('tactic filters: labels with * on either side, or all', (t) => {
  const f = parseTacticFilter('32/*,*/2');
  t.true(matchesTactic('32/0', f));
  t.true(matchesTactic('8/2', f));
  t.false(matchesTactic('8/0', f));
  t.is(parseTacticFilter('all'), undefined);
  t.true(matchesTactic('8/0', undefined));
  t.throws(() => parseTacticFilter('32'), { message: /^--tactic: expected tactic labels/ });
});
