import test from 'ava';
import { BadArgumentError } from './errors.js';
import { DEFAULT_FAST_PATH_OPTIONS, resolveFastPathOptions } from './fastpath/fastPathOptions.js';
import { memoryBytesFrom, referenceEnvironment } from './referenceEnvironment.js';
import { configProblem } from './configs.js';
import { generateCase } from './generate.js';
import { runReference, shutdownReference } from './moe.js';

test.after.always(() => shutdownReference());

test('referenceEnvironment: unset or empty variables give the defaults', (t) => {
  t.deepEqual(referenceEnvironment({}), { fastPath: DEFAULT_FAST_PATH_OPTIONS, memoryBytes: undefined });
  t.deepEqual(referenceEnvironment({ MOE_REFERENCE_ABSACCUM: '', MOE_HARNESS_MEMORY_BYTES: '' }).fastPath, DEFAULT_FAST_PATH_OPTIONS);
});

test('referenceEnvironment: each variable sets its typed option', (t) => {
  const e = referenceEnvironment({
    MOE_REFERENCE_SLOT_MEMORY: 'sab', MOE_REFERENCE_ABSACCUM: 'gemm', MOE_REFERENCE_CHUNK_BYTES: '1048576', MOE_HARNESS_MEMORY_BYTES: '4096',
  });
  t.deepEqual(e, { fastPath: { slotMemory: 'sab', absAccum: 'gemm', chunkBytes: 1048576 }, memoryBytes: 4096 });
});

test('referenceEnvironment: a bad value is a BadArgumentError naming the variable, the expected and the actual value', (t) => {
  const cases: [Record<string, string>, string, RegExp][] = [
    [{ MOE_REFERENCE_SLOT_MEMORY: 'shared' }, 'MOE_REFERENCE_SLOT_MEMORY', /^MOE_REFERENCE_SLOT_MEMORY: expected 'wasm' or 'sab', got .*shared/],
    [{ MOE_REFERENCE_ABSACCUM: 'GEMM' }, 'MOE_REFERENCE_ABSACCUM', /^MOE_REFERENCE_ABSACCUM: expected 'blocks' or 'gemm', got .*GEMM/],
    [{ MOE_REFERENCE_CHUNK_BYTES: '4MiB' }, 'MOE_REFERENCE_CHUNK_BYTES', /^MOE_REFERENCE_CHUNK_BYTES: expected an integer number of bytes >= 1024, got .*4MiB/],
    [{ MOE_REFERENCE_CHUNK_BYTES: '16' }, 'MOE_REFERENCE_CHUNK_BYTES', /got 16$/],
    [{ MOE_HARNESS_MEMORY_BYTES: 'lots' }, 'MOE_HARNESS_MEMORY_BYTES', /^MOE_HARNESS_MEMORY_BYTES: expected a positive integer number of bytes, got "lots"/],
  ];
  for (const [env, variable, message] of cases) {
    const e = t.throws(() => referenceEnvironment(env), { instanceOf: BadArgumentError });
    t.is((e as BadArgumentError).argument, variable);
    t.regex(e!.message, message);
  }
  t.throws(() => memoryBytesFrom({ MOE_HARNESS_MEMORY_BYTES: '0' }), { instanceOf: BadArgumentError });
});

test('resolveFastPathOptions: the caller\'s options over the base, each checked by name', (t) => {
  const base = { ...DEFAULT_FAST_PATH_OPTIONS, absAccum: 'gemm' as const };
  t.is(resolveFastPathOptions(undefined, base), base);
  t.deepEqual(resolveFastPathOptions({ slotMemory: 'sab' }, base), { ...base, slotMemory: 'sab' });
  for (const [given, argument] of [
    [{ absAccum: true }, 'opts.fastPath.absAccum'],
    [{ chunkBytes: 1.5e6 + 0.5 }, 'opts.fastPath.chunkBytes'],
    [{ chunkSize: 4096 }, 'opts.fastPath.chunkSize'],
    ['sab', 'opts.fastPath'],
  ] as const) {
    const e = t.throws(() => resolveFastPathOptions(given), { instanceOf: BadArgumentError });
    t.is((e as BadArgumentError).argument, argument);
  }
});

test.serial('runReference: the environment reaches the fast path through referenceEnvironment only; a bad variable is refused, a bad opts.fastPath too', async (t) => {
  const problem = configProblem('qwen3-30b-a3b', 4, { E: 4, localExperts: 4, H: 64, I: 32, topK: 2 });
  const c = generateCase({ problem: { ...problem, quantMode: 'nvfp4' }, seed: 3, logitFamily: 'normal', scaleFamily: 'normal' });
  const want = await runReference(c, { threads: 1 });
  process.env.MOE_REFERENCE_ABSACCUM = 'bogus';
  try {
    const e = await t.throwsAsync(runReference(c, { threads: 1 }), { instanceOf: BadArgumentError });
    t.is((e as BadArgumentError).argument, 'MOE_REFERENCE_ABSACCUM');
    process.env.MOE_REFERENCE_ABSACCUM = 'gemm';
    process.env.MOE_REFERENCE_SLOT_MEMORY = 'sab';
    process.env.MOE_REFERENCE_CHUNK_BYTES = '4096';
    const got = await runReference(c, { threads: 1 });
    t.deepEqual(Buffer.from(got.outputF32.buffer), Buffer.from(want.outputF32.buffer), 'every setting gives the same outputs');
    t.deepEqual(Buffer.from(got.outputBf16.buffer), Buffer.from(want.outputBf16.buffer));
  } finally {
    delete process.env.MOE_REFERENCE_ABSACCUM;
    delete process.env.MOE_REFERENCE_SLOT_MEMORY;
    delete process.env.MOE_REFERENCE_CHUNK_BYTES;
  }
  const bad = await t.throwsAsync(runReference(c, { threads: 1, fastPath: { slotMemory: 'heap' as 'sab' } }), { instanceOf: BadArgumentError });
  t.is((bad as BadArgumentError).argument, 'opts.fastPath.slotMemory');
});
