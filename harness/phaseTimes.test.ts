/**
 * Every record of a campaign carries where its case's and its tactic's time went
 * (phaseTimes.ts), inline and in a child process (where regenerate, the outcome's traffic and
 * the child's peak memory are measured too).
 */
import test from 'ava';
import { testProblem } from '../reference/testing/testProblem.js';
import { runCampaign } from './campaign.js';

const p = testProblem({ T: 5, H: 64, I: 64, E: 4, localExperts: 4, topK: 2 });
const cases = [{ spec: { problem: p, seed: 3, logitFamily: 'normal', scaleFamily: 'normal' } as const }];
const nonNegative = (v: number | undefined): boolean => v !== undefined && Number.isFinite(v) && v >= 0;

for (const isolation of ['inline', 'child'] as const) {
  test(`phase times on every record (${isolation})`, async (t) => {
    const r = await runCampaign(cases, { kernel: { kind: 'emulated' }, isolation, repeats: 3 });
    t.true(r.records.length > 1);
    for (const rec of r.records) {
      t.is(rec.disposition, 'passed', rec.verdict.lines.join('; '));
      const ph = rec.phases!;
      t.truthy(ph, `record ${rec.tactic} has no phases`);
      for (const k of ['generate', 'reference', 'prepare'] as const) t.true(nonNegative(ph.case[k]), `${rec.tactic}: case.${k} = ${ph.case[k]}`);
      for (const k of ['runs', 'digests', 'judge'] as const) t.true(nonNegative(ph.tactic[k]), `${rec.tactic}: tactic.${k} = ${ph.tactic[k]}`);
      if (isolation === 'child') {
        t.true(nonNegative(ph.case.regenerate), `${rec.tactic}: case.regenerate`);
        t.true(nonNegative(ph.tactic.traffic), `${rec.tactic}: tactic.traffic`);
        // Three runs of output [T, H] bf16 + ids and weights [T, k] of 4 bytes each.
        t.is(ph.tactic.trafficBytes, 3 * (2 * p.T * p.H + 8 * p.T * p.topK));
        t.true(ph.tactic.childMaxRss! > 10 * 2 ** 20, `child peak RSS ${ph.tactic.childMaxRss}`);
      } else {
        t.is(ph.case.regenerate, undefined);
        t.is(ph.tactic.traffic, undefined);
      }
    }
  });
}
