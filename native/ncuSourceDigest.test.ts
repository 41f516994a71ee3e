import test from 'ava';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

// native/bench/ncu_source_digest.py turns an ncu source page (megabytes of CSV, one row per SASS
// instruction) into the figures a device call brings back: stall reasons, opcode mix, hottest
// lines, the most executed instruction forms. Checked here on a small page made by hand.
const python = process.env.MOE_HARNESS_PYTHON ?? 'python3';
const script = 'native/bench/ncu_source_digest.py';
const dir = mkdtempSync(join(tmpdir(), 'ncu-digest-'));
const run = (...args: string[]) => spawnSync(python, [script, ...args], { encoding: 'utf8', timeout: 30_000 });

const header = ['Address', 'Source', 'Warp Stall Sampling (All Samples)', 'Instructions Executed', 'stall_long_sb', 'stall_no_inst', 'stall_long_sb (Not Issued)'];
const rows = [
  ['0x10', 'IMAD.U32 R29, RZ, RZ, UR15', '30', '600', '0', '30', '0'],
  ['0x20', 'PRMT R3, R29, R4, 0x40404040', '10', '300', '10', '0', '7'],
  ['0x30', '@P0 BRA 0x80', '60', '100', '45', '15', '0'],
];
const page = [`"Kernel Name","void k<1>(P)",`, header.map((h) => `"${h}"`).join(','), ...rows.map((r) => r.map((c) => `"${c}"`).join(','))].join('\n');

test('a source page: totals, stall shares, opcode shares, hottest lines and forms', (t) => {
  const f = join(dir, 'page.csv');
  writeFileSync(f, page);
  const r = run(f, '--top', '2');
  t.is(r.status, 0, r.stderr);
  t.true(r.stdout.includes('kernel: void k<1>(P)'), r.stdout);
  t.true(r.stdout.includes('samples 100, executed warp instructions 1,000, SASS instructions 3'), r.stdout);
  // long_sb 55 of 100 samples, no_inst 45; the "(Not Issued)" column is not counted again
  t.true(r.stdout.includes('stalls %: long_sb 55.0, no_inst 45.0'), r.stdout);
  t.true(r.stdout.includes('opcodes %: IMAD 60.0, PRMT 30.0, BRA 10.0'), r.stdout);
  const hot = r.stdout.split('\n').filter((l) => /^\s+\d+\s{2}/.test(l));
  t.is(hot.length, 2, r.stdout);
  t.regex(hot[0], /^\s+60\s+@P0 BRA 0x80\s+long_sb 45, no_inst 15$/);
  t.true(r.stdout.includes('0.00  IMAD.U32 R, RZ, RZ, UR'), r.stdout);
  const forms = r.stdout.slice(r.stdout.indexOf('forms of'));
  t.false(forms.includes('BRA'), `BRA is not among the default forms:\n${forms}`);
  t.true(forms.includes('PRMT R, R, R, 0x40404040'), forms);
});

test('not a source page, a bad option: exit 2 with a message naming it', (t) => {
  const f = join(dir, 'other.csv');
  writeFileSync(f, '"a","b"\n"1","2"\n');
  const r = run(f);
  t.is(r.status, 2);
  t.regex(r.stderr, /no header with 'Source' and 'Instructions Executed'/);
  const o = run(f, '--top', 'x');
  t.is(o.status, 2);
  t.regex(o.stderr, /--top: expected a positive integer, got x/);
  const m = run(join(dir, 'missing.csv'));
  t.is(m.status, 2);
  t.regex(m.stderr, /cannot read/);
});
