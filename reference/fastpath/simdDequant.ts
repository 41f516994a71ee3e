/**
 * FP4 weight dequantization in WebAssembly SIMD, inside tfjs-backend-wasm's own memory,
 * so weights are decoded straight into the tensors the GEMMs read (about 5x faster than
 * the JS table decoder, which stays the fallback and the reference it is tested against).
 *
 * The module is assembled here, byte by byte (a few dozen instructions; no toolchain):
 * it imports the backend's WebAssembly.Memory and exports
 *
 *   dq(pIn, sIn, out, absOut, rowSq, rows, groupsPerRow, scaleShift, scaleTable)
 *
 * in four variants (dq00, dq01, dq10, dq11: without/with |value| stores, without/with row
 * sums of squares; the unused parts are left out, not skipped at run time),
 * which decodes rows × groupsPerRow groups of 16 elements: 8 packed bytes at pIn + 8g
 * (low nibble first) → e2m1 codes → bf16 bit patterns by two 16-entry byte tables
 * (i8x16.swizzle) → float32 (the bf16 pattern shifted up 16 bits, exact) → times the
 * group's scale scaleTable[sIn[g >> scaleShift]] (float32 product, exactly q·s as in
 * dequantTable.ts) → stored at out + 64g; when absOut != 0 also |value| at absOut + 64g;
 * when rowSq != 0 the float32 sum of squares of each row at rowSq + 4r (4 lanes, then
 * lane order: run() widens it by its rounding and underflow margins).
 */
import { E4M3_VALUES } from '../formats/e4m3.js';
import { F32_UNIT_ROUNDOFF } from '../formats/float.js';
import { UE8M0_VALUES } from '../formats/ue8m0.js';
import type { WeightFormat } from './dequantTable.js';
import { HeapBuffer, Wasm } from './wasmRuntime.js';
import type { Fp4Rows } from './fp4Rows.js';
import type { WasmHeap } from './tfjsWasmInternals.js';

// ------------------------------------------------------------------ a tiny assembler

function uleb(n: number): number[] {
  const out: number[] = [];
  do {
    let b = n & 0x7f;
    n >>>= 7;
    if (n !== 0) b |= 0x80;
    out.push(b);
  } while (n !== 0);
  return out;
}

function sleb(n: number): number[] {
  const out: number[] = [];
  for (;;) {
    const b = n & 0x7f;
    n >>= 7;
    if ((n === 0 && (b & 0x40) === 0) || (n === -1 && (b & 0x40) !== 0)) {
      out.push(b);
      return out;
    }
    out.push(b | 0x80);
  }
}

const section = (id: number, body: number[]) => [id, ...uleb(body.length), ...body];
const vec = (items: number[][]) => [...uleb(items.length), ...items.flat()];
const str = (s: string) => [...uleb(s.length), ...Array.from(s, (c) => c.charCodeAt(0))];

const I32 = 0x7f;
const V128 = 0x7b;

const op = {
  block: [0x02, 0x40], loop: [0x03, 0x40], if: [0x04, 0x40], end: [0x0b], br: (d: number) => [0x0c, ...uleb(d)],
  brIf: (d: number) => [0x0d, ...uleb(d)],
  get: (i: number) => [0x20, ...uleb(i)], set: (i: number) => [0x21, ...uleb(i)],
  i32: (v: number) => [0x41, ...sleb(v)],
  i32Load8u: [0x2d, 0, 0], f32Load: [0x2a, 2, 0], f32Store: [0x38, 2, 0],
  i32Add: [0x6a], i32Shl: [0x74], i32ShrU: [0x76], i32GeU: [0x4f], f32Add: [0x92],
  simd: (code: number, ...imm: number[]) => [0xfd, ...uleb(code), ...imm],
};
const v = {
  load64Zero: op.simd(0x5d, 0, 0),
  store: (offset: number) => op.simd(0x0b, 0, ...uleb(offset)),
  const: (bytes: number[]) => op.simd(0x0c, ...bytes),
  shuffle: (lanes: number[]) => op.simd(0x0d, ...lanes),
  swizzle: op.simd(0x0e),
  f32Splat: op.simd(0x13),
  f32Extract: (lane: number) => op.simd(0x1f, lane),
  and: op.simd(0x4e),
  i8ShrU: op.simd(0x6d),
  extLowU16: op.simd(0xa9),
  extHighU16: op.simd(0xaa),
  i32Shl: op.simd(0xab),
  f32Abs: op.simd(0xe0),
  f32Add: op.simd(0xe4),
  f32Mul: op.simd(0xe6),
};

