import test from 'ava';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

// ci/device-plan/compare_variants.py reads a benchVariants file (builds timed alternately on a
// device) and prints each build against the base per row, the sums the plans decide by, and each
// build's verdict under the plan's rules (--rule TACTIC:SUM[:GPT]; 8/3:-3:1 by default).
// Checked on a file made by hand, with a build whose name ends in digits (bt16: "bt161").
const python = process.env.MOE_HARNESS_PYTHON ?? 'python3';
const dir = mkdtempSync(join(tmpdir(), 'compare-variants-'));
const run = (...args: string[]) => spawnSync(python, ['ci/device-plan/compare_variants.py', ...args], { encoding: 'utf8', timeout: 30_000 });

const row = (prefix: string, config: string, T: number, t83: number, t163: number) =>
  `${prefix} ROW ${config.padEnd(16)} T=${String(T).padEnd(5)} experts   8 default 8/3    | 8/3:${t83} 16/3:${t163}`;
const file = join(dir, 'bench.txt');
writeFileSync(file, [
  'main1 copy D2D 256 MiB: 0.182 ms median, 2944.9 GB/s (read+write)',
  row('main1', 'deepseek-v3', 1, 0.2, 0.3), row('main1', 'gpt-oss-120b', 1, 0.1, 0.2),
  row('bt161', 'deepseek-v3', 1, 0.19, 0.24), row('bt161', 'gpt-oss-120b', 1, 0.0905, 0.15),
  row('slow1', 'deepseek-v3', 1, 0.25, 0.3), row('slow1', 'gpt-oss-120b', 1, 0.1, 0.2),
  row('main2', 'deepseek-v3', 1, 0.21, 0.3), row('main2', 'gpt-oss-120b', 1, 0.1, 0.2),
  row('bt162', 'deepseek-v3', 1, 0.18, 0.24), row('bt162', 'gpt-oss-120b', 1, 0.0905, 0.15),
].join('\n'));

test('per row: the base best over rounds, each build against it; sums and the 8/3 rule', (t) => {
  const r = run(file, '--tactic', '8/3');
  t.is(r.status, 0, r.stderr);
  t.true(r.stdout.includes('| row | main | bt16 | slow |'), r.stdout);
  // deepseek-v3: main's best 0.2; bt16's best 0.18 (-10 %); slow 0.25 (+25 %)
  t.true(r.stdout.includes('| deepseek-v3 T=1 | 0.200 | -10.0 % | +25.0 % |'), r.stdout);
  // sums over the rounds both have: bt16 (0.19 + 0.0905 + 0.18 + 0.0905) against main (0.2 + 0.1 + 0.21 + 0.1)
  t.regex(r.stdout, /bt16: 0\.5510 against 0\.6100 ms \(-9\.7 %, 4 row-rounds\); gpt-oss -9\.5 %: pays/);
  // slow has one round: compared with main's first round only
  t.regex(r.stdout, /slow: 0\.3500 against 0\.3000 ms \(\+16\.7 %, 2 row-rounds\); gpt-oss \+0\.0 %: does not pay/);
  t.false(r.stdout.includes('16/3: the base'), '--tactic 8/3 prints 8/3 only');
});

test('--rule: each tactic judged by its own rule, then every build against all of them', (t) => {
  const r = run(file, '--tactic', '8/3', '--rule', '8/3:-9:-9', '--rule', '16/3:-20');
  t.is(r.status, 0, r.stderr);
  t.true(r.stdout.includes('16/3: the base'), 'a rule prints its tactic even when --tactic leaves it out');
  // bt16 at 8/3: -9.7 % summed, gpt-oss -9.5 %: both within -9
  t.regex(r.stdout, /bt16: 0\.5510 against 0\.6100 ms \(-9\.7 %, 4 row-rounds\); gpt-oss -9\.5 %: pays \(summed <= -9 %, gpt-oss <= -9 %\)/);
  // bt16 at 16/3: (0.24 + 0.15) x 2 against (0.3 + 0.2) x 2: -22.0 %
  t.regex(r.stdout, /bt16: 0\.7800 against 1\.0000 ms \(-22\.0 %, 4 row-rounds\); gpt-oss -25\.0 %: pays \(summed <= -20 %\)/);
  t.regex(r.stdout, /rules: 8\/3: summed <= -9 %, gpt-oss <= -9 %; 16\/3: summed <= -20 %/);
  t.regex(r.stdout, /\n {2}bt16: pays under every rule/);
  t.regex(r.stdout, /\n {2}slow: does not pay \(8\/3 \+16\.7 % > -9 %; gpt-oss \+0\.0 % > -9 %; 16\/3 \+0\.0 % > -20 %\)/);
  // one rule failing is enough: 8/3 at -10 % leaves bt16 out (-9.7 %)
  const s = run(file, '--rule', '8/3:-10');
  t.regex(s.stdout, /\n {2}bt16: does not pay \(8\/3 -9\.7 % > -10 %\)/);
});

test('a bad option, a missing base, an unreadable file: exit 2 naming it', (t) => {
  const e = run(file, '--rule', '8/3<=-3');
  t.is(e.status, 2);
  t.regex(e.stderr, /--rule: expected TACTIC:SUM\[:GPT\] such as 8\/3:-3:1 \(percent against the base\), got 8\/3<=-3/);
  const f = run(file, '--rule', '8/3:-3', '--rule', '8/3:-2');
  t.is(f.status, 2);
  t.regex(f.stderr, /--rule: tactic 8\/3 has two rules/);
  const a = run(file, '--tactic', 'x');
  t.is(a.status, 2);
  t.regex(a.stderr, /--tactic: expected tileTokens\/config such as 8\/3, got x/);
  const b = run(file, '--base', 'nope');
  t.is(b.status, 2);
  t.regex(b.stderr, /no ROW lines of the base build 'nope' \(builds found: main, bt16, slow\)/);
  const c = run(join(dir, 'missing.txt'));
  t.is(c.status, 2);
  t.regex(c.stderr, /cannot read/);
  const d = run(file, '--bogus');
  t.is(d.status, 2);
  t.regex(d.stderr, /unknown option --bogus/);
});
