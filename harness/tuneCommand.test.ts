import test from 'ava';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { main } from './cli.js';
import { testProblem } from '../reference/testing/testProblem.js';

function capture() {
  const out: string[] = [];
  const err: string[] = [];
  return { io: { out: (s: string) => out.push(s), err: (s: string) => err.push(s) }, out, err };
}

const problem = JSON.stringify(testProblem({ T: 1, H: 128 }));
const quick = ['--max-tokens', '4', '--warmup', '1', '--min-repeats', '3', '--max-repeats', '6', '--error-limit', '0.5'];

test('tune writes a cache, --check re-verifies it, and a stale cache is refused (exit 1)', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'tunecmd-'));
  const cache = join(dir, 'tune.json');
  const a = capture();
  t.is(await main(['tune', '--problem', problem, '--kernel', 'emulated', '--cache', cache, ...quick], a.io), 0, a.err.join('\n'));
  t.regex(a.out.join('\n'), /tuned 3 buckets in/);
  const file = JSON.parse(readFileSync(cache, 'utf8'));
  t.deepEqual(Object.keys(Object.values(file.problems as Record<string, { buckets: object }>)[0]!.buckets), ['1', '2', '4']);
  t.is(file.environment.kernel, 'emulated');
  const b = capture();
  t.is(await main(['tune', '--check', cache, '--kernel', 'emulated'], b.io), 0, b.out.join('\n'));
  t.regex(b.out.at(-1)!, /3 of 3 cached choices re-verified$/);
  file.environment.kernelBuild = 'emulated@1';
  writeFileSync(cache, JSON.stringify(file));
  const c = capture();
  t.is(await main(['tune', '--check', cache, '--kernel', 'emulated'], c.io), 1);
  t.regex(c.err.join('\n'), /REFUSED: .*kernelBuild: cached "emulated@1", now "emulated@2"/);
});

test('tune of a kernel with a one-tactic fault: exit 1, the tactic blocklisted with finding and replay', async (t) => {
  const a = capture();
  t.is(await main(['tune', '--problem', problem, '--kernel', 'emulated', '--fault', 'tactic_skips_last_k_block', '--buckets', '4', ...quick], a.io), 1);
  const text = a.out.join('\n');
  t.regex(text, /bucket 4: tactic 16\/0 blocklisted \(incorrect\)/);
  t.regex(text, /replay: npx moe-harness replay --case .* --tactic 16\/0 --kernel emulated --fault tactic_skips_last_k_block/);
  t.regex(text, /^ {5}4 {2}(?!16\/0)/m, 'bucket 4 chose another tactic');
});

test('bad arguments: exit 2 naming the option, expected and actual', async (t) => {
  const cases: Array<[string[], RegExp]> = [
    [['tune', '--kernel', 'emulated'], /--config \/ --problem: expected exactly one of them, got neither/],
    [['tune', '--problem', problem, '--kernel', 'emulated', '--max-tokens', '100'], /--max-tokens: expected a power of two in \[1, 1048576\], got 100/],
    [['tune', '--problem', problem, '--kernel', 'emulated', '--max-tokens', '8', '--buckets', '16'], /--buckets: expected powers of two <= --max-tokens 8, got 16/],
    [['tune', '--problem', problem, '--kernel', 'emulated', '--init', 'hidden=ones'], /--init: expected an initializer among random, zero, got "ones"/],
    [['tune', '--check', '/nonexistent/tune.json', '--kernel', 'emulated'], /--check: expected a readable JSON tune cache file/],
  ];
  for (const [argv, re] of cases) {
    const c = capture();
    t.is(await main(argv, c.io), 2, argv.join(' '));
    t.regex(c.err.join('\n'), re);
  }
});

