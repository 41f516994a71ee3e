import test from 'ava';
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { caseMix } from './caseMix.js';
import { EXIT_CODES, exitCodeOf, main } from './cli.js';
import { gpuAvailability } from './gpuAvailability.js';
import { projectRoot } from './childEntry.js';
import type { Disposition } from './verdict.js';

function io(): { out: string[]; err: string[]; io: { out: (s: string) => void; err: (s: string) => void } } {
  const out: string[] = [];
  const err: string[] = [];
  return { out, err, io: { out: (s) => out.push(s), err: (s) => err.push(s) } };
}

const tmp = (): string => mkdtempSync(join(tmpdir(), 'moe-harness-cli-'));

test('bad arguments exit 2 naming the option, the expected and the actual value', async (t) => {
  const cases: Array<[string[], RegExp]> = [
    [['check', '--runs', 'x'], /--runs: expected an integer >= 1, got "x"/],
    [['check', '--runs', '0'], /--runs: expected an integer >= 1, got "0"/],
    [['check', '--bogus'], /option: expected one of --kernel, .*got "--bogus"/],
    [['check', '--fault', 'nope'], /--fault: expected one of dropped_last_partial_tile, .*got "nope"/],
    [['check', '--routing', 'renormalize,nope'], /--routing: expected values from default, renormalize, .*got "nope"/],
    [['check', '--tactic', '32-2'], /--tactic: expected tactic labels "tileTokens\/config".*got "32-2"/],
    [['check', '--kernel'], /--kernel: expected a value/],
    [['replay', '--case', '{"problem":1}'], /spec\.problem: expected a Problem object/],
    [['tactics', '--config', 'gpt-5'], /--config: expected one of deepseek-v3, .*got "gpt-5"/],
    [["frobnicate"], /command: expected check, replay, tactics, merge, tune, kernels, help or --version, got "frobnicate"/],
  ];
  for (const [argv, re] of cases) {
    const c = io();
    t.is(await main(argv, c.io), 2, argv.join(' '));
    t.regex(c.err.join('\n'), re, argv.join(' '));
  }
});

test('tactics lists the emulated kernel\'s tactics for a named configuration', async (t) => {
  const c = io();
  t.is(await main(['tactics', '--config', 'mixtral-8x7b', '--T', '3', '--kernel', 'emulated'], c.io), 0);
  t.regex(c.out[0]!, /^emulated · mixtral-8x7b T=3 H=4096 I=14336 E=8 k=2 renormalize_naive nvfp4: 6 tactics$/);
  t.deepEqual(c.out.slice(1).map((s) => s.trim()), ['8/0', '8/1', '8/2', '16/0', '16/1', '16/2']);
});

test('check runs a campaign, prints the per-tactic table and writes report.json and report.html', async (t) => {
  const dir = tmp();
  const c = io();
  const code = await main(['check', '--kernel', 'emulated', '--runs', '2', '--seed', '5', '--isolation', 'inline', '--quiet', '--report', dir], c.io);
  t.is(code, 0, c.out.join('\n'));
  t.regex(c.out[0]!.split("\n")[0]!, /^tactic\s+cases\s+passed\s+incorrect\s+crashed\s+not_supp\s+worst\/bound\s+time ms$/);
  const report = JSON.parse(readFileSync(join(dir, 'report.json'), 'utf8')) as { totals: { passed: number }; records: unknown[]; tactics: unknown[] };
  t.true(report.records.length > 0);
  t.is(report.totals.passed, report.records.length);
  const html = readFileSync(join(dir, 'report.html'), 'utf8');
  t.regex(html, /<svg[^>]*aria-label="tactic 8\/0"/);
});

