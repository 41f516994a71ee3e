/**
 * No result is lost on SIGINT/SIGTERM: a child-process campaign interrupted at a random
 * point writes a partial report and exits 130/143; `check --resume DIR` finishes it without
 * repeating a (case, tactic) pair; the union equals an uninterrupted run's records.
 * Points: MOE_HARNESS_SEED (default 1) seeds them; docs/cli.md has the 20-repetition figures.
 */
import test from 'ava';
import seedrandom from 'seedrandom';
import { baseline, drillArgs, interruptAndResume, interruptOnce, recordKeys, type DrillSignal, type DrillTarget } from './interruptDrill.js';

const SEED = Number(process.env.MOE_HARNESS_SEED ?? 1);

test('interrupted at random points (SIGINT to the process, to its group, SIGTERM), then resumed: the union equals an uninterrupted run', async (t) => {
  const args = drillArgs(SEED);
  const want = recordKeys(await baseline(args));
  t.true(want.some((k) => k.endsWith(' passed')) && want.some((k) => k.endsWith(' incorrect')), 'the drill campaign has mixed dispositions');
  const rng = seedrandom(`drill-test:${SEED}`);
  const plans: Array<[DrillSignal, DrillTarget, number]> = [
    ['SIGINT', 'process', 1 + Math.floor(rng() * (want.length - 2))],
    ['SIGINT', 'group', 1 + Math.floor(rng() * (want.length - 2))],
    ['SIGTERM', 'process', 0],
  ];
  for (const [signal, target, afterLines] of plans) {
    const what = `${signal} to the ${target} after ${afterLines} journal lines`;
    const r = await interruptAndResume({ args, signal, target, afterLines });
    t.log(`${what}: exit ${r.interruptedExit}, kept ${r.keptRecords}, resume exit ${r.resumedExit}`);
    if (r.partial) {
      t.is(r.interruptedExit, signal === 'SIGINT' ? 130 : 143, what);
      t.true(r.keptRecords < want.length, what);
    } else {
      t.log(`${what}: the campaign had finished before the signal landed`);
    }
    t.is(r.resumedExit, 1, `${what}: the resumed campaign's exit code is the whole campaign's (the fault fails some tactics)`);
    t.is(r.duplicates, 0, `${what}: no (case, tactic) pair twice`);
    t.deepEqual(r.union, want, what);
  }
});

test('a property campaign interrupted by SIGINT keeps every judged record in a partial report and exits 130', async (t) => {
  const args = ['check', '--generator', 'property', '--kernel', 'emulated', '--runs', '500', '--seed', String(SEED), '--quiet'];
  const r = await interruptOnce({ args, signal: 'SIGINT', target: 'process', afterLines: 8 });
  t.is(r.exit, 130);
  t.true(r.report.partial);
  t.true(r.report.records.length >= 8, `${r.report.records.length} records`);
  t.is(r.report.records.length, r.journalRecords, 'the report holds what the journal holds');
  t.regex(JSON.stringify((r.report as unknown as { interrupted: unknown }).interrupted), /"signal":"SIGINT".*--seed \d+ .*--report NEW_DIR/);
});
