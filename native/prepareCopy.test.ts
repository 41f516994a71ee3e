/**
 * prepare() copies every host buffer before its promise exists: whatever the caller does to
 * its buffers afterwards (resize a resizable ArrayBuffer to nothing, transfer it away, write
 * over it), the worker thread reads the bytes that were passed. Shown on CPU through the
 * addon's copiedInputsDigest probe, which runs prepare's own parse → validate → copy and
 * hashes the copy in a worker thread after a delay; the GPU path (the upload itself) is
 * covered by native/gpu.test.ts's input digests on a GPU host.
 */
import test from 'ava';
import { defaultTactic, inputsDigest, nativeBindingForTests, prepare, release, runMoe } from './index.js';
import { rawCase } from './rawArgs.js';
import { configProblem } from '../reference/configs.js';
import { generateCaseParallel } from '../reference/generate/parallel.js';
import { GPU_REQUIRED, addonLoadedOrSkip, probeGpu, tinyCase } from './testing.js';
import type { RawBinding } from './addon.js';

const probe = await probeGpu(); // before any test is declared (ava needs them synchronous)

function binding(t: { log(s: string): void; fail(s: string): void; pass(): void }): RawBinding | null {
  if (!addonLoadedOrSkip(t)) return null;
  const raw = nativeBindingForTests();
  if (raw.copiedInputsDigest === undefined) {
    t.fail('the addon has no copiedInputsDigest: rebuild it (node native/build.mjs)');
    return null;
  }
  return raw;
}

/** A copy of `a` whose storage is a resizable ArrayBuffer (the view tracks its length). */
function onResizable<T extends Uint8Array | Float32Array>(a: T): T {
  // ES2024 resizable buffers (Node 20 has them; the project's lib setting is ES2022).
  const Resizable = ArrayBuffer as unknown as new (n: number, o: { maxByteLength: number }) => ArrayBuffer;
  const buf = new Resizable(a.byteLength, { maxByteLength: a.byteLength * 2 });
  const v = new (a.constructor as new (b: ArrayBuffer) => T)(buf);
  v.set(a);
  return v;
}

test('buffers resized to nothing, transferred away or overwritten after the call: the worker still reads what was passed', async (t) => {
  const raw = binding(t);
  if (raw === null) return;
  const enums = raw.enums();
  const c = tinyCase();
  const pristine = await raw.copiedInputsDigest!(rawCase(enums, c), 0);

  const args = rawCase(enums, c) as unknown as Record<string, unknown>;
  const logits = onResizable(c.logits as Float32Array);
  const fc1 = c.fc1.packed.toContiguous();
  const fc2 = c.fc2.packed.toContiguous();
  Object.assign(args, { logits, fc1Packed: fc1, fc2Packed: fc2 });
  const pending = raw.copiedInputsDigest!(args, 300); // the worker reads 300 ms from now

  (logits.buffer as ArrayBuffer & { resize(n: number): void }).resize(0);
  t.is(logits.length, 0, 'the resizable buffer shrank under the view');
  structuredClone(fc1.buffer, { transfer: [fc1.buffer as ArrayBuffer] });
  t.is(fc1.byteLength, 0, 'the transferred buffer is detached');
  fc2.fill(0xff);

  t.is(await pending, pristine, 'the worker hashed exactly the bytes passed to the call');
});

test('a getter that shrinks an earlier tensor cannot slip past validation (all properties are read first)', async (t) => {
  const raw = binding(t);
  if (raw === null) return;
  const enums = raw.enums();
  const c = tinyCase();
  const args = rawCase(enums, c) as unknown as Record<string, unknown>;
  const logits = onResizable(c.logits as Float32Array);
  args.logits = logits;
  Object.defineProperty(args, 'swigluLimit', {
    enumerable: true,
    get() {
      (logits.buffer as ArrayBuffer & { resize(n: number): void }).resize(0);
      return null;
    },
  });
  const err = await t.throwsAsync(async () => raw.copiedInputsDigest!(args, 0));
  t.is((err as { code?: unknown }).code, 'MOE_BAD_ARGUMENT');
  t.is((err as { argument?: unknown }).argument, 'logits');
  t.is((err as { actual?: unknown }).actual, 'Float32Array(0)', err?.message);
});