test('check exits 1 and prints findings with a replay command when a fault is switched on', async (t) => {
  const c = io();
  const code = await main(['check', '--kernel', 'emulated', '--fault', 'last_row_unwritten', '--runs', '1', '--isolation', 'inline', '--quiet', '--report', tmp()], c.io);
  t.is(code, 1);
  const text = c.out.join('\n');
  t.regex(text, /INCORRECT: case 0 .* tactic 8\/0/);
  t.regex(text, /out\[t=\d+,h=\*\]=poison 0x7fa5/);
  t.regex(text, /replay: npx moe-harness replay --case '\{.*\}' --tactic 8\/0 --kernel emulated --fault last_row_unwritten/);
});

test('replay judges one case for one tactic', async (t) => {
  const spec = caseMix({ runs: 1, seed: 3 })[0]!;
  const bad = io();
  t.is(await main(['replay', '--case', JSON.stringify(spec), '--tactic', '8/0', '--kernel', 'emulated', '--fault', 'gate_up_swapped'], bad.io), 1);
  t.regex(bad.out[0]!, /^tactic 8\/0: incorrect \(worst [\d.e+]+× bound at out\[t=\d+,h=\d+\]\)$/);
  t.regex(bad.out[1]!, /^ {2}out\[t=\d+,h=\d+\]=.*tactic 8\/0; seed \d+\)$/);
  const good = io();
  t.is(await main(['replay', '--case', JSON.stringify(spec), '--kernel', 'emulated'], good.io), 0);
  t.true(good.out.length >= 2 && good.out.every((l) => /: passed/.test(l)));
});

