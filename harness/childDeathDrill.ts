/**
 * Figures for docs/cli.md: a child process killed at each phase of a case (regenerate,
 * prepare, a tactic), once (the retry in a fresh child finishes the case) or in every child
 * (the death is attributed to the phase, one record per tactic). Prints one row per scenario.
 *
 *   npx tsx harness/childDeathDrill.ts [cases=6] [seed=1]
 */
import { runCampaign } from './campaign.js';
import { caseMix } from './caseMix.js';
import { emulatedTactics } from './kernels/emulatedTactics.js';
import type { KernelChoice } from './kernels/select.js';
import { totals } from './report.js';

const n = Number(process.argv[2] ?? 6);
const seed = Number(process.argv[3] ?? 1);
const cases = caseMix({ runs: n, seed }).map((spec) => ({ spec }));
const tactics = cases.reduce((a, c) => a + emulatedTactics(c.spec.problem).length, 0);
const victim = emulatedTactics(cases[0]!.spec.problem)[1]!.label;
const scenarios: Array<[string, KernelChoice]> = [
  ['regenerate, first child only', { kind: 'emulated', crashPhase: 'regenerate', crashAttempts: 1 }],
  ['regenerate, every child', { kind: 'emulated', crashPhase: 'regenerate' }],
  ['prepare, first child only', { kind: 'emulated', crashPhase: 'prepare', crashAttempts: 1 }],
  ['prepare, every child', { kind: 'emulated', crashPhase: 'prepare' }],
  [`tactic ${victim}, every time`, { kind: 'emulated', crashTactic: victim }],
];
console.log(`${n} cases (seed ${seed}), ${tactics} (case, tactic) pairs, child isolation, emulated kernel`);
for (const [what, kernel] of scenarios) {
  const r = await runCampaign(cases, { kernel, isolation: 'child' });
  const t = totals(r.records);
  const star = r.records.filter((x) => x.tactic === '*').length;
  const phases = new Set(r.records.filter((x) => x.disposition === 'crashed').map((x) => /\((regenerate|prepare): child process died|child process died/.exec(x.verdict.lines[0]!)?.[1] ?? 'tactic'));
  console.log(`${what}: ${r.records.length}/${tactics} records (${star} '*'), passed ${t.passed}, crashed ${t.crashed} [attributed to: ${[...phases].join(', ') || '-'}], ` +
    `children started ${r.childStarts}, ${(r.elapsedMs / 1000).toFixed(1)} s`);
}
