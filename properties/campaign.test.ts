/**
 * The property campaign (harness/propertyCampaign.ts): fast-check draws the case, a
 * failure shrinks to a small problem, and seed + path replay exactly that case.
 * Runs: runs(60) (MOE_HARNESS_RUNS multiplier); seed: env MOE_HARNESS_SEED (default 1).
 */
import test from 'ava';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { weightBlock } from '../reference/problem.js';
import { main } from '../harness/cli.js';
import type { FaultName } from '../harness/faults.js';
import { runPropertyCampaign } from '../harness/propertyCampaign.js';
import type { FindingKind } from '../harness/verdict.js';
import { runs } from './runs.js';

const SEED = Number(process.env.MOE_HARNESS_SEED ?? 1);
const RUNS = runs(60);

test(`no false alarm: the property campaign passes on the emulated kernel over ${RUNS} cases (seed ${SEED})`, async (t) => {
  const r = await runPropertyCampaign({ kernel: { kind: 'emulated' }, runs: RUNS, seed: SEED, isolation: 'inline' });
  const bad = r.records.filter((x) => x.disposition !== 'passed');
  t.deepEqual(bad.map((x) => `${x.problem} tactic ${x.tactic}: ${x.verdict.lines.slice(0, 2).join(' | ')}`), []);
  t.is(r.counterexample, null);
  t.is(r.generated, RUNS);
  t.is(r.cases, RUNS);
  // The cases really vary: several methods, quant modes and token counts were drawn.
  t.true(new Set(r.records.map((x) => x.spec.problem.routing.method)).size >= 4);
  t.true(new Set(r.records.map((x) => x.spec.problem.quantMode)).size >= 2);
  t.true(new Set(r.records.map((x) => x.spec.problem.T)).size >= 5);
  t.true(r.records.every((x) => x.origin?.fcSeed === SEED && x.origin.fcPath === String(x.caseIndex)));
  t.log(`${r.records.length} (case, tactic) records passed in ${(r.elapsedMs / 1000).toFixed(1)} s`);
});

const FAULT_KINDS: Partial<Record<FaultName, FindingKind>> = {
  gate_up_swapped: 'beyond_bound',
  ties_high_index: 'routing',
  ep_offset_off_by_one: 'beyond_bound',
};

for (const [fault, kind] of Object.entries(FAULT_KINDS) as Array<[FaultName, FindingKind]>) {
  test(`${fault}: the property fails, shrinks to a small problem, and seed + path replay exactly that case`, async (t) => {
    const kernel = { kind: 'emulated', fault } as const;
    const r = await runPropertyCampaign({ kernel, runs: RUNS, seed: SEED, isolation: 'inline' });
    const cx = r.counterexample;
    if (cx === null) return t.fail(`${fault} survived ${r.generated} cases`);
    t.is(cx.error, undefined);
    // Shrinking acted on the shape: the smallest T, H, I and k, no more experts than the
    // first failing case had (one or two for faults that need no tie; a tie's data may need more).
    const p = cx.spec.problem;
    const first = r.records.find((x) => x.disposition !== 'passed')!.spec.problem;
    const block = weightBlock(p.quantMode);
    t.deepEqual({ T: p.T, H: p.H, I: p.I, topK: p.topK }, { T: 1, H: block, I: block, topK: 1 }, JSON.stringify(p));
    t.true(p.E <= (fault === 'ties_high_index' ? first.E : 2), `E = ${p.E}, first failing case E = ${first.E}`);
    t.true(cx.shrinks > 0);
    t.true(cx.findings.length > 0);
    t.true(cx.findings.some((f) => f.verdict.findings.some((x) => x.kind === kind)), `expected a ${kind} finding`);
    const line = cx.findings[0]!.verdict.lines[0]!;
    t.true(line.endsWith(`; fc-seed ${SEED}; path "${cx.fcPath}")`), line);
    t.is(cx.replay, `npx moe-harness check --generator property --seed ${SEED} --path "${cx.fcPath}" --kernel emulated --fault ${fault}`);
    // Replay: exactly one case, the same CaseSpec, the same findings.
    const again = await runPropertyCampaign({ kernel, runs: RUNS, seed: SEED, path: cx.fcPath, isolation: 'inline' });
    t.is(again.generated, 1);
    t.is(again.shrinkRecords.length, 0);
    t.deepEqual(again.counterexample?.spec, cx.spec);
    t.is(again.counterexample?.fcPath, cx.fcPath);
    t.deepEqual(again.counterexample?.findings.map((f) => [f.tactic, f.verdict.lines]), cx.findings.map((f) => [f.tactic, f.verdict.lines]));
    // The same path on the correct kernel passes that one case.
    const fixed = await runPropertyCampaign({ kernel: { kind: 'emulated' }, runs: RUNS, seed: SEED, path: cx.fcPath, isolation: 'inline' });
    t.is(fixed.counterexample, null);
    t.deepEqual(fixed.records.map((x) => x.spec), fixed.records.map(() => cx.spec));
    t.log(`${r.generated} generated, ${cx.shrinks} shrink steps: ${line}`);
  });
}