test.serial('without a CUDA device a default check falls back to emulated with a notice; --kernel native is refused', async (t) => {
  if ((await gpuAvailability()).available) {
    t.log('a CUDA device is present: nothing to fall back from (the GPU suites test the native kernel)');
    t.pass();
    return;
  }
  const c = io();
  t.is(await main(['check', '--runs', '1', '--isolation', 'inline', '--quiet', '--report', join(tmp(), 'r')], c.io), 0);
  t.regex(c.err.join('\n'), /NOTICE: no usable CUDA device .*running the EMULATED kernel instead/);
  const explicit = io();
  t.is(await main(['replay', '--case', JSON.stringify(caseMix({ runs: 1, seed: 3 })[0]!), '--kernel', 'native'], explicit.io), 2);
  t.regex(explicit.err.join('\n'), /--kernel: expected emulated, or native on a machine with a usable CUDA device, got native \(/);
});

test.serial('MOE_HARNESS_REQUIRE_GPU=1: a check without a usable CUDA device fails (exit 2) instead of falling back', async (t) => {
  if ((await gpuAvailability()).available) {
    t.log('a CUDA device is present: nothing to refuse');
    t.pass();
    return;
  }
  const before = process.env.MOE_HARNESS_REQUIRE_GPU;
  process.env.MOE_HARNESS_REQUIRE_GPU = '1';
  try {
    const dir = join(tmp(), 'r');
    const c = io();
    t.is(await main(['check', '--runs', '1', '--isolation', 'inline', '--quiet', '--report', dir], c.io), 2);
    t.regex(c.err.join('\n'), /MOE_HARNESS_REQUIRE_GPU: expected a usable CUDA device for the native kernel .*got 1, but there is none \(/);
    t.notRegex(c.err.join('\n'), /EMULATED/);
    t.false(existsSync(dir), 'nothing ran, no report folder');
    // An explicit emulated kernel is no fallback: it still runs.
    t.is(await main(['tactics', '--config', 'mixtral-8x7b', '--T', '3', '--kernel', 'emulated'], io().io), 0);
  } finally {
    if (before === undefined) delete process.env.MOE_HARNESS_REQUIRE_GPU;
    else process.env.MOE_HARNESS_REQUIRE_GPU = before;
  }
});

test('tactics without a CUDA device shows the native kernel\'s table (it needs no GPU) and says so', async (t) => {
  const gpu = await gpuAvailability();
  const c = io();
  t.is(await main(['tactics', '--config', 'mixtral-8x7b', '--T', '3'], c.io), 0);
  t.regex(c.out[0]!, /^native · mixtral-8x7b T=3 .*: (\d+) tactics$/);
  const n = Number(/: (\d+) tactics$/.exec(c.out[0]!)![1]);
  t.is(c.out.length, n + 1);
  t.true(n > 6, 'the native table, not the emulated one (6 tactics here)');
  if (!gpu.available) t.regex(c.err.join('\n'), /no usable CUDA device .*the native kernel's tactic table, which needs none \(nothing was run\)/);
  t.notRegex(c.err.join('\n'), /EMULATED/);
});

test('the npx entry bin/moe-harness.js runs the CLI', (t) => {
  const r = spawnSync(process.execPath, [join(projectRoot(), 'bin', 'moe-harness.js'), 'tactics', '--config', 'llama4-maverick', '--T', '2', '--kernel', 'emulated'], { encoding: 'utf8' });
  t.is(r.status, 0, r.stderr);
  t.regex(r.stdout, /^emulated · llama4-maverick T=2 .*: \d+ tactics/);
});

test('bad input of every kind is exit 2 naming the option, and nothing runs', async (t) => {
  const missing = join(tmp(), 'missing.json');
  const cases: Array<[string[], RegExp]> = [
    [['replay', '--case', `@${missing}`], /--case: expected a CaseSpec as JSON, or @FILE naming a readable file, got ".*missing\.json" \(ENOENT\)/],
    [['check', '--kernel', 'emulated', '--tactic', '7/9'], /--tactic: expected patterns matching tactics emulated enumerates for these \d+ problems: 8\/0 .*, got "7\/9"/],
    [['check', '--kernel', 'emulated', '--tactic', '8/0,7/*'], /--tactic: expected patterns matching tactics .*got "7\/\*"/],
    [['replay', '--kernel', 'emulated', '--case', JSON.stringify(caseMix({ runs: 1, seed: 3 })[0]!), '--tactic', '*/9'], /--tactic: expected patterns matching tactics emulated enumerates for this problem: .*got "\*\/9"/],
    [['check', 'stray'], /argument: expected only --options after "check" \(no positional words\), got "stray"/],
    [['check', '--kernel', 'emulated', '--', 'x'], /argument: expected only --options after "check".*got "x"/],
    [['check', '--kernel', 'emulated', '--H', '100'], /^moe-harness: --H: expected a multiple of 16 .*got 100/],
    [['check', '--kernel', 'emulated', '--config', 'mixtral-8x7b', '--T', '0'], /--T: expected an integer >= 1, got "0"/],
    [['check', '--timeout', '3000000'], /--timeout: expected an integer in \[1, 2147483\], got "3000000"/],
    [['check', '--runs', '1', '--runs', '2'], /--runs: expected at most once/],
    [['check', '--quiet=yes'], /--quiet: expected no value \(a flag\)/],
    [['check', '--runs', '--quiet'], /--runs: expected a value/],
    [['check', '-x'], /option: expected one of --kernel, .*got "-x"/],
    [['tactics', '--H', '64'], /option: expected one of --kernel, .*\(options of tactics\), got "--H"/],
    [['--version', 'extra'], /argument: expected nothing after --version, got "extra"/],
  ];
  for (const [argv, re] of cases) {
    const c = io();
    t.is(await main(argv, c.io), 2, argv.join(' '));
    t.regex(c.err.join('\n'), re, argv.join(' '));
    t.deepEqual(c.out, [], `${argv.join(' ')}: nothing ran`);
  }
});

test('-h, --help, COMMAND --help and --version print and exit 0 without running anything; help lists every exit code', async (t) => {
  for (const argv of [['-h'], ['--help'], ['help']]) {
    const c = io();
    t.is(await main(argv, c.io), 0);
    t.regex(c.out.join('\n'), /^moe-harness: validate/);
  }
  for (const command of ['check', 'replay', 'tactics']) {
    for (const h of ['--help', '-h']) {
      const c = io();
      t.is(await main([command, h], c.io), 0, `${command} ${h}`);
      const text = c.out.join('\n');
      t.regex(text, new RegExp(`^usage: moe-harness ${command}`));
      for (const [code] of EXIT_CODES) t.regex(text, new RegExp(`^ +${code}  `, 'm'), `${command} help lists exit ${code}`);
    }
  }
  const check = io();
  await main(['check', '--help'], check.io);
  t.regex(check.out.join('\n'), /--resume /);
  t.notRegex(check.out.join('\n'), /--case /, 'check --help lists only check\'s options');
  const v = io();
  t.is(await main(['--version'], v.io), 0);
  const pkg = JSON.parse(readFileSync(join(projectRoot(), 'package.json'), 'utf8')) as { version: string };
  t.deepEqual(v.out, [`moe-harness ${pkg.version}`]);
  const none = io();
  t.is(await main([], none.io), 2, 'no command: usage on stderr, exit 2');
  t.regex(none.err.join('\n'), /^moe-harness: validate/);
});

test('--report pointing at an existing file, a non-empty folder or an unwritable place is refused before anything runs', async (t) => {
  const base = tmp();
  const file = join(base, 'a-file');
  writeFileSync(file, 'keep me');
  const full = join(base, 'full');
  mkdirSync(full);
  writeFileSync(join(full, 'report.json'), '{}');
  const locked = join(base, 'locked');
  mkdirSync(locked);
  chmodSync(locked, 0o500);
  const cases: Array<[string, RegExp]> = [
    [file, /--report: expected a new or empty folder for the report, got ".*a-file", an existing file/],
    [full, /--report: expected a new or empty folder .*--resume DIR.*got ".*full", a folder holding report\.json/],
    [join(file, 'sub'), /--report: expected a folder that can be created and written, got ".*a-file\/sub" \(ENOTDIR\)/],
  ];
  if (process.getuid?.() !== 0) cases.push([join(locked, 'sub'), /--report: expected a folder that can be created and written, got ".*locked\/sub" \(EACCES\)/]);
  for (const gen of ['mix', 'property']) {
    for (const [dir, re] of cases) {
      const c = io();
      const started = performance.now();
      t.is(await main(['check', '--kernel', 'emulated', '--generator', gen, '--runs', '2', '--isolation', 'inline', '--quiet', '--report', dir], c.io), 2, dir);
      t.regex(c.err.join('\n'), re);
      t.deepEqual(c.out, [], 'nothing ran');
      t.true(performance.now() - started < 5000);
    }
  }
  t.is(readFileSync(file, 'utf8'), 'keep me');
  chmodSync(locked, 0o700);
  // An existing empty folder is fine.
  const empty = join(base, 'empty');
  mkdirSync(empty);
  t.is(await main(['check', '--kernel', 'emulated', '--runs', '1', '--isolation', 'inline', '--quiet', '--report', empty], io().io), 0);
  t.true(existsSync(join(empty, 'report.json')) && existsSync(join(empty, 'records.jsonl')) && existsSync(join(empty, 'invocation.json')));
});

test('the exit code of finished records: kernel failures first, then harness errors (70), then not supported (3)', (t) => {
  const r = (disposition: Disposition): { disposition: Disposition } => ({ disposition });
  t.is(exitCodeOf([r('passed')]), 0);
  t.is(exitCodeOf([r('passed'), r('not_supported')]), 3);
  t.is(exitCodeOf([r('passed'), r('error')]), 70);
  t.is(exitCodeOf([r('not_supported'), r('error')]), 70);
  t.is(exitCodeOf([r('error'), r('incorrect')]), 1);
  t.is(exitCodeOf([r('error'), r('crashed')]), 1);
  t.deepEqual(EXIT_CODES.map(([c]) => c), [0, 1, 2, 3, 70, 130, 143]);
});
