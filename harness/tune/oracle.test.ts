import test from 'ava';
import { testProblem } from '../../reference/testing/testProblem.js';
import { DEFAULT_ORACLE_OPTIONS, oracleOfCase, oracleSettled } from './oracle.js';
import { ScriptedProvider, type Script } from './scriptedProvider.js';
import { tuningCase } from './initializers.js';

const problem = testProblem({ T: 4, H: 128 });
const tc = tuningCase(problem, 11);

async function run(script: Script, opts = DEFAULT_ORACLE_OPTIONS) {
  const p = new ScriptedProvider(script);
  const tactics = (await p.tactics(problem)).tactics; // 8/0 8/1 8/2 16/0 16/1 16/2
  const r = await oracleOfCase(p, tc.case, tactics, opts);
  return { r, p, tactics };
}

test('quiet tactics: settled after the minimum rounds, one untimed warm-up round, medians per tactic', async (t) => {
  const { r, p } = await run({ ms: { '8/0': 5, '8/1': 4, '8/2': 3, '16/0': 6, '16/1': 2, '16/2': 7 } });
  t.is(r.stop, 'settled');
  t.is(r.rounds, DEFAULT_ORACLE_OPTIONS.minRounds);
  t.is(r.timings['16/1']!.medianMs, 2);
  t.is(r.timings['16/1']!.samples, 5);
  t.is(p.runs.length, 6 * (1 + 5), 'warm-up round + 5 rounds');
});

test('rounds are interleaved, each in an order rotated by its index', async (t) => {
  const { p, tactics } = await run({});
  const labels = tactics.map((x) => x.label);
  const round = (k: number) => p.runs.slice(6 * k, 6 * k + 6).map((x) => x.tactic);
  t.deepEqual(round(0), labels, 'warm-up round');
  t.deepEqual(round(1), labels, 'round 0');
  t.deepEqual(round(2), [...labels.slice(1), labels[0]], 'round 1 starts one later');
  t.deepEqual(round(3), [...labels.slice(2), ...labels.slice(0, 2)]);
});

test('a noisy tactic far slower than the best does not hold the oracle; a noisy contender runs it to the cap', async (t) => {
  const noisy = [20, 26, 18, 24, 30, 19];
  const far = await run({ ms: { '16/1': 2, '8/0': noisy } });
  t.is(far.r.stop, 'settled');
  t.is(far.r.rounds, 5);
  const near = await run({ ms: { '16/1': 2, '8/0': [2, 2.1, 1.95, 2.05, 2.2] } });
  t.is(near.r.stop, 'capped');
  t.is(near.r.rounds, DEFAULT_ORACLE_OPTIONS.maxRounds);
  t.false(oracleSettled(new Map([['a', [1, 1.2, 0.9, 1.1, 1]], ['b', [2, 2, 2]]]), 0.0025, 0.1));
  t.true(oracleSettled(new Map([['a', [1, 1, 1, 1, 1]], ['b', [2, 3, 1.5]]]), 0.0025, 0.1));
});

test('a crashing tactic is reported and skipped; a fatal error ends the oracle', async (t) => {
  const crash = await run({ crash: ['8/1'] });
  t.regex(crash.r.failures['8/1']!, /scripted crash of tactic 8\/1/);
  t.false('8/1' in crash.r.timings);
  t.is(crash.r.stop, 'settled');
  t.is(crash.p.calls.get('8/1'), 1, 'not run again after its crash');
  const fatal = await run({ fatal: ['8/2'] });
  t.is(fatal.r.stop, 'fatal');
  t.regex(fatal.r.failures['8/2']!, /^CudaError: /);
});
