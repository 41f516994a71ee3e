/**
 * Main side of the float32 fast path: route, dequantize the hidden states, share the
 * case with the worker pool, let the workers run the experts (heaviest first, from a
 * shared queue), then finalize in slot order. Tokens are processed in chunks so the
 * per-slot scratch ([chunk·k·H] float32, three of them) stays bounded.
 */
import type { Case } from '../case.js';
import type { ExpertBytes } from '../expertBytes.js';
import { checkCase, checkNanScales, nanScaleError, scaleByteFormat } from '../checkCase.js';
import type { Expected } from '../expected.js';
import { expectedFrom } from '../expectedFrom.js';
import { fc2InputFormat } from '../problem.js';
import { checkReferenceOptions, prepareReference, type ReferenceOptions } from '../referenceOptions.js';
import { planSlots } from '../slotPlan.js';
import { defaultThreads } from '../backend.js';
import { NO_NAN_SCALE } from './nanScaleScan.js';
import { inFastPathQueue, liveWorkers, workerPool } from './pool.js';
import { checkReferenceFits, type HeldMemory } from '../resourceEstimate.js';
import { Wasm, type SharedWasmMemory } from './wasmRuntime.js';
import { resolveFastPathOptions, type FastPathOptions, type SlotMemoryMode } from './fastPathOptions.js';
import { referenceEnvironment } from '../referenceEnvironment.js';
import { emptyStats, type JobStats, type MoeJob } from './protocol.js';

/** Floats per per-slot scratch buffer (three of them): 32 Mi floats = 128 MiB each. */
const SLOT_BUDGET = 32 * 1024 * 1024;

type Typed = Uint8Array | Uint16Array | Int32Array | Float32Array | Float64Array;

/** A copy of a in shared memory (or a itself when it already is). */
function shared<T extends Typed>(a: T): T {
  if (a.buffer instanceof SharedArrayBuffer) return a;
  const ctor = a.constructor as new (b: SharedArrayBuffer, o: number, n: number) => T;
  const out = new ctor(new SharedArrayBuffer(a.byteLength), 0, a.length);
  (out as unknown as { set(x: T): void }).set(a);
  return out;
}

/**
 * Shared copies of a case's large arrays (weights, hidden states), reused from run to run
 * while the array object lives: the copy (and its page faults) is paid once per case. A hit
 * is used only after checking byte for byte (Buffer.equals: native memcmp, about a third
 * of a fresh copy's cost) that the array still holds what was copied, so a case edited in
 * place gives the answer of its new contents, never the old one. A changed array gets a new
 * copy (never rewritten in place: a worker may still hold the old one).
 */
const sharedWeights = new WeakMap<Typed, Typed>();
function bytesOf(a: Typed): Buffer {
  return Buffer.from(a.buffer as ArrayBuffer, a.byteOffset, a.byteLength);
}
export function sharedCached<T extends Typed>(a: T): T {
  if (a.buffer instanceof SharedArrayBuffer) return a;
  let s = sharedWeights.get(a) as T | undefined;
  if (s === undefined || s.byteLength !== a.byteLength || !bytesOf(s).equals(bytesOf(a))) {
    s = shared(a);
    sharedWeights.set(a, s);
  }
  return s;
}

/**
 * Per-expert storage in shared memory (expertBytes.ts): itself when its chunks already are
 * SharedArrayBuffers (generateCaseParallel's), else a shared copy cached like sharedCached's
 * (checked byte for byte on every hit; a changed one gets a new copy).
 */
const sharedExpertCopies = new WeakMap<ExpertBytes, ExpertBytes>();
export function sharedExperts(x: ExpertBytes): ExpertBytes {
  if (x.shared) return x;
  let s = sharedExpertCopies.get(x);
  if (s === undefined || !s.equals(x)) {
    s = x.relayout({ memory: 'shared', chunkBytes: Math.max(1, x.expertsPerChunk * x.bytesPerExpert) }); // same chunks
    sharedExpertCopies.set(x, s);
  }
  return s;
}

/** Bytes of `x` a run reuses in shared memory (itself, or a live shared copy of it). */
function sharedExpertBytes(x: ExpertBytes): number {
  return x.shared || sharedExpertCopies.get(x)?.byteLength === x.byteLength ? x.byteLength : 0;
}

/**
 * Shared scratch reused from run to run (runs are serialized): fresh memory would cost a
 * page fault per 4 KiB on every run. `zero` clears the part handed out.
 */