function io(): { out: string[]; err: string[]; io: { out: (s: string) => void; err: (s: string) => void } } {
  const out: string[] = [];
  const err: string[] = [];
  return { out, err, io: { out: (s) => out.push(s), err: (s) => err.push(s) } };
}

const tmp = (): string => mkdtempSync(join(tmpdir(), 'moe-harness-fc-'));

test('check --generator property prints the table, the shrunk counterexample and a replay line that reproduces it', async (t) => {
  const dir = tmp();
  const c = io();
  const base = ['--kernel', 'emulated', '--isolation', 'inline', '--quiet'];
  t.is(await main(['check', '--generator', 'property', '--fault', 'gate_up_swapped', '--runs', '20', '--seed', '3', ...base, '--report', dir], c.io), 1);
  const text = c.out.join('\n');
  t.regex(c.out[0]!.split('\n')[0]!, /^tactic\s+cases\s+passed\s+incorrect/);
  t.regex(text, /^COUNTEREXAMPLE \(fast-check seed 3 path "[\d:]+"\): .*T=1 /m);
  const m = /^replay: npx moe-harness check --generator property --seed 3 --path "([\d:]+)" --kernel emulated --fault gate_up_swapped$/m.exec(text);
  if (m === null) return t.fail(text);
  const report = JSON.parse(readFileSync(join(dir, 'report.json'), 'utf8')) as { counterexample?: { fcPath: string; replay: string } };
  t.is(report.counterexample?.fcPath, m[1]);
  const again = io();
  t.is(await main(['check', '--generator', 'property', '--seed', '3', '--path', m[1]!, '--fault', 'gate_up_swapped', ...base, '--report', tmp()], again.io), 1);
  const caseLine = (s: string[]): string | undefined => s.join('\n').split('\n').find((l) => l.startsWith('  case: '));
  t.truthy(caseLine(c.out));
  t.is(caseLine(again.out), caseLine(c.out));
  const ok = io();
  t.is(await main(['check', '--generator', 'property', '--runs', '3', ...base, '--report', tmp()], ok.io), 0, ok.out.join('\n'));
  t.notRegex(ok.out.join('\n'), /COUNTEREXAMPLE/);
});

test('--generator and --path: bad combinations exit 2 naming the option, the expected and the actual value', async (t) => {
  const cases: Array<[string[], RegExp]> = [
    [['check', '--generator', 'random'], /--generator: expected one of mix, property, got "random"/],
    [['check', '--path', '1:0', '--kernel', 'emulated'], /--path: expected only with --generator property, got --path "1:0" with --generator mix/],
    [['check', '--generator', 'property', '--config', 'mixtral-8x7b', '--kernel', 'emulated'], /--config: expected no such option with --generator property .*got --config mixtral-8x7b/],
    [['check', '--generator', 'property', '--T', '1,37', '--kernel', 'emulated'], /--T: expected one token count with --generator property, got 1,37/],
    [['check', '--generator', 'property', '--path', 'x:1', '--kernel', 'emulated', '--isolation', 'inline'], /path: expected a fast-check path such as "12:0:3", got "x:1"/],
  ];
  for (const [argv, re] of cases) {
    const c = io();
    t.is(await main(argv, c.io), 2, argv.join(' '));
    t.regex(c.err.join('\n'), re, argv.join(' '));
  }
});
