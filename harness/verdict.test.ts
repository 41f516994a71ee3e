import test from 'ava';
import { describeCounts, dispositionOf, fmtNum, formatFinding, ratioBin, withinBoundBin, zeroCounts } from './verdict.js';

test('numbers print with 6 significant digits, NaN and Inf spelled out', (t) => {
  t.is(fmtNum(0.512), '0.512');
  t.is(fmtNum(0.00400000001), '0.004');
  t.is(fmtNum(123456789), '1.23457e+8');
  t.is(fmtNum(1e-7), '1e-7');
  t.is(fmtNum(NaN), 'NaN');
  t.is(fmtNum(-Infinity), '-Inf');
  t.is(fmtNum(-0), '-0');
});

test('a finding formats in the one grammar, with fast-check provenance when present', (t) => {
  const f = { kind: 'beyond_bound' as const, where: 'out[t=3,h=17]', observed: '0.512', reference: '0.498', detail: 'bound 0.004' };
  t.is(formatFinding(f, { tactic: '32/2', seed: 91 }), 'out[t=3,h=17]=0.512, reference 0.498 (bound 0.004; tactic 32/2; seed 91)');
  t.is(formatFinding(f, { tactic: '32/2', seed: 91, fcSeed: 5, fcPath: '3:0' }),
    'out[t=3,h=17]=0.512, reference 0.498 (bound 0.004; tactic 32/2; seed 91; fc-seed 5; path "3:0")');
});

test('dispositions: flips alone pass, any other discrepancy or refusal is incorrect, a crash is crashed', (t) => {
  const c = zeroCounts();
  t.is(dispositionOf(c, []), 'passed');
  c.flip_explained = 3;
  t.is(dispositionOf(c, []), 'passed');
  t.is(dispositionOf(c, [{ kind: 'flip_budget', where: 'rows', observed: '', reference: '', detail: '' }]), 'incorrect');
  c.poison = 1;
  t.is(dispositionOf(c, []), 'incorrect');
  t.is(dispositionOf(zeroCounts(), [{ kind: 'crash', where: 'tactic', observed: '', reference: '', detail: '' }]), 'crashed');
  t.is(describeCounts(c), 'poison 1, flip_explained 3');
});

test('ratio bins: exact, powers of two up to the bound, flip, beyond', (t) => {
  t.is(ratioBin(0, 'bound'), 0);
  t.is(ratioBin(0.001, 'bound'), 1);
  t.is(ratioBin(0.3, 'bound'), 5);
  t.is(ratioBin(1, 'bound'), 6);
  t.is(ratioBin(5, 'flip'), 7);
  t.is(ratioBin(1.01, 'bound'), 8);
  t.is(ratioBin(NaN, 'bound'), 8);
});

test('withinBoundBin is ratioBin(·, \'bound\') on [0, 1]: at, just below and just above every edge, and between', (t) => {
  const f = new Float64Array(1);
  const u = new BigUint64Array(f.buffer);
  const step = (x: number, d: 1n | -1n): number => { f[0] = x; u[0] = u[0]! + d; return f[0]!; };
  const values = [0, -0, 2 ** -1074, 1, 0.3, 0.001, 0.75];
  for (const e of [-8, -6, -4, -2, -1, 0]) values.push(2 ** e, step(2 ** e, -1n), step(2 ** e, 1n));
  for (let i = 0; i <= 1000; i++) values.push(i / 1000);
  let x = 12345; // a fixed linear congruential sequence: reproducible ratios over 40 binades
  const next = (): number => (x = (Math.imul(x, 1103515245) + 12345) >>> 0) / 2 ** 32;
  for (let i = 0; i < 20000; i++) values.push(next() * 2 ** -Math.floor(next() * 40));
  values.push(2 ** -1022, 2 ** -1023, 2 ** -9, 2 ** -7, 2 ** -3, 2 ** -5, 1 - 2 ** -53);
  let wrong = values.filter((r) => r <= 1 && withinBoundBin(r) !== ratioBin(r, 'bound'));
  t.deepEqual(wrong, []);
  wrong = values.filter((r) => r <= 1 && withinBoundBin(-0 + r) !== ratioBin(r, 'bound'));
  t.deepEqual(wrong, []);
});
