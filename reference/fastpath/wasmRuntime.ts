/**
 * What the fast path's WebAssembly modules need from the runtime: the WebAssembly API
 * (the project's TS lib settings do not declare it) and growable scratch on the
 * tfjs-backend-wasm heap they share (reached through tfjsWasmInternals.ts only).
 */
import type { WasmHeap } from './tfjsWasmInternals.js';


/** The WebAssembly API used here. */
export interface WasmApi {
  validate(bytes: Uint8Array): boolean;
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: object) => { readonly exports: Record<string, unknown> };
  Memory: new (d: { initial: number; maximum: number; shared: boolean }) => SharedWasmMemory;
}
export const Wasm = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;

/** A shared WebAssembly.Memory. */
export interface SharedWasmMemory {
  readonly buffer: SharedArrayBuffer;
  grow(pages: number): number;
}

/** Growable scratch on the backend's heap (its contents are not kept when it grows). */
export class HeapBuffer {
  ptr = 0;
  private bytes = 0;
  constructor(private readonly heap: WasmHeap) {}
  /** The address of at least `bytes` bytes (8-byte aligned); may grow the heap. */
  ensure(bytes: number): number {
    if (bytes > this.bytes) {
      if (this.ptr !== 0) this.heap.free(this.ptr);
      this.bytes = Math.max(bytes, 2 * this.bytes, 64);
      this.ptr = this.heap.malloc(this.bytes);
    }
    return this.ptr;
  }
}