test('prepare refuses a view whose resizable buffer has already shrunk, naming the length', async (t) => {
  const raw = binding(t);
  if (raw === null) return;
  const c = tinyCase();
  const args = rawCase(raw.enums(), c) as unknown as Record<string, unknown>;
  const logits = onResizable(c.logits as Float32Array);
  (logits.buffer as ArrayBuffer & { resize(n: number): void }).resize(4);
  args.logits = logits;
  const err = await t.throwsAsync(async () => raw.prepare(args));
  t.is((err as { argument?: unknown }).argument, 'logits');
  t.is((err as { actual?: unknown }).actual, 'Float32Array(1)');
});

test('weights given as their per-expert chunks (arrays of Uint8Array parts) are copied as the contiguous tensor, bit for bit', async (t) => {
  const raw = binding(t);
  if (raw === null) return;
  const enums = raw.enums();
  const c = tinyCase();
  const contiguous = rawCase(enums, c) as unknown as Record<string, unknown>;
  for (const key of ['fc1Packed', 'fc1Scales', 'fc2Packed', 'fc2Scales']) {
    t.true(contiguous[key] instanceof Uint8Array, `${key}: tinyCase's one chunk is passed as it is`);
  }
  const pristine = await raw.copiedInputsDigest!(contiguous, 0);
  // One expert per chunk (the layout a case larger than the chunk limit has), through rawCase.
  const chunked = {
    ...c,
    fc1: { ...c.fc1, packed: c.fc1.packed.relayout({ chunkBytes: c.fc1.packed.bytesPerExpert }), scales: c.fc1.scales.relayout({ chunkBytes: c.fc1.scales.bytesPerExpert }) },
    fc2: { ...c.fc2, packed: c.fc2.packed.relayout({ chunkBytes: c.fc2.packed.bytesPerExpert }), scales: c.fc2.scales.relayout({ chunkBytes: c.fc2.scales.bytesPerExpert }) },
  };
  t.true(chunked.fc1.packed.chunks.length > 1, 'the layout has several chunks');
  const args = rawCase(enums, chunked) as unknown as Record<string, unknown>;
  t.true(Array.isArray(args.fc1Packed), 'several chunks are passed as an array of parts');
  const parts = args.fc1Packed as Uint8Array[];
  const pending = raw.copiedInputsDigest!(args, 200);
  for (const part of parts) part.fill(0x33); // after the call: the copy was taken before
  t.is(await pending, pristine, 'the parts hash as the contiguous tensor, and were copied at the call');

  // Parts that are not all Uint8Array, or do not add up to the tensor's length: refused, named.
  const bad = rawCase(enums, chunked) as unknown as Record<string, unknown>;
  bad.fc2Scales = [...(bad.fc2Scales as Uint8Array[]).slice(0, 1), new Uint16Array(4)];
  const err = await t.throwsAsync(async () => raw.copiedInputsDigest!(bad, 0));
  t.is((err as { argument?: unknown }).argument, 'fc2.scales', err?.message);
  t.is((err as { actual?: unknown }).actual, 'Array(2)', 'refused as the Array it is');
  const short = rawCase(enums, chunked) as unknown as Record<string, unknown>;
  short.fc1Packed = (short.fc1Packed as Uint8Array[]).slice(1);
  const err2 = await t.throwsAsync(async () => raw.copiedInputsDigest!(short, 0));
  t.is((err2 as { argument?: unknown }).argument, 'fc1.packed', err2?.message);
  const partCount = (rawCase(enums, chunked) as unknown as Record<string, Uint8Array[]>).fc1Packed!.length - 1;
  t.is((err2 as { actual?: unknown }).actual, `Array(${partCount}) of Uint8Array parts, ${c.fc1.packed.byteLength - c.fc1.packed.bytesPerExpert} bytes in all`);
});

