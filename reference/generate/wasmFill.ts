/**
 * Rng.fillFromTable16 (reference/rng.ts) in WebAssembly (wasm/fill.wat): the same bytes and
 * the same generator state afterwards (wasmFill.test.ts, bit for bit against the JS loop,
 * which stays as its twin), about twice as fast on one core (benchGenerate.ts). The packed
 * e2m1 codes are ~8/9 of a case's weight bytes, so weight generation follows it.
 *
 * One instance per thread (each generation worker has its own), created on first use: the
 * 64 KiB table is copied in when it changes, then blocks of up to 1 MiB are generated in the
 * module's memory and copied out.
 */
import type { Rng } from '../rng.js';
import { FILL_WASM_BASE64 } from './wasm/fillModule.js';

interface FillKernel {
  readonly memory: { readonly buffer: ArrayBuffer };
  readonly fill16: (pairs: number) => void;
  table: Uint8Array | null;
}

/** The WebAssembly API used here (the project's TS lib settings do not declare it). */
const Wasm = (globalThis as unknown as {
  WebAssembly: { Module: new (b: Uint8Array) => object; Instance: new (m: object, i: object) => { exports: Record<string, unknown> } };
}).WebAssembly;

const TABLE_BYTES = 65536;
const STATE_AT = 65536;
const OUT_AT = 65552;
/** Bytes per block (even): the module's memory holds the table, the state and one block. */
const BLOCK_BYTES = 1 << 20;

let kernel: FillKernel | null = null;

function fillKernel(): FillKernel {
  if (kernel === null) {
    const bytes = Uint8Array.from(Buffer.from(FILL_WASM_BASE64, 'base64'));
    const exports = new Wasm.Instance(new Wasm.Module(bytes), {}).exports;
    kernel = { memory: exports.mem as FillKernel['memory'], fill16: exports.fill16 as FillKernel['fill16'], table: null };
  }
  return kernel;
}

/** out[offset, offset+count) as rng.fillFromTable16(out, offset, count, table) writes it, and rng left as it leaves it. */
export function fillFromTable16Wasm(rng: Rng, out: Uint8Array, offset: number, count: number, table: Uint8Array): void {
  if (table.length !== TABLE_BYTES) throw new RangeError(`fillFromTable16Wasm: table: expected ${TABLE_BYTES} bytes, got ${table.length}`);
  if (!Number.isSafeInteger(offset) || !Number.isSafeInteger(count) || offset < 0 || count < 0 || offset + count > out.length) {
    throw new RangeError(`fillFromTable16Wasm: offset ${offset} + count ${count}: expected within the output's ${out.length} bytes`);
  }
  const k = fillKernel();
  const mem = new Uint8Array(k.memory.buffer);
  if (k.table !== table) {
    mem.set(table, 0);
    k.table = table; // the tables used are module constants: compared by identity
  }
  const state = new Int32Array(k.memory.buffer, STATE_AT, 4);
  state.set(rng.state());
  const even = count - (count & 1);
  for (let done = 0; done < even; done += BLOCK_BYTES) {
    const n = Math.min(BLOCK_BYTES, even - done);
    k.fill16(n >> 1);
    out.set(mem.subarray(OUT_AT, OUT_AT + n), offset + done);
  }
  rng.resume([state[0]!, state[1]!, state[2]!, state[3]!]);
  if (count & 1) out[offset + even] = table[rng.u32() & 0xffff]!; // the JS loop's last odd byte
}