const scratch = new Map<string, SharedArrayBuffer>();
function scratchArray<T extends Typed>(name: string, ctor: new (b: SharedArrayBuffer, o: number, n: number) => T, n: number, zero: boolean): T {
  const bytes = n * (ctor as unknown as { BYTES_PER_ELEMENT: number }).BYTES_PER_ELEMENT;
  let buf = scratch.get(name);
  if (buf === undefined || buf.byteLength < bytes) {
    buf = new SharedArrayBuffer(Math.max(8, bytes));
    scratch.set(name, buf);
  } else if (zero) {
    new Uint8Array(buf, 0, bytes).fill(0);
  }
  return new ctor(buf, 0, n);
}
const f32 = (name: string, n: number, zero: boolean) => scratchArray(name, Float32Array, n, zero);

/** The shared memory of the slot arrays, kept between runs (like scratch). */
let slotMemory: SharedWasmMemory | null = null;

/**
 * Float32 arrays of these lengths, 16-byte aligned, in one shared WebAssembly.Memory (the
 * finalize kernel's), or in plain shared scratch (memory null) where the runtime has no
 * shared WebAssembly memory.
 */
function sharedSlotArrays(lengths: number[], mode: SlotMemoryMode): { memory: SharedWasmMemory | null; views: Float32Array[] } {
  const offsets: number[] = [];
  let bytes = 0;
  for (const n of lengths) {
    offsets.push(bytes);
    bytes += Math.ceil((4 * n) / 16) * 16;
  }
  const pages = Math.max(1, Math.ceil(bytes / 65536));
  // 'sab': plain shared scratch and the JS finalize (tests compare both).
  if (mode === 'sab') {
    return { memory: null, views: lengths.map((n, i) => f32(`slot${i}`, n, false)) };
  }
  try {
    if (slotMemory === null) slotMemory = new Wasm.Memory({ initial: pages, maximum: 65536, shared: true });
    const have = slotMemory.buffer.byteLength / 65536;
    if (have < pages) slotMemory.grow(pages - have);
  } catch {
    slotMemory = null;
    return { memory: null, views: lengths.map((n, i) => f32(`slot${i}`, n, false)) };
  }
  const buf = slotMemory.buffer;
  return { memory: slotMemory, views: lengths.map((n, i) => new Float32Array(buf, offsets[i]!, n)) };
}

/** What a run of `c` would reuse instead of allocating (resourceEstimate.ts HeldMemory). */
function heldFor(c: Case, threads: number): HeldMemory {
  let copies = 0;
  const h = c.hidden;
  for (const x of [c.fc1.packed, c.fc1.scales, c.fc2.packed, c.fc2.scales]) copies += sharedExpertBytes(x);
  const arrays: Typed[] = [
    ...(h.format === 'nvfp4' ? [h.packed, h.scales] : h.format === 'mxfp8' ? [h.data, h.scales] : [h.data])];
  for (const a of arrays) {
    if (a.buffer instanceof SharedArrayBuffer || sharedWeights.get(a)?.byteLength === a.byteLength) copies += a.byteLength;
  }
  let scratchBytes = slotMemory?.buffer.byteLength ?? 0;
  for (const b of scratch.values()) scratchBytes += b.byteLength;
  return { copies, scratch: scratchBytes, workers: liveWorkers(threads) };
}

/** Drop the fast path's shared scratch (it is kept between runs to avoid page faults). */
export function releaseFastPathScratch(): void {
  scratch.clear();
  slotMemory = null;
}

/** checkCase's NaN weight-scale scan, on this thread. */
function scanNanScalesHere(c: Case): void {
  const format = scaleByteFormat(c.spec.problem.quantMode);
  checkNanScales('case.fc1', c.fc1.scales, format);
  checkNanScales('case.fc2', c.fc2.scales, format);
}

export interface FastRunInfo {
  readonly stats: JobStats;
  readonly chunks: number;
  /** Wall milliseconds of the main thread's steps (workers run during 'experts' and 'finalize'). */
  readonly main: Record<string, number>;
  /**
   * The experts job per worker (last token chunk): when it started and ended, in ms after
   * the main thread dispatched it, and how many experts it ran.
   */
  readonly workers: { readonly start: number; readonly end: number; readonly experts: number }[];
}

/** The float32 fast path, one run at a time (inFastPathQueue). `info` (optional) receives the workers' statistics. */
export function runFast(c: Case, opts: ReferenceOptions = {}, info?: (i: FastRunInfo) => void): Promise<Expected> {
  return inFastPathQueue(() => runFastNow(c, opts, info));
}

