/**
 * The proof that the harness catches bugs: at default settings the campaign kills every
 * fault of the catalog on the emulated kernel, and raises no false alarm on the correct
 * emulated kernel over a few hundred random cases. Runs: 300 × the MOE_HARNESS_RUNS
 * multiplier (default 1) for the false-alarm suite; seed: env MOE_HARNESS_SEED (default 1).
 */
import test from 'ava';
import { openCampaignSession, runCampaign } from './campaign.js';
import { runs } from '../properties/runs.js';
import { caseMix, SCENARIOS } from './caseMix.js';
import { FAULT_NAMES, FAULTS } from './faults.js';
import type { ReferenceCache } from './referenceFor.js';
import { summarize } from './report.js';
import { COUNTED_APART, DISCREPANCY_KINDS } from './verdict.js';

const SEED = Number(process.env.MOE_HARNESS_SEED ?? 1);
const RUNS = runs(300);
const GRAMMAR = /^\S+=.+, reference .+ \(.*; tactic \d+\/\d+; seed \d+\)$/;

// One pass over every scenario of the default mix; references shared by all faults.
const killCases = caseMix({ runs: SCENARIOS.length, seed: SEED }).map((spec) => ({ spec }));
const cache: ReferenceCache = new Map();

for (const fault of FAULT_NAMES) {
  test(`the default campaign kills ${fault} (${FAULTS[fault].effect})`, async (t) => {
    const r = await runCampaign(killCases, { kernel: { kind: 'emulated', fault }, isolation: 'inline', referenceCache: cache });
    const bad = r.records.filter((x) => x.disposition !== 'passed');
    t.true(bad.length > 0, `no tactic of ${killCases.length} cases failed under ${fault}`);
    const kinds = new Set(bad.flatMap((x) => x.verdict.findings.map((f) => f.kind)));
    t.true(FAULTS[fault].finding.some((k) => kinds.has(k)), `${fault}: findings of kinds ${[...kinds].join(', ')}, expected one of ${FAULTS[fault].finding.join(', ')}`);
    const line = bad[0]!.verdict.lines[0]!;
    t.regex(line, GRAMMAR);
    t.regex(bad[0]!.replay, new RegExp(`^npx moe-harness replay --case '\\{.*\\}' --tactic \\d+/\\d+ --kernel emulated --fault ${fault}$`));
    t.log(`${bad.length}/${r.records.length} records not passed; e.g. ${line}`);
    if (fault === 'tactic_skips_last_k_block') {
      // Only the faulty tactic (largest tile, config 0) may fail.
      t.true(bad.every((x) => x.tactic.endsWith('/0')));
    }
  });
}

test(`no false alarm on the correct emulated kernel over ${RUNS} random cases (seed ${SEED})`, async (t) => {
  const cases = caseMix({ runs: RUNS, seed: SEED + 1000 }).map((spec) => ({ spec }));
  const r = await runCampaign(cases, { kernel: { kind: 'emulated' }, isolation: 'inline' });
  const bad = r.records.filter((x) => x.disposition !== 'passed');
  t.deepEqual(bad.map((x) => `${x.problem} tactic ${x.tactic}: ${x.verdict.lines.slice(0, 2).join(' | ')}`), []);
  const rows = summarize(r.records);
  t.true(rows.length >= 12, 'every tactic of the table was exercised');
  const flips = r.records.reduce((a, x) => a + x.verdict.counts.flip_explained, 0);
  t.log(`${r.records.length} (case, tactic) records passed; flip-explained elements ${flips}; ${(r.elapsedMs / 1000).toFixed(1)} s`);
  for (const k of DISCREPANCY_KINDS) if (!COUNTED_APART.includes(k)) t.is(rows.reduce((a, s) => a + s.counts[k], 0), 0, k);
});

test('child isolation: a tactic that kills its process is reported crashed with its reproducer, and the campaign goes on', async (t) => {
  const cases = caseMix({ runs: 2, seed: SEED }).map((spec) => ({ spec }));
  const r = await runCampaign(cases, { kernel: { kind: 'emulated', crashTactic: '8/0' }, isolation: 'child', referenceCache: cache });
  const crashed = r.records.filter((x) => x.disposition === 'crashed');
  t.is(crashed.length, 2);
  t.true(crashed.every((x) => x.tactic === '8/0'));
  t.regex(crashed[0]!.verdict.lines[0]!, /^tactic=crashed, reference a completed run \(child process died \(exit code 134\).*; tactic 8\/0; seed \d+\)$/);
  t.regex(crashed[0]!.replay, /--tactic 8\/0 --kernel emulated$/);
  const others = r.records.filter((x) => x.tactic !== '8/0');
  t.true(others.length > 2);
  t.true(others.every((x) => x.disposition === 'passed'));
  t.is(r.childStarts, 3); // the first child, one restart per crash
});

test('a session judges cases one at a time and carries fast-check provenance into findings and replay', async (t) => {
  const session = await openCampaignSession({ kernel: { kind: 'emulated', fault: 'last_row_unwritten' }, isolation: 'inline', referenceCache: cache });
  try {
    const records = await session.run({ spec: killCases[0]!.spec, origin: { fcSeed: 42, fcPath: '3:1' } });
    t.true(records.length > 0 && records.every((r) => r.disposition === 'incorrect'));
    t.regex(records[0]!.verdict.lines[0]!, /; fc-seed 42; path "3:1"\)$/);
    t.regex(records[0]!.replay, /  # fast-check seed 42 path "3:1"$/);
  } finally {
    await session.close();
  }
});
