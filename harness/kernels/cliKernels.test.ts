/**
 * The CLI's kernel options end to end: `moe-harness kernels`, `check --kernel cmd:"…"`,
 * `check --kernel-config FILE` (conventions overriding the adapter's own), bad specs (exit 2).
 * The cmd tests need python3 + numpy (policy of process.test.ts).
 */
import test from 'ava';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { main } from '../cli.js';
import { pythonAvailability } from './pythonAvailability.js';
import { testProblem } from '../../reference/testing/testProblem.js';

function io(): { out: string[]; err: string[]; io: { out: (s: string) => void; err: (s: string) => void } } {
  const out: string[] = [];
  const err: string[] = [];
  return { out, err, io: { out: (s) => out.push(s), err: (s) => err.push(s) } };
}
const tmp = (): string => mkdtempSync(join(tmpdir(), 'moe-harness-kernels-'));
const REQUIRE = process.env.CI === 'true' || process.env.MOE_HARNESS_REQUIRE_PYTHON === '1';

test('moe-harness kernels lists every kind with availability and reasons', async (t) => {
  const c = io();
  t.is(await main(['kernels'], c.io), 0);
  const text = c.out.join('\n');
  t.regex(text, /^native +(available|NOT available): /m);
  t.regex(text, /^emulated +available: always \(CPU\)/m);
  t.regex(text, /^cmd:… +available: spawns the command/m);
});

test('bad kernel options exit 2 naming the option', async (t) => {
  for (const [argv, re] of [
    [['check', '--kernel', 'gpu'], /--kernel: expected native \| emulated \| cmd:COMMAND \| lib:PATH, got "gpu"/],
    [['check', '--kernel-config', '/nonexistent.json'], /--kernel-config: expected a readable JSON file/],
    [['check', '--kernel', 'emulated', '--kernel-config', 'x.json'], /--kernel \/ --kernel-config: expected one of them, got both/],
  ] as const) {
    const c = io();
    t.is(await main([...argv], c.io), 2, argv.join(' '));
    t.regex(c.err.join('\n'), re);
  }
});

if (!pythonAvailability().numpy && !REQUIRE) {
  test.skip('check --kernel cmd:… — SKIPPED, python3 with numpy is not available', () => undefined);
} else {
  test('check --kernel cmd:"python3 adapters/python/numpy_adapter.py" passes and names the kernel in replay lines', async (t) => {
    const c = io();
    const code = await main(['check', '--kernel', 'cmd:python3 adapters/python/numpy_adapter.py', '--runs', '3', '--routing', 'renormalize', '--quiet', '--report', tmp()], c.io);
    t.is(code, 0, c.out.join('\n') + c.err.join('\n'));
    t.regex(c.err.join('\n'), /kernel cmd:python3 adapters\/python\/numpy_adapter\.py, 3 cases, seed \d+, isolation inline/);
    t.regex(c.out.join('\n'), /passed 9, incorrect 0/);
  });

  test('check --kernel-config: conventions in the file replace the adapter\'s declaration (bf16 FC1 activation judged under the default fails, with a replay naming the file)', async (t) => {
    const d = tmp();
    const file = join(d, 'k.json');
    writeFileSync(file, JSON.stringify({ name: 'numpy-fc1act-undeclared', kind: 'cmd', command: 'python3 adapters/python/numpy_adapter.py --fc1-activation bf16', conventions: {} }));
    const c = io();
    const code = await main(['check', '--kernel-config', file, '--runs', '2', '--routing', 'renormalize', '--quant', 'nvfp4', '--quiet', '--report', join(d, 'r')], c.io);
    t.is(code, 1, c.out.join('\n'));
    t.regex(c.out.join('\n'), /numpy-fc1act-undeclared: 2 cases, 6 \(case, tactic\) records: passed 0, incorrect 6/);
    t.regex(c.out.join('\n'), /replay: .*--kernel-config .*k\.json/);
  });
}

if (pythonAvailability().numpy || REQUIRE) {
  test('replay of an out-of-process kernel\'s record works with its own tactic label', async (t) => {
    const spec = {
      problem: testProblem({ T: 5 }),
      seed: 3, logitFamily: 'normal', scaleFamily: 'normal',
    };
    const c = io();
    const code = await main(['replay', '--case', JSON.stringify(spec), '--tactic', 'ksplit4-rev', '--kernel', 'cmd:python3 adapters/python/numpy_adapter.py'], c.io);
    t.is(code, 0, c.out.join('\n') + c.err.join('\n'));
    t.deepEqual(c.out.filter((l) => l.startsWith('tactic ')).map((l) => l.split(':')[0]), ['tactic ksplit4-rev']);
  });
}
