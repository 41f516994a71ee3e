/**
 * Shard reports merged equal the unsharded run: same records in the same order, same
 * dispositions, findings, worst |out - ref| / bound and histograms, same per-tactic table
 * (times aside, they are measured).
 */
import test from 'ava';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { main } from './cli.js';

const tmp = (): string => mkdtempSync(join(tmpdir(), 'moe-harness-merge-'));

function quiet(): { err: string[]; io: { out: (s: string) => void; err: (s: string) => void } } {
  const err: string[] = [];
  return { err, io: { out: () => undefined, err: (s) => err.push(s) } };
}

interface Rec { caseIndex: number; tactic: string; disposition: string; ms?: number; [k: string]: unknown }
interface Tac { tactic: string; ms: number; [k: string]: unknown }
interface Rep { cases: number; kernel: string; totals: unknown; records: Rec[]; tactics: Tac[]; shard?: unknown }

const read = (dir: string): Rep => JSON.parse(readFileSync(join(dir, 'report.json'), 'utf8')) as Rep;
const noMs = <T extends { ms?: number }>(xs: T[]): Array<Omit<T, 'ms'>> => xs.map(({ ms: _ms, ...rest }) => rest);

// A fault, so that the run has incorrect records too (dispositions and findings must survive the merge).
const BASE = ['check', '--kernel', 'emulated', '--fault', 'dropped_last_partial_tile', '--runs', '7', '--seed', '5', '--isolation', 'inline', '--quiet'];

test.serial('three shards (two by --shard, one by CI_NODE_INDEX/CI_NODE_TOTAL) merged equal the unsharded run', async (t) => {
  const dir = tmp();
  const whole = join(dir, 'whole');
  t.is(await main([...BASE, '--report', whole, '--junit', join(dir, 'whole.xml')], quiet().io), 1);
  const shards = [0, 1, 2].map((i) => join(dir, `shard-${i}`));
  t.is(await main([...BASE, '--shard', '0/3', '--report', shards[0]!], quiet().io), 1);
  t.is(await main([...BASE, '--shard', '1/3', '--report', shards[1]!], quiet().io), 1);
  process.env.CI_NODE_INDEX = '2';
  process.env.CI_NODE_TOTAL = '3';
  try {
    const q = quiet();
    await main([...BASE, '--report', shards[2]!], q.io);
    t.regex(q.err.join('\n'), /shard 2\/3 of 7/);
  } finally {
    delete process.env.CI_NODE_INDEX;
    delete process.env.CI_NODE_TOTAL;
  }
  const parts = shards.map(read);
  t.deepEqual(parts.map((p) => p.cases), [3, 2, 2]);
  t.deepEqual(parts.map((p) => p.shard), [0, 1, 2].map((index) => ({ index, total: 3, casesTotal: 7 })));
  for (const [s, p] of parts.entries()) t.true(p.records.every((r) => r.caseIndex % 3 === s));

  const merged = join(dir, 'merged');
  // Shards given out of order: the merge orders records by case index.
  t.is(await main(['merge', shards[2]!, shards[0]!, shards[1]!, '--report', merged, '--junit', join(dir, 'merged.xml')], quiet().io), 1);
  const a = read(whole);
  const b = read(merged);
  t.is(b.cases, a.cases);
  t.is(b.kernel, a.kernel);
  t.deepEqual(b.totals, a.totals);
  t.true(a.records.some((r) => r.disposition === 'incorrect'));
  t.deepEqual(noMs(b.records), noMs(a.records));
  t.deepEqual(noMs(b.tactics), noMs(a.tactics));
  const counts = (xml: string): string => /<testsuite [^>]*tests="\d+" failures="\d+" errors="\d+" skipped="\d+"/.exec(xml)![0].replace(/^.*?tests/, 'tests');
  t.is(counts(readFileSync(join(dir, 'merged.xml'), 'utf8')), counts(readFileSync(join(dir, 'whole.xml'), 'utf8')));
});

test.serial('merge refuses a missing shard, a shard given twice, and a folder without a report', async (t) => {
  const dir = tmp();
  const s = [0, 1].map((i) => join(dir, `s${i}`));
  for (const [i, d] of s.entries()) await main(['check', '--kernel', 'emulated', '--runs', '2', '--isolation', 'inline', '--quiet', '--shard', `${i}/3`, '--report', d], quiet().io);
  const cases: Array<[string[], RegExp]> = [
    [[s[0]!, s[1]!], /DIR\.\.\.: expected all 3 shards of the campaign, got shard 2 missing \(given: 0, 1\)/],
    [[s[0]!, s[0]!], /DIR: expected each shard once, got shard 0\/3 in .*s0 and in .*s0/],
    [[join(dir, 'nothing')], /DIR: expected a report folder holding report\.json/],
  ];
  for (const [dirs, re] of cases) {
    const q = quiet();
    t.is(await main(['merge', ...dirs, '--report', join(dir, 'out')], q.io), 2);
    t.regex(q.err.join('\n'), re);
  }
  const q = quiet();
  t.is(await main(['merge', s[0]!], q.io), 2);
  t.regex(q.err.join('\n'), /--report: expected the folder of the merged report, got nothing/);
});
