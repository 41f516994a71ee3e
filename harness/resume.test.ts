/**
 * --resume DIR: continues from the folder's invocation and journal; refuses options that
 * differ from the stored ones (naming the option), another kernel, a property campaign, a
 * folder that is not a report folder; tolerates a journal line cut short by a kill.
 */
import test from 'ava';
import { appendFileSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { main } from './cli.js';
import { JOURNAL_FILE, readJournal } from './recordJournal.js';

function io(): { out: string[]; err: string[]; io: { out: (s: string) => void; err: (s: string) => void } } {
  const out: string[] = [];
  const err: string[] = [];
  return { out, err, io: { out: (s) => out.push(s), err: (s) => err.push(s) } };
}

const ARGS = ['check', '--kernel', 'emulated', '--runs', '3', '--seed', '11', '--isolation', 'inline', '--quiet'];

interface Report { records: Array<{ caseIndex: number; tactic: string; disposition: string }>; partial?: boolean }
const keys = (r: Report): string[] => r.records.map((x) => `${x.caseIndex} ${x.tactic} ${x.disposition}`).sort();
const report = (dir: string): Report => JSON.parse(readFileSync(join(dir, 'report.json'), 'utf8')) as Report;

test('a folder whose journal lost its last cases (and ends in a half-written line) resumes to the full run', async (t) => {
  const full = join(mkdtempSync(join(tmpdir(), 'moe-resume-')), 'r');
  t.is(await main([...ARGS, '--report', full], io().io), 0);
  const want = keys(report(full));
  // Keep the journal up to the middle of case 1, then a line cut short by a kill.
  const lines = readFileSync(join(full, JOURNAL_FILE), 'utf8').split('\n').filter((l) => l.length > 0);
  const firstOfCase1 = lines.findIndex((l) => l.includes('"caseIndex":1,'));
  const kept = lines.slice(0, firstOfCase1 + 2);
  writeFileSync(join(full, JOURNAL_FILE), kept.join('\n') + '\n' + lines[firstOfCase1 + 2]!.slice(0, 40));
  const j = readJournal(full);
  t.true(j.truncatedTail);
  t.is(j.records.length, kept.filter((l) => l.startsWith('{"type":"record"')).length);
  const c = io();
  t.is(await main(['check', '--resume', full], c.io), 0, c.err.join('\n'));
  t.regex(c.err.join('\n'), /resuming .*: 1 cases and \d+ records done/);
  const after = report(full);
  t.deepEqual(keys(after), want);
  t.is(after.partial, undefined);
  t.false(readJournal(full).truncatedTail, 'the cut-short line was dropped before appending');
});

// Serial: it sets an environment variable that the file's other tests read.
test.serial('a resume with options that differ from the stored ones is refused, naming the option; nothing runs', async (t) => {
  const dir = join(mkdtempSync(join(tmpdir(), 'moe-resume-')), 'r');
  t.is(await main([...ARGS, '--report', dir], io().io), 0);
  const journal = readFileSync(join(dir, JOURNAL_FILE), 'utf8');
  const cases: Array<[string[], RegExp]> = [
    [['--seed', '12'], /--seed: expected the value of the run being resumed \(11\), or no --seed, got 12/],
    [['--runs', '4'], /--runs: expected the value of the run being resumed \(3\), or no --runs, got 4/],
    [['--tactic', '8/0'], /--tactic: expected the value of the run being resumed \(\(not given\)\), or no --tactic, got 8\/0/],
    [['--kernel', 'native'], /--kernel: expected the value of the run being resumed \(emulated\)/],
    [['--report', join(dir, 'elsewhere')], /--report: expected no --report with --resume/],
    [['--generator', 'property'], /--generator: expected the value of the run being resumed/],
  ];
  for (const [extra, re] of cases) {
    const c = io();
    t.is(await main(['check', '--resume', dir, ...extra], c.io), 2, extra.join(' '));
    t.regex(c.err.join('\n'), re, extra.join(' '));
  }
  const before = process.env.MOE_HARNESS_SEED;
  process.env.MOE_HARNESS_SEED = '99';
  try {
    const c = io();
    t.is(await main(['check', '--resume', dir], c.io), 2);
    t.regex(c.err.join('\n'), /MOE_HARNESS_SEED: expected the seed of the run being resumed \(11\)/);
  } finally {
    if (before === undefined) delete process.env.MOE_HARNESS_SEED;
    else process.env.MOE_HARNESS_SEED = before;
  }
  t.is(readFileSync(join(dir, JOURNAL_FILE), 'utf8'), journal, 'nothing was appended');
  // Options that do not shape the records may differ; the same ones may be repeated.
  t.is(await main(['check', '--resume', dir, '--quiet', '--seed', '11', '--runs', '3'], io().io), 0);
  const missing = io();
  t.is(await main(['check', '--resume', join(dir, 'nope')], missing.io), 2);
  t.regex(missing.err.join('\n'), /--resume: expected a report folder of an earlier `moe-harness check`, got ".*nope" \(no such folder\)/);
  const notReport = io();
  t.is(await main(['check', '--resume', tmpdir()], notReport.io), 2);
  t.regex(notReport.err.join('\n'), /--resume: expected a report folder holding invocation\.json/);
});

test('a property campaign is not resumable (refused before running)', async (t) => {
  const c = io();
  const dir = mkdtempSync(join(tmpdir(), 'moe-resume-'));
  writeFileSync(join(dir, 'invocation.json'), JSON.stringify({ command: 'check', options: { generator: 'property', kernel: 'emulated' }, seed: 1, kernel: 'emulated', version: '0' }));
  appendFileSync(join(dir, JOURNAL_FILE), '');
  t.is(await main(['check', '--resume', dir], c.io), 2);
  t.regex(c.err.join('\n'), /--resume: expected a campaign of the case mix or --config .*got --generator property/);
});
