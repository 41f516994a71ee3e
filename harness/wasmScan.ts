/**
 * The common-element loop of compare() in WebAssembly (wasm/scan.wat): the same test and the
 * same float64 arithmetic as ElementScan.row, about three times as fast on a chunk of rows
 * copied into the module's memory. It counts the common elements' within-bound bins and
 * reports the chunk's first common element, its first common element with the largest ratio,
 * and every other element's index (the slow list) for ElementScan.element to judge.
 * wasmScan.test.ts compares whole verdict tallies against the JS loop; compareOracle.test.ts
 * against the comparator's first loop.
 */
import { SCAN_WASM_BASE64 } from './wasm/scanModule.js';

/** The WebAssembly API used here (the project's TS lib settings do not declare it). */
const Wasm = (globalThis as unknown as {
  WebAssembly: { Module: new (b: Uint8Array) => object; Instance: new (m: object, i: object) => { exports: Record<string, unknown> } };
}).WebAssembly;

interface ScanExports {
  readonly mem: { readonly buffer: ArrayBuffer; grow(pages: number): number };
  readonly scan: (n: number, o: number, r: number, a: number, c: number, s: number, p1: number, af: number, floor: number) => number;
}

const HALF_ULP_AT = 0;
const BIN_TABLE_AT = 2048;
const BINS_AT = 3072;
const BINS = 64;
const RESULT_AT = 3328;
const ARRAYS_AT = 4096;
/** Elements per chunk: the module holds 18 bytes per element (output, reference, absAccum, convention bound, slow index). */
export const SCAN_CHUNK_ELEMENTS = 1 << 18;
const PAGE = 65536;

/** What one chunk's scan found (indices relative to the chunk's first element). */
export interface ChunkScan {
  /** Within-bound bin counts of the common elements. */
  readonly bins: Int32Array;
  /** Indices of the other elements, ascending. */
  readonly slow: Int32Array;
  /** The first common element (-1: none). */
  readonly first: number;
  /** The first common element with the largest ratio (-1: none), and that ratio. */
  readonly worst: number;
  readonly worstRatio: number;
}

let kernel: { exports: ScanExports; halfUlp: Float64Array | null; binTable: Uint8Array | null } | null = null;

function scanKernel(): NonNullable<typeof kernel> {
  if (kernel === null) {
    const bytes = Uint8Array.from(Buffer.from(SCAN_WASM_BASE64, 'base64'));
    const exports = new Wasm.Instance(new Wasm.Module(bytes), {}).exports as unknown as ScanExports;
    const need = ARRAYS_AT + SCAN_CHUNK_ELEMENTS * 18;
    const have = exports.mem.buffer.byteLength;
    if (need > have) exports.mem.grow(Math.ceil((need - have) / PAGE));
    kernel = { exports, halfUlp: null, binTable: null };
  }
  return kernel;
}

/**
 * Scan elements [b0, b1) (at most SCAN_CHUNK_ELEMENTS) of a tactic's run-1 output against the
 * reference. `halfUlp` (½ ulp of a bf16 by exponent field) and `binTable` (the within-bound bin
 * by float64 exponent field, +1 when the mantissa is not zero) are the JS loop's own tables.
 */
export function scanChunk(
  b0: number, b1: number,
  arrays: { readonly out1: Uint16Array; readonly refOut: Float32Array; readonly absAccum: Float32Array; readonly conventionBound: Float32Array | null },
  consts: { readonly poison1: number; readonly accumulationFactor: number; readonly absoluteFloor: number; readonly halfUlp: Float64Array; readonly binTable: Uint8Array },
): ChunkScan {
  const n = b1 - b0;
  if (!(n >= 0 && n <= SCAN_CHUNK_ELEMENTS)) throw new RangeError(`scanChunk: ${n} elements: expected 0..${SCAN_CHUNK_ELEMENTS}`);
  const k = scanKernel();
  const buf = k.exports.mem.buffer;
  if (k.halfUlp !== consts.halfUlp) {
    new Float64Array(buf, HALF_ULP_AT, 256).set(consts.halfUlp);
    k.halfUlp = consts.halfUlp;
  }
  if (k.binTable !== consts.binTable) {
    new Uint8Array(buf, BIN_TABLE_AT, 1024).set(consts.binTable);
    k.binTable = consts.binTable;
  }
  const bins = new Int32Array(buf, BINS_AT, BINS);
  bins.fill(0);
  const o = ARRAYS_AT;
  const r = o + 2 * SCAN_CHUNK_ELEMENTS;
  const a = r + 4 * SCAN_CHUNK_ELEMENTS;
  const c = a + 4 * SCAN_CHUNK_ELEMENTS;
  const s = c + 4 * SCAN_CHUNK_ELEMENTS;
  new Uint16Array(buf, o, n).set(arrays.out1.subarray(b0, b1));
  new Float32Array(buf, r, n).set(arrays.refOut.subarray(b0, b1));
  new Float32Array(buf, a, n).set(arrays.absAccum.subarray(b0, b1));
  if (arrays.conventionBound !== null) new Float32Array(buf, c, n).set(arrays.conventionBound.subarray(b0, b1));
  const nSlow = k.exports.scan(n, o, r, a, arrays.conventionBound !== null ? c : 0, s, consts.poison1, consts.accumulationFactor, consts.absoluteFloor);
  const result = new DataView(buf, RESULT_AT, 16);
  return {
    bins,
    slow: new Int32Array(buf, s, nSlow),
    worstRatio: result.getFloat64(0, true),
    worst: result.getInt32(8, true),
    first: result.getInt32(12, true),
  };
}
