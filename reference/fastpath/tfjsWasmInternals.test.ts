/**
 * The tfjs-backend-wasm internals the fast path relies on (tfjsWasmInternals.ts), checked
 * against the installed tfjs: an upgrade that moves one fails here, naming it and the version.
 */
import test from 'ava';
import { createRequire } from 'node:module';
import { dirname } from 'node:path';
import type * as TfCore from '@tensorflow/tfjs-core';
import type * as TfWasm from '@tensorflow/tfjs-backend-wasm';
import {
  checkTfjsWasmInternals, initTfjsWasm, installedTfjsWasmVersion, TfjsInternalsError, tfjsWasmBackend, VERIFIED_TFJS_WASM_VERSION,
} from './tfjsWasmInternals.js';

const require = createRequire(import.meta.url);
const tf = require('@tensorflow/tfjs-core') as typeof TfCore;
const wasm = require('@tensorflow/tfjs-backend-wasm') as typeof TfWasm;

test.serial('the installed tfjs-backend-wasm has every internal the fast path uses, and they behave as assumed', async (t) => {
  const version = installedTfjsWasmVersion();
  t.regex(version, /^\d+\.\d+\.\d+/, 'version_wasm is exported');
  await initTfjsWasm(tf, wasm.setWasmPaths, dirname(require.resolve('@tensorflow/tfjs-backend-wasm')));
  t.is(tf.getBackend(), 'wasm');
  // Loud: a missing internal throws TfjsInternalsError naming it and the version (the message is the report).
  t.notThrows(() => checkTfjsWasmInternals(tf), `tfjs-backend-wasm ${version} (verified: ${VERIFIED_TFJS_WASM_VERSION})`);
  const b = tfjsWasmBackend(tf);
  // A tensor allocated on the heap: what we write through its view is what tfjs computes with.
  const m = b.alloc(3, 4);
  const v = b.view(m);
  t.is(v.length, 12);
  t.is(v.buffer, b.heap.u8.buffer, 'the view lies on the heap the kernels import');
  v.set(Float32Array.from({ length: 12 }, (_, i) => i - 5.5));
  t.deepEqual(Array.from(m.dataSync()), Array.from({ length: 12 }, (_, i) => i - 5.5));
  // malloc/free: an 8-byte aligned address inside the heap; the heap view follows growth.
  const before = b.heap.u8.byteLength;
  const p = b.heap.malloc(before); // forces growth
  t.true(p > 0 && p % 8 === 0);
  t.true(b.heap.u8.byteLength > before && b.heap.u8.byteLength >= p + before, 'HEAPU8 is replaced when the heap grows');
  t.is(b.heap.u8.buffer, (b.heap.memory as { buffer: ArrayBufferLike }).buffer, 'the heap view is over the module\'s WebAssembly.Memory');
  b.heap.u8.fill(7, p, p + 16);
  b.heap.free(p);
  // The view of a tensor is fetched again after growth and still reads its values.
  t.deepEqual(Array.from(b.view(m)), Array.from({ length: 12 }, (_, i) => i - 5.5));
  m.dispose();
});

/** A complete stand-in for the backend and tf (only the shapes checkTfjsWasmInternals reads). */
function fakes(): { tf: typeof TfCore; backend: Record<string, unknown> } {
  const memory = { buffer: new ArrayBuffer(65536) };
  const backend: Record<string, unknown> = {
    wasm: { asm: { memory }, HEAPU8: new Uint8Array(memory.buffer), _malloc: () => 8, _free: () => undefined },
    makeOutput: () => undefined,
    typedArrayFromHeap: () => undefined,
  };
  const engine: Record<string, unknown> = { makeTensorFromTensorInfo: () => undefined };
  return { tf: { engine: () => engine } as unknown as typeof TfCore, backend };
}

test('an upgrade that drops or reshapes an internal fails loudly, naming it and the installed version', (t) => {
  const ok = fakes();
  t.notThrows(() => checkTfjsWasmInternals(ok.tf, ok.backend, '9.9.9'));
  const breaks: [string, (f: ReturnType<typeof fakes>) => void][] = [
    ['backend.wasm', (f) => { delete f.backend.wasm; }],
    ['backend.wasm.asm.memory', (f) => { (f.backend.wasm as Record<string, unknown>).asm = {}; }],
    ['backend.wasm.HEAPU8', (f) => { (f.backend.wasm as Record<string, unknown>).HEAPU8 = new Uint8Array(16); }],
    ['backend.wasm._malloc', (f) => { delete (f.backend.wasm as Record<string, unknown>)._malloc; }],
    ['backend.wasm._free', (f) => { delete (f.backend.wasm as Record<string, unknown>)._free; }],
    ['backend.makeOutput', (f) => { delete f.backend.makeOutput; }],
    ['backend.typedArrayFromHeap', (f) => { f.backend.typedArrayFromHeap = 'gone'; }],
    ['tf.engine().makeTensorFromTensorInfo', (f) => { delete (f.tf.engine() as unknown as Record<string, unknown>).makeTensorFromTensorInfo; }],
  ];
  for (const [internal, brk] of breaks) {
    const f = fakes();
    brk(f);
    const e = t.throws(() => checkTfjsWasmInternals(f.tf, f.backend, '9.9.9'), { instanceOf: TfjsInternalsError }, internal);
    t.is((e as TfjsInternalsError).internal, internal);
    t.is((e as TfjsInternalsError).installedVersion, '9.9.9');
    t.true(e!.message.startsWith(`tfjs-backend-wasm internal ${internal}: expected `), e!.message);
    t.true(e!.message.includes('@tensorflow/tfjs-backend-wasm 9.9.9') && e!.message.includes(VERIFIED_TFJS_WASM_VERSION), e!.message);
  }
  const none = t.throws(() => checkTfjsWasmInternals(ok.tf, null, '9.9.9'), { instanceOf: TfjsInternalsError });
  t.is((none as TfjsInternalsError).internal, 'tf.backend()');
});
