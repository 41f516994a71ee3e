/**
 * The report on real campaigns of the emulated kernel (inline, references shared):
 * a 24-case run's page stays under 300 KB whatever fails (a fault that breaks every
 * tactic alike, one that makes every tactic differ, none), holds nothing fetched, and
 * groups identical findings with the right diagnosis; the terminal report agrees with the
 * page on counts and says "1 case", never "1 cases".
 */
import test from 'ava';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCampaign, type CampaignResult } from '../campaign.js';
import { caseMix } from '../caseMix.js';
import type { FaultName } from '../faults.js';
import type { ReferenceCache } from '../referenceFor.js';
import { formatTerminalReport, writeReport } from '../report.js';
import { groupFindings } from './findingGroups.js';
import { PAGE_BUDGET_BYTES } from './page.js';

const cache: ReferenceCache = new Map();
const cases24 = caseMix({ runs: 24, seed: 1 }).map((spec) => ({ spec }));
const runs = new Map<string, Promise<CampaignResult>>();
function campaign(fault: FaultName | null, n = 24): Promise<CampaignResult> {
  const key = `${fault}:${n}`;
  if (!runs.has(key)) {
    runs.set(key, runCampaign(cases24.slice(0, n), { kernel: fault ? { kind: 'emulated', fault } : { kind: 'emulated' }, isolation: 'inline', referenceCache: cache }));
  }
  return runs.get(key)!;
}

