import test from 'ava';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BadArgumentError } from '../../reference/errors.js';
import { chooseKernel, parseKernelSpec, readKernelConfig } from './kernelSpec.js';
import { formatKernelListing, listKernels } from './listKernels.js';
import { kernelArgs, kernelLabel, runnerIsolation } from './select.js';

const dir = mkdtempSync(join(tmpdir(), 'kernelspec-'));
const file = (name: string, body: unknown): string => {
  const p = join(dir, name);
  writeFileSync(p, typeof body === 'string' ? body : JSON.stringify(body));
  return p;
};

test('parseKernelSpec: bare kinds, cmd:COMMAND, and bad specs naming --kernel with expected and actual', (t) => {
  t.deepEqual(parseKernelSpec('emulated'), { kind: 'emulated' });
  t.deepEqual(parseKernelSpec('cmd:python3 x.py --a "b c"'), { kind: 'cmd', command: 'python3 x.py --a "b c"' });
  for (const [spec, re] of [
    ["frob", /--kernel: expected native \| emulated \| cmd:COMMAND \| lib:PATH, got "frob"/],
    ['cmd:', /--kernel: expected cmd:COMMAND with a non-empty argument/],
    ['lib:', /--kernel: expected lib:PATH with a non-empty argument/],
    ['lib:/nonexistent/libx.so', /--kernel: expected lib:PATH naming an existing shared library, got lib:\/nonexistent\/libx\.so \(no such file\)/],
    ['lib', /--kernel: expected .*got "lib"/],
    ['emulated:x', /--kernel: expected .*got "emulated:x"/],
    ['cmd', /--kernel: expected .*got "cmd"/],
  ] as const) {
    const e = t.throws(() => parseKernelSpec(spec), { instanceOf: BadArgumentError });
    t.regex(e.message, re, spec);
  }
  t.throws(() => parseKernelSpec('cmd:python3 x.py', 'gate_up_swapped'), { message: /--fault: expected a kernel kind with the fault catalog/ });
  t.throws(() => parseKernelSpec('lib:package.json', 'gate_up_swapped'), { message: /--fault: expected a kernel kind with the fault catalog \(native, emulated\)/ });
  // lib:PATH and cmd:COMMAND are parsed here only (select.ts's registry); kernelArgument is the inverse.
  t.deepEqual(parseKernelSpec('lib:package.json'), { kind: 'lib', library: 'package.json' });
  t.is(kernelArgs(parseKernelSpec('lib:package.json')), '--kernel lib:package.json');
});

test('readKernelConfig: every field, conventions parsed; unknown fields, kinds, points and values refused naming file and field', (t) => {
  const ok = readKernelConfig(file('ok.json', {
    name: 'mine', kind: 'cmd', command: 'python3 a.py', conventions: { fc1Output: 'bf16' }, env: { A: '1' }, timeoutS: 5,
  }));
  t.is(ok.name, 'mine');
  t.is(ok.command, 'python3 a.py');
  t.is(ok.conventions?.fc1Output, 'bf16');
  t.is(ok.conventions?.fc2Output, 'float32');
  t.deepEqual(ok.env, { A: '1' });
  t.is(ok.timeoutS, 5);
  t.regex(kernelArgs(ok), /^--kernel-config .*ok\.json$/);
  t.is(kernelLabel(ok), 'mine');
  for (const [name, body, re] of [
    ['extra.json', { kind: 'cmd', command: 'x', colour: 'red' }, /extra\.json: colour: expected a known field/],
    ['kind.json', { kind: 'gpu', command: 'x' }, /kind\.json: kind: expected one of native, emulated, cmd/],
    ['point.json', { kind: 'cmd', command: 'x', conventions: { fc3: 'bf16' } }, /conventions\.fc3: expected a convention point/],
    ['value.json', { kind: 'cmd', command: 'x', conventions: { fc1Output: 'fp8' } }, /conventions\.fc1Output: expected one of float32, bf16, got "fp8"/],
    ['nocmd.json', { kind: 'cmd' }, /nocmd\.json: kernel: expected cmd:COMMAND with a non-empty argument/],
    ['nolib.json', { kind: 'lib', library: '/nonexistent/libx.so' }, /nolib\.json: --kernel: expected lib:PATH naming an existing shared library/],
    ['path.json', { kind: 'lib', path: 'x.so' }, /path\.json: path: expected a known field \(name, kind, command, library,/],
    ['env.json', { kind: 'cmd', command: 'x', env: { A: 1 } }, /env: expected an object of string values/],
    ['json.json', '{not json', /--kernel-config: expected a readable JSON file/],
  ] as const) {
    const e = t.throws(() => readKernelConfig(file(name, body)), { instanceOf: BadArgumentError });
    t.regex(e.message, re, name);
  }
});

test('chooseKernel: --kernel and --kernel-config are exclusive; cmd needs no device; kernelArgs round-trips', async (t) => {
  await t.throwsAsync(chooseKernel({ kernel: 'emulated', kernelConfig: 'x.json' }), { message: /--kernel \/ --kernel-config: expected one of them, got both/ });
  const { choice, notice } = await chooseKernel({ kernel: 'cmd:python3 adapters/python/numpy_adapter.py' });
  t.is(notice, undefined);
  t.is(choice.kind, 'cmd');
  t.is(kernelArgs(choice), "--kernel 'cmd:python3 adapters/python/numpy_adapter.py'");
  t.is(runnerIsolation(choice, 'child'), 'inline', 'the process door isolates itself');
  t.is(runnerIsolation({ kind: 'emulated' }, 'child'), 'child');
  t.is(runnerIsolation({ kind: 'lib', library: 'x.so' }, 'child'), 'child');
  t.throws(() => runnerIsolation({ kind: 'lib', library: 'x.so' }, 'inline'), { message: /--isolation: expected child with --kernel lib:…/ });
  const lib = readKernelConfig(file('lib.json', { kind: 'lib', library: 'package.json', env: { A: 'b c' } }));
  t.is(lib.library, 'package.json');
  t.deepEqual(lib.env, { A: 'b c' });
});

test('listKernels: every registry kind, with availability and a reason', async (t) => {
  const list = await listKernels();
  t.deepEqual(list.map((l) => l.form), ['native', 'emulated', 'cmd:…', 'lib:…']);
  t.true(list.find((l) => l.kind === 'emulated')!.available);
  for (const l of list) t.true(l.detail.length > 0, l.kind);
  const lines = formatKernelListing(list);
  t.is(lines.length, 2 * list.length);
});

test('chooseKernel: without a usable CUDA device the default native falls back with a notice, or is refused under fallback refuse (MOE_HARNESS_REQUIRE_GPU=1)', async (t) => {
  const { gpuAvailability } = await import('../gpuAvailability.js');
  const gpu = await gpuAvailability();
  if (gpu.available) {
    t.is((await chooseKernel({ fallback: 'refuse' })).choice.kind, 'native');
    return;
  }
  const r = await chooseKernel({});
  t.is(r.choice.kind, 'emulated');
  t.regex(r.notice ?? '', /^NOTICE: no usable CUDA device/);
  await t.throwsAsync(chooseKernel({ fallback: 'refuse' }), { message: /^MOE_HARNESS_REQUIRE_GPU: expected a usable CUDA device for the native kernel .*, got 1, but there is none/ });
  await t.throwsAsync(chooseKernel({ kernel: 'native' }), { message: /^--kernel: expected emulated, or native on a machine with a usable CUDA device/ });
  t.is((await chooseKernel({ kernel: 'emulated', fallback: 'refuse' })).choice.kind, 'emulated', 'an explicit emulated kernel is no fallback');
});