async function runFastNow(c: Case, opts: ReferenceOptions, info?: (i: FastRunInfo) => void): Promise<Expected> {
  const main: Record<string, number> = {};
  let clock = performance.now();
  const lap = (name: string) => {
    const now = performance.now();
    main[name] = (main[name] ?? 0) + now - clock;
    clock = now;
  };
  checkCase(c, 'caller'); // the NaN weight-scale scan runs in the workers, below
  let analysis: ReturnType<typeof checkReferenceOptions>['analysis'];
  let fastPath: FastPathOptions;
  try {
    analysis = checkReferenceOptions(c, opts).analysis;
    // The caller's options over the environment's (read in referenceEnvironment.ts only).
    fastPath = resolveFastPathOptions(opts.fastPath, referenceEnvironment().fastPath);
  } catch (e) {
    scanNanScalesHere(c); // checkCase's order: a NaN weight scale before a bad option
    throw e;
  }
  // Memory before anything is allocated: the estimate less what this run reuses.
  const threads = opts.threads ?? defaultThreads();
  checkReferenceFits(c.spec.problem, 'float32', threads, heldFor(c, threads));
  lap('check');
  const pool = await workerPool(threads);
  lap('pool');
  const p = c.spec.problem;
  const { T, H, I, topK: k } = p;
  // The workers decode the hidden states (by token blocks) while this thread routes. The
  // row norms feed the fragility analysis only. checkCase's NaN weight-scale scan runs in
  // the workers too, after the first chunk's experts (values, not shapes: NaN scales only
  // make NaN outputs, and no result is returned when the scan finds one).
  const x = f32('x', T * H, false);
  const xNorm = scratchArray('xNorm', Float64Array, T, false);
  const hid = c.hidden;
  const hidden = pool.runAll({
    kind: 'hidden', T, H, format: hid.format,
    data: hid.format === 'nvfp4' ? sharedCached(hid.packed) : sharedCached(hid.data),
    scales: hid.format === 'bf16' ? null : sharedCached(hid.scales),
    x, xNorm: analysis === 'output' ? null : xNorm,
    tokensPerTask: Math.max(1, Math.ceil(T / (4 * pool.size))),
    queue: new Int32Array(new SharedArrayBuffer(4)),
  });
  let prep: ReturnType<typeof prepareReference> | undefined;
  let routeError: unknown = null;
  try {
    prep = prepareReference(c, opts);
  } catch (e) {
    routeError = e;
  }
  lap('route');
  await hidden.catch(() => undefined); // the workers write shared scratch: let them finish
  if (routeError !== null) {
    scanNanScalesHere(c); // checkCase's order: a NaN weight scale (fc1 first) before a routing error
    throw routeError;
  }
  await hidden; // (its error)
  lap('hidden states (wait)');
  const { routing } = prep!;
  const chunkT = Math.max(1, Math.min(T, Math.floor(SLOT_BUDGET / (k * H))));
  // Per-slot outputs (rows cleared by the workers) and the token sums (rows written by
  // finalize), in one shared WebAssembly.Memory where the finalize kernel can read them.
  const slotArrays = sharedSlotArrays([chunkT * k * H, chunkT * k * H, chunkT * k * H, T * H, T * H, T * H], fastPath.slotMemory);
  const [y, absY, flipY, outputF32, absAccum, flipAllowance] = slotArrays.views as [Float32Array, Float32Array, Float32Array, Float32Array, Float32Array, Float32Array];
  const fragileTokens = scratchArray('fragileTokens', Uint8Array, T, true);
  const flipRows = scratchArray('flipRows', Uint8Array, chunkT * k, false); // set by the workers
  const outputBf16 = scratchArray('outBf16', Uint16Array, T * H, false); // rows written by finalize
  const out = { outputF32, absAccum, flipAllowance };
  const ids = shared(routing.ids);
  const weights = shared(routing.weights);
  const common = {
    kind: 'moe' as const,
    H, I, k,
    fc2Format: fc2InputFormat(p.quantMode),
    weightFormat: p.quantMode === 'nvfp4' ? 'nvfp4' as const : 'mxfp4' as const,
    weightPlacement: prep!.weightPlacement,
    rho: prep!.rho,
    analysis: prep!.analysis,
    absAccum: fastPath.absAccum,
    chunkBytes: fastPath.chunkBytes,
    fc1Packed: sharedExperts(c.fc1.packed).experts(),
    fc1Scales: sharedExperts(c.fc1.scales).experts(),
    fc2Packed: sharedExperts(c.fc2.packed).experts(),
    fc2Scales: sharedExperts(c.fc2.scales).experts(),
    x, xNorm,
    weights,
    out1Scale: shared(c.out1Scale),
    out1GateScale: shared(c.out1GateScale),
    out2Scale: shared(c.out2Scale),
    swiglu: c.swiglu === null ? null : {
      alpha: shared(c.swiglu.alpha), beta: shared(c.swiglu.beta), limit: shared(c.swiglu.limit),
    },
    y, absY, flipY, flipRows, fragileTokens,
  };
  const total = emptyStats();
  let chunks = 0;
  let workers: FastRunInfo['workers'] = [];
  // One scan per chunk of fc1's, then fc2's scales (in order); chunk offsets make the indices global.
  const scanSets = [c.fc1.scales, c.fc2.scales].map((a) => sharedExperts(a).chunks.map((chunk) => ({
    scales: chunk, format: scaleByteFormat(p.quantMode), first: new Int32Array(new SharedArrayBuffer(4)).fill(NO_NAN_SCALE),
  })));
  const scans = scanSets.flat();
  lap('share');
  for (let t0 = 0; t0 < T; t0 += chunkT) {
    const t1 = Math.min(T, t0 + chunkT);
    chunks++;
    const plan = planSlots(p, routing.ids, t0, t1);
    const experts: number[] = [];
    for (let l = 0; l < p.localExperts; l++) if (plan.start[l + 1]! > plan.start[l]!) experts.push(l);
    experts.sort((u, v) => (plan.start[v + 1]! - plan.start[v]!) - (plan.start[u + 1]! - plan.start[u]!) || u - v);
    const job: MoeJob = {
      ...common,
      // checkCase's NaN weight-scale scan, by the first chunk's job, after its experts; the
      // results are only returned when it found nothing (below).
      scans: t0 === 0 ? scans : [],
      scanBytes: 1 << 16,
      scanQueue: new Int32Array(new SharedArrayBuffer(4)),
      t0,
      start: shared(plan.start),
      rows: shared(plan.rows),
      order: shared(Int32Array.from(experts)),
      queue: new Int32Array(new SharedArrayBuffer(4)),
    };
    lap('plan');
    const dispatched = performance.timeOrigin + performance.now();
    const stats = await pool.runAll(job);
    workers = stats.map((s) => ({ start: s.start - dispatched, end: s.end - dispatched, experts: s.experts }));
    lap('experts');
    if (t0 === 0) {
      for (const [name, w, set] of [['case.fc1', c.fc1, scanSets[0]!], ['case.fc2', c.fc2, scanSets[1]!]] as const) {
        let offset = 0;
        for (const scan of set) {
          const first = scan.first[0]!;
          if (first !== NO_NAN_SCALE) throw nanScaleError(name, w.scales, offset + first, scaleByteFormat(p.quantMode));
          offset += scan.scales.length;
        }
      }
    }
    for (const s of stats) {
      total.elements += s.elements;
      total.fragileElements += s.fragileElements;
      total.fragileBlocks += s.fragileBlocks;
      total.denseFlipExperts += s.denseFlipExperts;
      total.exactRadii += s.exactRadii;
      total.experts += s.experts;
      total.ms = Math.max(total.ms, s.ms);
      for (const [name, ms] of Object.entries(s.phases)) total.phases[name] = (total.phases[name] ?? 0) + ms;
    }
    const fin = await pool.runAll({
      kind: 'finalize', H, topK: k, localOffset: p.localOffset, localExperts: p.localExperts, t0, t1,
      tokensPerTask: Math.max(1, Math.ceil((t1 - t0) / (8 * pool.size))),
      ids, weights, weightPlacement: prep!.weightPlacement, analysis: prep!.analysis, y, absY, flipY, flipRows, ...out, outputBf16,
      memory: slotArrays.memory,
      queue: new Int32Array(new SharedArrayBuffer(4)),
    });
    for (const s of fin) total.phases.finalize = (total.phases.finalize ?? 0) + s.ms;
    lap('finalize');
  }
  // Plain (non-shared) arrays in the result, like the oracle's.
  const plain = {
    outputF32: out.outputF32.slice(),
    absAccum: out.absAccum.slice(),
    flipAllowance: out.flipAllowance.slice(),
  };
  const ex = expectedFrom(p, routing, plain, fragileTokens.slice(), {
    elements: total.elements, fragileElements: total.fragileElements, fragileBlocks: total.fragileBlocks,
  }, { precision: 'float32', backend: pool.info.name, threads: pool.info.threads }, { outputBf16: outputBf16.slice(), analysis: prep!.analysis });
  lap('result');
  info?.({ stats: total, chunks, main, workers });
  return ex;
}