/** bf16 patterns of the 16 e2m1 codes (0, 0.5, 1, 1.5, 2, 3, 4, 6, then negated), split in bytes. */
const BF16_OF_CODE = [0x0000, 0x3f00, 0x3f80, 0x3fc0, 0x4000, 0x4040, 0x4080, 0x40c0,
  0x8000, 0xbf00, 0xbf80, 0xbfc0, 0xc000, 0xc040, 0xc080, 0xc0c0];
const TAB_HI = BF16_OF_CODE.map((b) => b >> 8);
const TAB_LO = BF16_OF_CODE.map((b) => b & 0xff);
const INTERLEAVE_LOW = Array.from({ length: 16 }, (_, i) => (i & 1 ? 16 : 0) + (i >> 1));
const INTERLEAVE_HIGH = INTERLEAVE_LOW.map((x) => x + 8);

/**
 * The body of one dq variant: `abs` stores |value| to absOut, `sq` accumulates the row's
 * sum of squares into rowSq (the variants run the same instructions, minus the unused
 * parts, so every variant's stores are the same bits).
 */
function dqBody(abs: boolean, sq: boolean): number[] {
  // params
  const pIn = 0, sIn = 1, out = 2, absOut = 3, rowSq = 4, rows = 5, gpr = 6, sShift = 7, sTab = 8;
  // locals
  const r = 9, g = 10, gi = 11, o = 12, sc = 13, x = 14, codes = 15, hb = 16, lb = 17, ua = 18, ub = 19, f = 20, acc = 21;
  const body: number[] = [
    ...op.i32(0), ...op.set(r), ...op.i32(0), ...op.set(gi),
    ...op.block, ...op.loop,
    ...op.get(r), ...op.get(rows), ...op.i32GeU, ...op.brIf(1),
    ...v.const(new Array(16).fill(0)), ...op.set(acc),
    ...op.i32(0), ...op.set(g),
    ...op.block, ...op.loop,
    ...op.get(g), ...op.get(gpr), ...op.i32GeU, ...op.brIf(1),
    // sc = splat(sTab[sIn[gi >> sShift]])
    ...op.get(sTab),
    ...op.get(sIn), ...op.get(gi), ...op.get(sShift), ...op.i32ShrU, ...op.i32Add, ...op.i32Load8u,
    ...op.i32(2), ...op.i32Shl, ...op.i32Add, ...op.f32Load, ...v.f32Splat, ...op.set(sc),
    // codes in element order
    ...op.get(pIn), ...op.get(gi), ...op.i32(3), ...op.i32Shl, ...op.i32Add, ...v.load64Zero, ...op.set(x),
    ...op.get(x), ...v.const(new Array(16).fill(0x0f)), ...v.and,
    ...op.get(x), ...op.i32(4), ...v.i8ShrU,
    ...v.shuffle(INTERLEAVE_LOW), ...op.set(codes),
    ...v.const(TAB_HI), ...op.get(codes), ...v.swizzle, ...op.set(hb),
    ...v.const(TAB_LO), ...op.get(codes), ...v.swizzle, ...op.set(lb),
    ...op.get(lb), ...op.get(hb), ...v.shuffle(INTERLEAVE_LOW), ...op.set(ua),
    ...op.get(lb), ...op.get(hb), ...v.shuffle(INTERLEAVE_HIGH), ...op.set(ub),
    ...op.get(gi), ...op.i32(6), ...op.i32Shl, ...op.set(o),
  ];
  const quarters: Array<[number, number[]]> = [[ua, v.extLowU16], [ua, v.extHighU16], [ub, v.extLowU16], [ub, v.extHighU16]];
  quarters.forEach(([src, ext], q) => {
    body.push(
      ...op.get(src), ...ext, ...op.i32(16), ...v.i32Shl, ...op.get(sc), ...v.f32Mul, ...op.set(f),
      ...op.get(out), ...op.get(o), ...op.i32Add, ...op.get(f), ...v.store(16 * q),
    );
    if (abs) body.push(...op.get(absOut), ...op.get(o), ...op.i32Add, ...op.get(f), ...v.f32Abs, ...v.store(16 * q));
    if (sq) body.push(...op.get(acc), ...op.get(f), ...op.get(f), ...v.f32Mul, ...v.f32Add, ...op.set(acc));
  });
  body.push(
    ...op.get(gi), ...op.i32(1), ...op.i32Add, ...op.set(gi),
    ...op.get(g), ...op.i32(1), ...op.i32Add, ...op.set(g),
    ...op.br(0), ...op.end, ...op.end,
  );
  if (sq) {
    // rowSq[r] = Σ lanes
    body.push(
      ...op.get(rowSq), ...op.get(r), ...op.i32(2), ...op.i32Shl, ...op.i32Add,
      ...op.get(acc), ...v.f32Extract(0), ...op.get(acc), ...v.f32Extract(1), ...op.f32Add,
      ...op.get(acc), ...v.f32Extract(2), ...op.f32Add, ...op.get(acc), ...v.f32Extract(3), ...op.f32Add,
      ...op.f32Store,
    );
  }
  body.push(
    ...op.get(r), ...op.i32(1), ...op.i32Add, ...op.set(r),
    ...op.br(0), ...op.end, ...op.end,
    ...op.end,
  );
  const locals = vec([[4, I32], [9, V128]].map(([n, t]) => [...uleb(n!), t!]));
  const code = [...locals, ...body];
  return [...uleb(code.length), ...code];
}

