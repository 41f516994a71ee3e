/**
 * The matrix and the grouping on hand-made records: crashes, a case no tactic ran on,
 * tactic-specific findings next to a shared one, and the order of groups.
 */
import test from 'ava';
import type { CaseRecord } from '../campaign.js';
import { testProblem } from '../../reference/testing/testProblem.js';
import { zeroCounts, type Disposition, type Finding, type Verdict } from '../verdict.js';
import { groupFindings, signatureOf } from './findingGroups.js';
import { buildMatrix, matrixHtml, matrixText } from './matrix.js';

function rec(caseIndex: number, tactic: string, disposition: Disposition, value = '1', ratio = 0.5): CaseRecord {
  const findings: Finding[] = disposition === 'incorrect' ? [{ kind: 'beyond_bound', where: 'out[t=0,h=1]', observed: value, reference: '0', detail: 'bound 0.1' }]
    : disposition === 'crashed' ? [{ kind: 'crash', where: 'tactic', observed: 'crashed', reference: 'a completed run', detail: 'CUDA error: illegal address' }] : [];
  const counts = { ...zeroCounts(), beyond_bound: disposition === 'incorrect' ? 1 : 0 };
  const verdict: Verdict = {
    disposition, tactic, counts, findings, histogram: [],
    worst: disposition === 'crashed' || disposition === 'not_supported' ? null : { t: 0, h: 1, observed: 1, reference: 0, bound: 0.1, ratio },
    lines: disposition === 'not_supported' ? [`case not supported: too large (tactic * ; seed 1)`] : findings.map((f) => `${f.where}=${f.observed}, reference ${f.reference} (${f.detail}; tactic ${tactic}; seed 1)`),
  };
  return { caseIndex, spec: { problem: testProblem(), seed: 1, logitFamily: 'normal', scaleFamily: 'normal' }, problem: `problem ${caseIndex}`, tactic, disposition, verdict, replay: `replay ${caseIndex} ${tactic}` };
}

const records: CaseRecord[] = [
  // case 0: passes everywhere
  rec(0, '8/0', 'passed', '', 0.004), rec(0, '8/1', 'passed'), rec(0, '16/0', 'passed'), rec(0, '16/2', 'passed'),
  // case 1: only the split-K config of the native kernel (config 2), with two distinct findings
  rec(1, '8/0', 'passed'), rec(1, '8/2', 'incorrect', '5'), rec(1, '16/0', 'passed'), rec(1, '16/2', 'incorrect', '5'), rec(1, '32/2', 'incorrect', '7'),
  // case 2: no tactic ran
  rec(2, '*', 'not_supported'),
  // case 3: a crash on one tactic
  rec(3, '8/0', 'passed'), rec(3, '16/0', 'crashed'),
];

test('groups: identical findings share a block, larger groups first, a diagnosis per case', (t) => {
  const g = groupFindings(records, 'native');
  t.deepEqual(g.groups.map((x) => [x.caseIndex, x.tactics]), [[1, ['8/2', '16/2']], [1, ['32/2']], [2, ['*']], [3, ['16/0']]]);
  t.is(g.groups[0]!.pattern.kind, 'split_k');
  t.regex(g.groups[0]!.diagnosis, /^identical findings on 2 of the 3 failing tactics; case: only split-K tactics \(config 2 \(w64-splitk-fc2\)\)/);
  t.regex(g.groups[1]!.diagnosis, /^case: only split-K tactics/);
  t.regex(g.groups[2]!.diagnosis, /no tactic ran/);
  t.is(g.groups[3]!.diagnosis, 'case: only tileTokens 16 (the largest tileTokens of the case): look at the token tiling (partial tiles, row tables, tile-size-dependent indexing)');
  t.is(g.groupOf.get(records[5]!), g.groups[0]);
  t.regex(g.runDiagnosis, /^3 of 4 cases not passed — /);
  t.is(signatureOf(records[5]!), signatureOf(records[7]!));
  t.not(signatureOf(records[5]!), signatureOf(records[8]!));
  // The same record on the emulated kernel: config 2 is not split-K there.
  t.regex(groupFindings(records, 'emulated').groups[0]!.diagnosis, /only config 2 \(MMA-like chain of 16-term blocks\) tactics/);
});

test('the matrix: one row per case, one column per tactic, cells named by their group', (t) => {
  const g = groupFindings(records, 'native');
  const m = buildMatrix(records);
  t.deepEqual(m.tactics, ['8/0', '8/1', '8/2', '16/0', '16/2', '32/2']);
  t.is(m.rows.length, 4);
  const text = matrixText(m, g)!;
  const lines = text.split('\n');
  t.regex(lines[1]!, /^case +8\/0 +8\/1 +8\/2 +16\/0 +16\/2 +32\/2 +problem$/);
  t.regex(lines[2]!, /^#0 +<\.01 +\.50 +· +\.50 +\.50 +· +problem 0$/);
  t.regex(lines[3]!, /^#1 +\.50 +· +x1 +\.50 +x1 +x2 +problem 1$/);
  t.regex(lines[4]!, /^#2 +· +· +· +· +· +· +problem 2 — n\/s \[3\], no tactic ran$/);
  t.regex(lines[5]!, /^#3 +\.50 +· +· +C4 +· +· +problem 3$/);
  const html = matrixHtml(m, g);
  t.is((html.match(/<tr data-case=/g) ?? []).length, 4);
  t.is((html.match(/href="#g1"/g) ?? []).length, 2);
  t.regex(html, /<td class="ns" colspan="6"><a href="#g3">n\/s: no tactic ran<\/a><\/td>/);
  t.regex(html, /<td class="crash" title="16\/0 crashed"><a href="#g4">CRASH<\/a>/);
  // Too many cases for a terminal: no text matrix.
  const many = Array.from({ length: 41 }, (_, i) => rec(i, '8/0', 'passed'));
  t.is(matrixText(buildMatrix(many), groupFindings(many, 'native')), null);
});