// Serial: it sets MOE_NATIVE_COPY_THREADS, which the addon reads at every call.
test.serial('a copy of several 64 MiB pieces gives the same bytes for any thread count, from parts that straddle pieces', async (t) => {
  t.timeout(120_000);
  const raw = binding(t);
  if (raw === null) return;
  const enums = raw.enums();
  // qwen3-30b-a3b's 128 experts: 192 MiB of FC1 codes (3 pieces), 96 MiB of FC2 codes, 36 MiB of
  // scales: over 256 MiB, so that the default choice takes several threads too.
  const c = await generateCaseParallel({ problem: configProblem('qwen3-30b-a3b', 4), seed: 5, logitFamily: 'normal', scaleFamily: 'normal' });
  // Chunks of 7 experts (10.5 MiB of FC1 codes): part boundaries fall inside the copy's 64 MiB pieces.
  const by7 = (w: typeof c.fc1) => ({ ...w, packed: w.packed.relayout({ chunkBytes: 7 * w.packed.bytesPerExpert }), scales: w.scales.relayout({ chunkBytes: 7 * w.scales.bytesPerExpert }) });
  const chunked = { ...c, fc1: by7(c.fc1), fc2: by7(c.fc2) };
  const before = process.env.MOE_NATIVE_COPY_THREADS;
  try {
    const digests: string[] = [];
    for (const threads of ['1', '2', '3', '16', '']) {
      process.env.MOE_NATIVE_COPY_THREADS = threads; // '' = the default choice (several threads above 256 MiB)
      const args = rawCase(enums, threads === '3' ? chunked : c) as unknown as Record<string, unknown>;
      const pending = raw.copiedInputsDigest!(args, threads === '2' ? 100 : 0);
      // Written over after the call (the copy was taken at it), then put back.
      const first = ([args.fc1Packed].flat() as Uint8Array[])[0]!;
      const saved = threads === '2' ? first.slice(0, 1 << 20) : null;
      if (saved !== null) first.fill(0x5a, 0, 1 << 20);
      digests.push(await pending);
      if (saved !== null) first.set(saved);
    }
    t.true(digests.every((d) => d === digests[0]), digests.join(' '));
    for (const bad of ['0', '65', 'x', '2.5']) {
      process.env.MOE_NATIVE_COPY_THREADS = bad;
      const err = await t.throwsAsync(async () => raw.copiedInputsDigest!(rawCase(enums, tinyCase()), 0));
      t.is((err as { argument?: unknown }).argument, 'MOE_NATIVE_COPY_THREADS', err?.message);
      t.is((err as { actual?: unknown }).actual, bad);
    }
  } finally {
    if (before === undefined) delete process.env.MOE_NATIVE_COPY_THREADS;
    else process.env.MOE_NATIVE_COPY_THREADS = before;
  }
});

test('copiedInputsDigest refuses a bad delay, naming it', async (t) => {
  const raw = binding(t);
  if (raw === null) return;
  const args = rawCase(raw.enums(), tinyCase());
  for (const d of [-1, 1.5, 20000, 'x']) {
    const err = await t.throwsAsync(async () => raw.copiedInputsDigest!(args, d));
    t.is((err as { argument?: unknown }).argument, 'delayMs', String(d));
  }
});

// On a GPU: what the device holds after prepare() must be what was passed, even when every
// buffer is written over (or detached) the moment prepare() returns, before it resolves.
if (!probe.ok) {
  const msg = `no CUDA device (${probe.why}): the GPU half of the prepare-copy test is SKIPPED`;
  console.warn(`[moe-harness] WARNING: ${msg}`);
  if (GPU_REQUIRED) test('prepare copies before it resolves, on the GPU (MOE_HARNESS_REQUIRE_GPU=1)', (t) => t.fail(msg));
  else test.skip(`prepare copies before it resolves, on the GPU: ${msg}`, () => {});
} else {
  test.serial(`on ${probe.device.name}: buffers overwritten or transferred right after prepare() leave the device copy intact`, async (t) => {
    const c = tinyCase();
    const pristine = await prepare(tinyCase());
    const tactic = defaultTactic(c.spec.problem);
    const h = prepare(c); // not awaited: the caller keeps going
    if (c.hidden.format === 'nvfp4') c.hidden.packed.fill(0x77);
    for (const chunk of c.fc1.packed.chunks) chunk.fill(0x11);
    structuredClone(c.fc2.packed.chunks[0]!.buffer, { transfer: [c.fc2.packed.chunks[0]!.buffer as ArrayBuffer] });
    (c.logits as Float32Array).fill(-1);
    const handle = await h;
    try {
      t.is(await inputsDigest(handle), await inputsDigest(pristine), 'the device holds the bytes passed to prepare()');
      const a = await runMoe(handle, { tactic });
      const b = await runMoe(pristine, { tactic });
      t.deepEqual(a.output, b.output);
    } finally {
      release(handle);
      release(pristine);
    }
  });
}