function written(r: CampaignResult): { html: string; bytes: number; json: Record<string, unknown> } {
  const dir = mkdtempSync(join(tmpdir(), 'moe-report-test-'));
  try {
    const p = writeReport(r, dir, { command: 'test', seed: 1 });
    return { html: readFileSync(p.html, 'utf8'), bytes: statSync(p.html).size, json: JSON.parse(readFileSync(p.json, 'utf8')) as Record<string, unknown> };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

for (const fault of [null, 'gate_up_swapped', 'nondeterministic_finalize'] as const) {
  test.serial(`a 24-case run's page is self-contained and under 300 KB (${fault ?? 'no fault'})`, async (t) => {
    const r = await campaign(fault);
    const { html, bytes } = written(r);
    t.true(bytes < 300_000, `${bytes} bytes`);
    t.true(bytes <= PAGE_BUDGET_BYTES + 20_000, `${bytes} bytes vs budget ${PAGE_BUDGET_BYTES}`);
    t.notRegex(html, /<script|<link|<iframe|\bsrc="(?!data:)|url\(|@import/i, 'nothing fetched, no script');
    const g = groupFindings(r.records, r.kernel);
    // Every group keeps its anchor, whatever form it was drawn in; every failing cell links to one.
    for (const grp of g.groups) t.true(html.includes(`id="${grp.anchor}"`), grp.anchor);
    t.is(g.groupOf.size, r.records.filter((x) => x.disposition !== 'passed').length);
    t.log(`${fault ?? 'no fault'}: ${bytes} bytes, ${g.groups.length} groups over ${g.groupOf.size} records not passed`);
  });
}

test.serial('a fault that breaks every tactic alike: one group per case, "all tactics: not a tiling bug"', async (t) => {
  const r = await campaign('gate_up_swapped');
  const g = groupFindings(r.records, r.kernel);
  const failingCases = new Set(r.records.filter((x) => x.disposition !== 'passed').map((x) => x.caseIndex));
  t.is(g.groups.length, failingCases.size);
  for (const grp of g.groups) {
    t.is(grp.pattern.kind, grp.caseTactics.length > 1 ? 'all' : 'one_ran');
    t.deepEqual(grp.tactics, grp.caseTactics);
    t.regex(grp.diagnosis, /^identical findings on every failing tactic; case: all \d+ tactics: not a tiling bug|^case: one tactic ran/);
    t.notRegex(grp.diagnosis, /errors follow expert/, 'every expert is wrong: no expert is blamed');
  }
  t.regex(g.runDiagnosis, /not passed — .*all tactics: not a tiling bug/);
  // Every incorrect record carries its error map, with beyond-bound elements where the findings are.
  for (const rec of r.records.filter((x) => x.disposition === 'incorrect')) {
    const m = rec.errorMap!;
    t.truthy(m, `case ${rec.caseIndex} tactic ${rec.tactic}`);
    t.is(m.classes.beyond_bound, rec.verdict.counts.beyond_bound);
    t.is(m.classes.flip_explained, rec.verdict.counts.flip_explained);
    t.is(m.classes.poison, rec.verdict.counts.poison);
    t.is(m.worst[0]!.ratio, rec.verdict.worst!.ratio);
  }
});

test.serial('a fault of one tactic: "only the largest tileTokens of the case with config 0"', async (t) => {
  const r = await campaign('tactic_skips_last_k_block', 8);
  const g = groupFindings(r.records, r.kernel);
  t.true(g.groups.length > 0);
  for (const grp of g.groups) {
    t.is(grp.tactics.length, 1);
    t.is(grp.pattern.kind, 'single');
    t.regex(grp.pattern.key, /^only the largest tileTokens of the case with config 0/);
  }
  t.regex(g.runDiagnosis, /^\d+ of 8 cases not passed — (every case|\d+ cases? \([\d, ]+\)): only the largest tileTokens of the case with config 0 \(K tiles of 64, sequential\)/);
});

test.serial('a fault of one quant mode: the run diagnosis names the shape', async (t) => {
  const r = await campaign('mx_exponent_round_down');
  const g = groupFindings(r.records, r.kernel);
  t.regex(g.runDiagnosis, /Shapes: every failing case has quant mxfp4_mxfp8, and every case with it fails \(\d+ cases; the other \d+ cases pass\)/);
});

test.serial('a fault of one expert: the group names the expert', async (t) => {
  const r = await campaign('expert_scale_ignored', 8);
  const g = groupFindings(r.records, r.kernel);
  t.true(g.groups.length > 0);
  // Local index 1: global expert localOffset + 1.
  for (const grp of g.groups) {
    const p = grp.records[0]!.spec.problem;
    t.regex(grp.diagnosis, new RegExp(`errors follow expert ${p.localOffset + 1}: `), `case ${grp.caseIndex}: ${grp.diagnosis}`);
  }
});

test.serial('the terminal report: table, matrix, one block per group, counts that agree', async (t) => {
  const r = await campaign('gate_up_swapped');
  const text = formatTerminalReport(r);
  const g = groupFindings(r.records, r.kernel);
  const allRow = text.split('\n').find((l) => l.startsWith('all '))!;
  t.is(Number(allRow.split(/\s+/)[1]), r.cases, 'the table\'s "all" row counts the cases of the summary');
  t.regex(text, new RegExp(`: ${r.cases} cases, ${r.records.length} \\(case, tactic\\) records: passed`));
  t.regex(text, /^case × tactic/m);
  t.is(text.split('\n').filter((l) => /^#\d+ /.test(l)).length, r.cases, 'one matrix row per case');
  t.is((text.match(/^\[\d+\] INCORRECT/gm) ?? []).length, Math.min(8, g.groups.length));
  t.regex(text, new RegExp(`… and ${g.groups.length - 8} more finding groups`));
  t.notRegex(text, /\b1 cases\b/);
  // Group numbers in the matrix are those of the blocks.
  t.regex(text, /^#0 +x1 /m);
});

test.serial('report.json keeps every error map once: identical maps point at the first', async (t) => {
  const r = await campaign('gate_up_swapped');
  const { json } = written(r);
  const recs = json.records as Array<{ errorMap?: unknown; errorMapSameAs?: number; disposition: string }>;
  const incorrect = recs.filter((x) => x.disposition === 'incorrect');
  t.true(incorrect.every((x) => (x.errorMap === undefined) !== (x.errorMapSameAs === undefined)));
  for (const [i, x] of recs.entries()) {
    if (x.errorMapSameAs === undefined) continue;
    t.true(x.errorMapSameAs < i);
    t.deepEqual(r.records[i]!.errorMap, recs[x.errorMapSameAs]!.errorMap);
  }
  t.true(incorrect.filter((x) => x.errorMap).length < incorrect.length, 'tactics with the same wrong output share one map');
});

test.serial('one case: "1 case" on the terminal and the page', async (t) => {
  const r = await campaign(null, 1);
  const text = formatTerminalReport(r);
  t.regex(text, /: 1 case, \d+ \(case, tactic\) records: passed/);
  t.regex(text, /no finding: every record of 1 case passed/);
  const { html, json } = written(r);
  t.regex(html, /<span id="case-count">1 case<\/span>/);
  t.is(json.cases, 1);
  t.deepEqual(json.groups, []);
});
