import test from 'ava';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { caseMix } from './caseMix.js';
import { main } from './cli.js';
import { gpuAvailability } from './gpuAvailability.js';
import { projectRoot } from './childEntry.js';

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
    [['frobnicate'], /command: expected check, replay, tactics, tune, kernels or help, got "frobnicate"/],
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

test('without a CUDA device the default kernel falls back to emulated with a notice', async (t) => {
  if ((await gpuAvailability()).available) {
    t.pass('a CUDA device is present: nothing to fall back from');
    return;
  }
  const c = io();
  t.is(await main(['tactics', '--config', 'qwen3-30b-a3b', '--T', '5'], c.io), 0);
  t.regex(c.err.join('\n'), /NOTICE: no usable CUDA device .*running the EMULATED kernel instead/);
  const explicit = io();
  t.is(await main(['tactics', '--config', 'qwen3-30b-a3b', '--T', '5', '--kernel', 'native'], explicit.io), 2);
  t.regex(explicit.err.join('\n'), /--kernel: expected emulated, or native on a machine with a usable CUDA device, got native \(/);
});

test('the npx entry bin/moe-harness.js runs the CLI', (t) => {
  const r = spawnSync(process.execPath, [join(projectRoot(), 'bin', 'moe-harness.js'), 'tactics', '--config', 'llama4-maverick', '--T', '2', '--kernel', 'emulated'], { encoding: 'utf8' });
  t.is(r.status, 0, r.stderr);
  t.regex(r.stdout, /^emulated · llama4-maverick T=2 .*: \d+ tactics/);
});
