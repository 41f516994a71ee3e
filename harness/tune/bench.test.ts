/**
 * bench:tune on CPU (the emulated kernel): the script runs end to end, prints a line per
 * bucket as the tune goes and a row per bucket as the oracle goes, writes valid JSON, and
 * DeepSeek-V3's fallback says why. The numbers themselves mean something only on a GPU host.
 */
import test from 'ava';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const bench = (args: readonly string[], env: NodeJS.ProcessEnv = {}) =>
  spawnSync(process.execPath, ['--import', 'tsx', 'harness/tune/bench.ts', '--kernel', 'emulated', ...args], {
    encoding: 'utf8', env: { ...process.env, ...env }, timeout: 240_000,
  });

test('the fault demonstration: the faulty tactic blocklisted in every bucket, lines as buckets finish, JSON whole', (t) => {
  const json = join(mkdtempSync(join(tmpdir(), 'tunebench-')), 'bench.json');
  const r = bench(['--demo', 'only', '--rounds', '6', '--json', json]);
  t.is(r.status, 0, r.stderr);
  const text = r.stdout;
  for (const b of [1, 2, 4, 8, 16]) t.regex(text, new RegExp(`^  tuned bucket ${b}: \\S+ .*blocklisted (16|32)/0 \\(incorrect\\)`, 'm'));
  t.regex(text, /^  phases: generate .* other \d+\.\d s; references ahead$/m);
  t.regex(text, /^\| 16 \| \S+ \| .* \| (\d+|\d+ capped) \|$/m);
  t.regex(text, /^within 3% of the oracle-best: \d of 5 buckets; worst gap .*; blocklisted: 16\/0@1, 16\/0@2, 16\/0@4, 16\/0@8, 32\/0@16$/m);
  t.regex(text, /^blocklisted 16\/0 at bucket 1 \(incorrect\): .*\n {2}replay: npx moe-harness replay .* --tactic 16\/0 --kernel emulated --fault tactic_skips_last_k_block$/m);
  const data = JSON.parse(readFileSync(json, 'utf8')) as { faultDemo: { oracle: Array<{ bucket: number; blocked: string[] }>; phases: { calls: Record<string, number> }; entry: { blocklist: unknown[] } } };
  t.deepEqual(data.faultDemo.oracle.map((o) => o.bucket), [1, 2, 4, 8, 16]);
  t.deepEqual(data.faultDemo.oracle[4]!.blocked, ['32/0']);
  t.is(data.faultDemo.entry.blocklist.length, 5);
  t.is(data.faultDemo.phases.calls.prepare, 5);
});

test("DeepSeek-V3's whole model refused by the memory estimate: the fallback to 32 experts says why; a failing configuration is reported (exit 1)", (t) => {
  const r = bench(['--configs', 'deepseek-v3', '--demo', 'skip', '--max-tokens', '1'], { MOE_HARNESS_MEMORY_BYTES: '100000' });
  t.is(r.status, 1, r.stderr);
  t.regex(r.stdout, /^deepseek-v3: 256 experts refused here \(memory estimate: .*MOE_HARNESS_MEMORY_BYTES.*\); falling back to an expert-parallel slice of 32 experts \(EP 8\)$/m);
  t.regex(r.stdout, /^deepseek-v3: FAILED: BadArgumentError: .*localExperts=32/m);
});

test('a bad option exits 2 naming it', (t) => {
  const r = bench(['--demo', 'sometimes']);
  t.is(r.status, 2);
  t.regex(r.stderr, /^bench:tune: --demo: expected one of after, skip, only, got "sometimes"$/m);
});
