/**
 * Everything the fast path uses of @tensorflow/tfjs-backend-wasm beyond its documented API,
 * in one file: the emscripten module under the backend (its WebAssembly.Memory, the HEAPU8
 * view, _malloc/_free), the backend's makeOutput/typedArrayFromHeap, the engine's
 * makeTensorFromTensorInfo, and the WASM_HAS_* environment flags. The rest of the fast path
 * sees only the project's own names (WasmHeap, TfjsWasmBackend).
 *
 * Every internal is looked up once, when the engine is made, by checkTfjsWasmInternals: a
 * tfjs upgrade that moves one fails there, loudly, naming the internal and the installed
 * version (TfjsInternalsError), never as a wrong number later. tfjsWasmInternals.test.ts
 * runs the same check against the installed tfjs.
 */
import { createRequire } from 'node:module';
import type * as TfCore from '@tensorflow/tfjs-core';

/** The tfjs-backend-wasm version these internals were written and tested against. */
export const VERIFIED_TFJS_WASM_VERSION = '4.22.0';

/** A tfjs internal the fast path needs is missing or changed shape. */
export class TfjsInternalsError extends Error {
  override readonly name = 'TfjsInternalsError';
  constructor(readonly internal: string, readonly expected: string, readonly installedVersion: string) {
    super(`tfjs-backend-wasm internal ${internal}: expected ${expected}, not found in the installed ` +
      `@tensorflow/tfjs-backend-wasm ${installedVersion} (the fast path was verified against ` +
      `${VERIFIED_TFJS_WASM_VERSION}; update reference/fastpath/tfjsWasmInternals.ts for the new version, ` +
      `or pin ${VERIFIED_TFJS_WASM_VERSION})`);
  }
}

/** The installed tfjs-backend-wasm version ('unknown' when even that cannot be read). */
export function installedTfjsWasmVersion(): string {
  try {
    const v = (createRequire(import.meta.url)('@tensorflow/tfjs-backend-wasm') as { version_wasm?: unknown }).version_wasm;
    return typeof v === 'string' ? v : 'unknown';
  } catch {
    return 'unknown';
  }
}

/** The backend's heap, in the project's names. */
export interface WasmHeap {
  /** The WebAssembly.Memory the backend computes in (import it as a module's memory). */
  readonly memory: object;
  /** The whole heap as bytes: fetch again after any malloc (the heap may grow and detach it). */
  readonly u8: Uint8Array;
  malloc(bytes: number): number;
  free(ptr: number): void;
}

/** The backend's float32 tensors living on the heap. */
export interface TfjsWasmBackend {
  readonly heap: WasmHeap;
  /** A new rows×cols float32 tensor with unspecified contents, on the heap. */
  alloc(rows: number, cols: number): TfCore.Tensor;
  /** The heap view of a tensor's storage (fetch again after any allocation). */
  view(t: TfCore.Tensor): Float32Array;
}

/** The emscripten module as tfjs-backend-wasm 4.22 exposes it (BackendWasm.wasm). */
interface EmscriptenModule {
  readonly asm: { readonly memory: object };
  readonly HEAPU8: Uint8Array;
  _malloc(bytes: number): number;
  _free(ptr: number): void;
}

/** BackendWasm's members used here. */
interface BackendWasmInternals {
  readonly wasm: EmscriptenModule;
  makeOutput(shape: number[], dtype: 'float32'): TfCore.TensorInfo;
  typedArrayFromHeap(info: TfCore.TensorInfo): Float32Array | Int32Array | Uint8Array;
}

type Tf = typeof TfCore;

