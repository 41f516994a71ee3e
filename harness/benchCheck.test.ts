/**
 * bench:check smoke test (CI, no GPU): the main command's path on a tiny slice with the
 * emulated kernel, one table with every phase, the totals and the GEMM baseline.
 */
import test from 'ava';
import { benchCheck } from './benchCheck.js';

test('bench:check runs tiny with --kernel emulated and prints one table per configuration', async (t) => {
  t.timeout(240_000);
  const out: string[] = [];
  const code = await benchCheck(['--configs', 'qwen3-30b-a3b', '--T', '4', '--local-experts', '32', '--kernel', 'emulated', '--gemm-runs', '1'], (s) => out.push(s));
  const text = out.join('\n');
  t.is(code, 0, text);
  t.regex(text, /## qwen3-30b-a3b T=4 .*E=128\[0\+32\].*: \d+ records \(\d+ passed\), worst \|out − ref\|\/bound 0\.\d{4}, check exit 0/);
  for (const row of ['generate \\(campaign\\)', 'reference \\(runs', 'regenerate \\(child\\)', 'prepare \\(upload', 'tactic runs', 'input digests', 'child → campaign traffic', 'judging']) {
    t.regex(text, new RegExp(`\\| ${row}[^|]* \\| \\d+ ms \\|`), row);
  }
  t.regex(text, /\| \*\*total wall \(check command\)\*\* \| \*\*\d+\.\d\d s\*\* — no target set/);
  t.regex(text, /\| peak host RSS \| campaign \d+(\.\d+)? MiB, child \d+(\.\d+)? MiB \|/);
  const num = '\\d[\\d.e+-]*';
  t.regex(text, new RegExp(`\\| reference vs plain GEMM, same engine and threads \\| ${num} GFLOP/s vs ${num} GFLOP/s \\(${num} ms; ${num} GFLOP counted`));
});

test('bench:check --gemm-runs 0 skips the GEMM baseline and says so', async (t) => {
  t.timeout(240_000);
  const out: string[] = [];
  const code = await benchCheck(['--configs', 'qwen3-30b-a3b', '--T', '2', '--local-experts', '8', '--kernel', 'emulated', '--gemm-runs', '0'], (s) => out.push(s));
  const text = out.join('\n');
  t.is(code, 0, text);
  t.notRegex(text, /GEMM baseline: \d+ runs/);
  t.regex(text, /\| reference vs plain GEMM, same engine and threads \| \d[\d.e+-]* GFLOP\/s vs no GEMM baseline \(--gemm-runs 0\) \(\d[\d.e+-]* GFLOP counted/);
});

test('bench:check refuses a bad option naming it', async (t) => {
  const e = await t.throwsAsync(() => benchCheck(['--configs', 'nope'], () => undefined));
  t.regex(String(e), /--configs/);
});