/** Four variants: dq00 (values only), dq01 (+ row sums of squares), dq10 (+ |values|), dq11 (both). */
const VARIANTS: Array<[string, boolean, boolean]> = [['dq00', false, false], ['dq01', false, true], ['dq10', true, false], ['dq11', true, true]];

function assemble(): Uint8Array {
  const bytes = [
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
    ...section(1, vec([[0x60, ...vec(new Array(9).fill([I32])), 0x00]])),
    ...section(2, vec([[...str('env'), ...str('mem'), 0x02, 0x00, 0x00]])),
    ...section(3, vec(VARIANTS.map(() => [0x00]))),
    ...section(7, vec(VARIANTS.map(([name], i) => [...str(name), 0x00, i]))),
    ...section(10, vec(VARIANTS.map(([, abs, sq]) => dqBody(abs, sq)))),
  ];
  return Uint8Array.from(bytes);
}

type DqFn = (pIn: number, sIn: number, out: number, absOut: number, rowSq: number, rows: number, gpr: number, sShift: number, sTab: number) => void;

/** SIMD dequantizer bound to the backend's heap (one per worker). */
export class SimdDequantizer {
  private readonly dq: readonly DqFn[];
  private readonly scratch: HeapBuffer;
  private readonly tables = new Map<WeightFormat, number>();

  private constructor(private readonly heap: WasmHeap, instance: { readonly exports: Record<string, unknown> }) {
    this.dq = VARIANTS.map(([name]) => instance.exports[name] as DqFn);
    this.scratch = new HeapBuffer(heap);
  }

  /** Null when this runtime lacks WebAssembly SIMD. */
  static create(heap: WasmHeap): SimdDequantizer | null {
    const bytes = assemble();
    if (!Wasm.validate(bytes)) return null;
    const instance = new Wasm.Instance(new Wasm.Module(bytes), { env: { mem: heap.memory } });
    return new SimdDequantizer(heap, instance);
  }

  private table(fmt: WeightFormat): number {
    let p = this.tables.get(fmt);
    if (p === undefined) {
      p = this.heap.malloc(1024);
      new Float32Array(this.heap.u8.buffer, p, 256).set(fmt === 'nvfp4' ? E4M3_VALUES : UE8M0_VALUES);
      this.tables.set(fmt, p);
    }
    return p;
  }

  /**
   * Decode src's rows×cols weights (packed from packedOffset, scales from scalesOffset) to the
   * heap at byte address outPtr (and |W| at absPtr unless 0). With rowSq, rowSq[r] gets an
   * upper bound of Σ_c W[r,c]² (the float32 sum widened by its rounding bound).
   */
  run(src: Fp4Rows, outPtr: number, absPtr: number, rowSq: Float64Array | null): void {
    const { fmt, packed, packedOffset, scales, scalesOffset, rows, cols } = src;
    const nPacked = (rows * cols) / 2;
    const sf = fmt === 'nvfp4' ? 16 : 32;
    const nScales = (rows * cols) / sf;
    const tab = this.table(fmt);
    const base = this.scratch.ensure(nPacked + nScales + 4 * rows + 16);
    const sBase = base + nPacked;
    const qBase = (sBase + nScales + 3) & ~3;
    const heap = this.heap.u8; // after the mallocs: the heap may have grown
    heap.set(packed.subarray(packedOffset, packedOffset + nPacked), base);
    heap.set(scales.subarray(scalesOffset, scalesOffset + nScales), sBase);
    const dq = this.dq[(absPtr === 0 ? 0 : 2) + (rowSq === null ? 0 : 1)]!;
    dq(base, sBase, outPtr, absPtr, rowSq === null ? 0 : qBase, rows, cols / 16, sf === 16 ? 0 : 1, tab);
    if (rowSq !== null) {
      const q = new Float32Array(this.heap.u8.buffer, qBase, rows);
      // float32 sum of cols squares: relative γ(cols/4 + 4) from rounding, plus < 2^-149 per
      // square lost to underflow.
      const margin = 1 + 2 * (cols + 8) * F32_UNIT_ROUNDOFF;
      const floor = cols * 2 ** -149;
      for (let i = 0; i < rows; i++) rowSq[i] = q[i]! * margin + floor;
    }
  }
}