/** Each internal, by the path the error names, and what it must be. */
const REQUIRED: readonly { readonly path: string; readonly expected: string; readonly ok: (tf: Tf, b: unknown) => boolean }[] = [
  { path: 'tf.backend()', expected: 'the wasm backend object', ok: (_tf, b) => typeof b === 'object' && b !== null },
  { path: 'backend.wasm', expected: 'the emscripten module (an object)', ok: (_tf, b) => isObject(get(b, 'wasm')) },
  { path: 'backend.wasm.asm.memory', expected: 'a WebAssembly.Memory', ok: (_tf, b) => isMemory(get(get(get(b, 'wasm'), 'asm'), 'memory')) },
  { path: 'backend.wasm.HEAPU8', expected: 'a Uint8Array over that memory', ok: (_tf, b) => isHeapView(b) },
  { path: 'backend.wasm._malloc', expected: 'a function (bytes) => address', ok: (_tf, b) => typeof get(get(b, 'wasm'), '_malloc') === 'function' },
  { path: 'backend.wasm._free', expected: 'a function (address) => void', ok: (_tf, b) => typeof get(get(b, 'wasm'), '_free') === 'function' },
  { path: 'backend.makeOutput', expected: 'a function (shape, dtype) => TensorInfo', ok: (_tf, b) => typeof get(b, 'makeOutput') === 'function' },
  { path: 'backend.typedArrayFromHeap', expected: 'a function (TensorInfo) => typed array', ok: (_tf, b) => typeof get(b, 'typedArrayFromHeap') === 'function' },
  { path: 'tf.engine().makeTensorFromTensorInfo', expected: 'a function (TensorInfo) => Tensor', ok: (tf) => typeof get(tf.engine(), 'makeTensorFromTensorInfo') === 'function' },
];

function get(o: unknown, key: string): unknown {
  return typeof o === 'object' && o !== null ? (o as Record<string, unknown>)[key] : undefined;
}
function isObject(o: unknown): boolean {
  return typeof o === 'object' && o !== null;
}
function isMemory(m: unknown): boolean {
  const b = get(m, 'buffer');
  return b instanceof ArrayBuffer || (typeof SharedArrayBuffer !== 'undefined' && b instanceof SharedArrayBuffer);
}
function isHeapView(b: unknown): boolean {
  const heap = get(get(b, 'wasm'), 'HEAPU8');
  const mem = get(get(get(b, 'wasm'), 'asm'), 'memory');
  return heap instanceof Uint8Array && heap.buffer === get(mem, 'buffer');
}

/**
 * Check every internal on the current backend (TfjsInternalsError naming the first one
 * missing). `backend` defaults to tf.backend(); `version` to the installed one.
 */
export function checkTfjsWasmInternals(tf: Tf, backend: unknown = tf.backend(), version = installedTfjsWasmVersion()): void {
  for (const r of REQUIRED) {
    if (!r.ok(tf, backend)) throw new TfjsInternalsError(r.path, r.expected, version);
  }
}

/** The current backend's heap and tensors (checked first: see the file comment). */
export function tfjsWasmBackend(tf: Tf): TfjsWasmBackend {
  const raw = tf.backend();
  checkTfjsWasmInternals(tf, raw);
  const backend = raw as unknown as BackendWasmInternals;
  const module = backend.wasm;
  const heap: WasmHeap = {
    memory: module.asm.memory,
    get u8() { return module.HEAPU8; },
    malloc: (bytes) => module._malloc(bytes),
    free: (ptr) => module._free(ptr),
  };
  return {
    heap,
    alloc: (rows, cols) => tf.engine().makeTensorFromTensorInfo(backend.makeOutput([rows, cols], 'float32')),
    view: (t) => backend.typedArrayFromHeap(t) as Float32Array,
  };
}

/**
 * Make tfjs-backend-wasm the backend of `tf`: single-threaded (the fast path runs one
 * instance per worker thread), its .wasm files read from `wasmDir` (never the network).
 * Returns whether the runtime has WebAssembly SIMD.
 */
export async function initTfjsWasm(tf: Tf, setWasmPaths: (prefix: string) => void, wasmDir: string): Promise<{ simd: boolean }> {
  tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', false);
  setWasmPaths(wasmDir + '/');
  if (!(await tf.setBackend('wasm'))) throw new Error(`tfjs-backend-wasm failed to initialize (wasm files in ${wasmDir})`);
  await tf.ready();
  return { simd: (await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT')) === true };
}