// Serial: it sets an environment variable that the file's other tests read.
test.serial('no size wall: full DeepSeek-V3 is refused only by the memory estimate, naming it and the budget', async (t) => {
  const before = process.env.MOE_HARNESS_MEMORY_BYTES;
  process.env.MOE_HARNESS_MEMORY_BYTES = String(2 ** 30);
  try {
    const c = capture();
    t.is(await main(['tune', '--config', 'deepseek-v3', '--kernel', 'emulated'], c.io), 2);
    t.regex(c.err.join('\n'), /--local-experts: expected a case that fits in the memory available: at most 1\.00 GiB \(MOE_HARNESS_MEMORY_BYTES\), got an estimated 5\.9\d GiB to generate/);
  } finally {
    if (before === undefined) delete process.env.MOE_HARNESS_MEMORY_BYTES;
    else process.env.MOE_HARNESS_MEMORY_BYTES = before;
  }
});

test('tune --help: the tune entries of the one option table and its exit codes, nothing run', async (t) => {
  const c = capture();
  t.is(await main(['tune', '--help'], c.io), 0);
  const text = c.out.join('\n');
  t.regex(text, /^usage: moe-harness tune --config NAME/);
  for (const opt of ['--config', '--problem', '--max-tokens', '--buckets', '--seed', '--init', '--cache', '--check', '--kernel', '--kernel-config', '--fault', '--tactic', '--reference', '--warmup', '--min-repeats', '--max-repeats', '--error-limit', '--l2', '--launch', '--reference-schedule', '--local-experts', '--local-offset']) {
    t.regex(text, new RegExp(`${opt}\\b`), opt);
  }
  t.notRegex(text, /--resume|--runs|--case /, 'only tune\'s options');
  for (const code of [0, 1, 2, 70]) t.regex(text, new RegExp(`^ +${code}  `, 'm'), `exit ${code}`);
  const bad = capture();
  t.is(await main(['tune', '--runs', '3'], bad.io), 2);
  t.regex(bad.err.join('\n'), /option: expected one of .*--max-tokens.* \(options of tune\), got "--runs"/);
});

test('tune prints where the time went (every phase) and how it timed; a cold L2 the kernel cannot do is said, not ignored', async (t) => {
  const a = capture();
  t.is(await main(['tune', '--problem', problem, '--kernel', 'emulated', '--buckets', '2,4', '--l2', 'cold', ...quick], a.io), 0, a.err.join('\n'));
  const text = a.out.join('\n');
  t.regex(text, /^phases: generate \d+\.\d s \(3\), reference \d+\.\d s waited \(2 computed in \d+\.\d s, \d+\.\d s hidden behind the kernel's runs\), prepare \d+\.\d s \(2\), verify_runs \d+\.\d s \(\d+\), digests \d+\.\d s \(\d+\), judge \d+\.\d s \(\d+\), timing \d+\.\d s \(\d+\), release \d+\.\d s \(2\), other \d+\.\d s; references ahead$/m);
  t.regex(text, /^timed with: L2 warm, stream launches; NOTE: cold L2 was requested but kernel emulated does not support L2 flushes between runs: timed with a WARM L2$/m);
  t.regex(a.err.join('\n'), /warning: cold L2 was requested/);
  const b = capture();
  t.is(await main(['tune', '--problem', problem, '--kernel', 'emulated', '--buckets', '4', '--l2', 'hot', ...quick], b.io), 2);
  t.regex(b.err.join('\n'), /--l2/);
});

test.serial('under MOE_HARNESS_REQUIRE_GPU=1 a timing mode the kernel cannot do is refused (exit 2 naming --l2), not reported', async (t) => {
  const before = process.env.MOE_HARNESS_REQUIRE_GPU;
  process.env.MOE_HARNESS_REQUIRE_GPU = '1';
  try {
    const a = capture();
    t.is(await main(['tune', '--problem', problem, '--kernel', 'emulated', '--buckets', '4', '--l2', 'cold', ...quick], a.io), 2, a.err.join('\n'));
    t.regex(a.err.join('\n'), /--l2: expected a kernel whose provider supports cold-L2 flushes \(MOE_HARNESS_REQUIRE_GPU=1 refuses timing without it\), got emulated, which reports cold-L2 flushes unsupported/);
  } finally {
    if (before === undefined) delete process.env.MOE_HARNESS_REQUIRE_GPU;
    else process.env.MOE_HARNESS_REQUIRE_GPU = before;
  }
});
