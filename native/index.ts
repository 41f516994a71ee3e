/**
 * The only door to the CUDA FP4 MoE addon (native/src, built by native/build.mjs).
 *
 * Synchronous: nativeStatus, validTactics, defaultTactic, tacticConfigs, assertValidTactic,
 * deviceMemoryEstimate, streamSplit, hostInputsDigest.
 * Asynchronous (GPU work runs on the addon's worker threads): deviceInfo, prepare, runMoe,
 * inputsDigest, deviceInputsDigest. release frees a handle's device memory at once.
 *
 * Errors: BadArgumentError (argument, expected, actual), UnsupportedProblemError,
 * CudaError (cudaName, call, tactic), NativeUnavailableError (no addon / no CUDA build).
 *
 * Variant: the release addon by default; the faults build (test-only, `node
 * native/build.mjs --faults`) with MOE_NATIVE_VARIANT=faults or selectNativeVariant('faults')
 * before prepare. A handle keeps the addon that prepared it.
 */
import type { Case } from '../reference/case.js';
import { BadArgumentError, UnsupportedProblemError, describeValue } from '../reference/errors.js';
import type { Problem } from '../reference/problem.js';
import { FAULTS, type FaultName } from '../harness/faults.js';
import { loadAddon, type AddonVariant, type RawBinding, type RawConfigInfo, type RawDeviceMemoryEstimate, type RawStreamSplit } from './addon.js';
import { CudaError, NativeUnavailableError } from './errors.js';
import { rawCase, rawProblem } from './rawArgs.js';

export { BadArgumentError, UnsupportedProblemError } from '../reference/errors.js';
export { CudaError, NativeUnavailableError } from './errors.js';
export type { AddonVariant, RawStreamSplit } from './addon.js';

export interface NativeStatus {
  readonly loaded: boolean;
  readonly builtWithCuda: boolean;
  readonly faultsBuild: boolean;
  readonly variant: AddonVariant;
  /** Whether runMoe honours flushL2Bytes (cold L2): an addon built with CUDA since it existed. */
  readonly coldL2: 'supported' | 'unsupported';
  /** Why the addon is missing or has no CUDA, or which targets it was built for. */
  readonly reason?: string;
  readonly path?: string;
}

export interface NativeTactic {
  readonly tileTokens: number;
  readonly config: number;
}

/** One GEMM code path of the tactic table (exported by the addon, never re-implemented here). */
export interface NativeConfigDescription {
  readonly config: number;
  readonly name: string;
  readonly description: string;
  /** Weight rows per CTA tile (FC2 hidden rows; FC1 up + gate rows, half each). */
  readonly weightRows: number;
  readonly warps: number;
  readonly stages: number;
  readonly splitKFc2: boolean;
}

export interface NativeDeviceInfo {
  readonly name: string;
  /** e.g. "sm_90". */
  readonly sm: string;
  readonly memoryBytes: number;
  /** Free device memory when asked (cudaMemGetInfo), bytes. */
  readonly freeMemoryBytes: number;
  readonly multiProcessors: number;
}

/**
 * Device bytes that prepare (and the runs after it) will need, from the problem alone
 * (native/src/deviceMemoryEstimate.h, the same function prepare refuses with): `peak` =
 * inputs + weights + max(staging, scratch + splitK + output) + slack (one 2 MiB allocation
 * granule per buffer, and 16 MiB for the device code loaded on first launch).
 */
export interface DeviceMemoryEstimate {
  readonly peak: number;
  readonly inputs: number;
  readonly weights: number;
  readonly staging: number;
  readonly scratch: number;
  readonly splitK: number;
  readonly output: number;
  readonly slack: number;
  readonly items: readonly { readonly name: string; readonly bytes: number }[];
}

export interface NativeRunOptions {
  readonly tactic: NativeTactic;
  /** uint16 pattern the output is filled with before the run (default 0x7FC1, a bf16 NaN). */
  readonly poison?: number;
  /** A fault of harness/faults.ts: only the faults build accepts it. */
  readonly fault?: FaultName;
  /** Cold L2: bytes of scratch written on the stream before the timed region (0 or absent: none; needs status coldL2 'supported'). */
  readonly flushL2Bytes?: number;
}

export interface NativeRunResult {
  /** bf16 bits [T, H]. */
  readonly output: Uint16Array;
  /** Global expert ids [T, k]. */
  readonly ids: Int32Array;
  /** Routing weights [T, k] float32 (llama4: sigmoid(logit), applied before FC1). */
  readonly weights: Float32Array;
  /** Device time of routing … finalize (CUDA events), milliseconds. */
  readonly ms: number;
  /** The cold-L2 scratch bytes written before the timed region (0: none). */
  readonly flushedL2Bytes: number;
}

const HANDLE = Symbol('moe-native-handle');

/** A case prepared on the device (weights in the kernel's own layout). Opaque. */
export class NativeHandle {
  readonly [HANDLE] = true;
  #released = false;
  /** @internal */
  constructor(
    readonly problem: Problem,
    readonly variant: AddonVariant,
    /** @internal */ readonly raw: object,
    /** @internal */ readonly binding: RawBinding,
  ) {}
  get released(): boolean {
    return this.#released;
  }
  /** @internal */
  markReleased(): void {
    this.#released = true;
  }
}

let currentVariant: AddonVariant = process.env.MOE_NATIVE_VARIANT === 'faults' ? 'faults' : 'release';

/** Choose the addon variant used by later calls (handles keep their own). */
export function selectNativeVariant(v: AddonVariant): void {
  if (v !== 'release' && v !== 'faults') throw new BadArgumentError('variant', '"release" or "faults"', describeValue(v));
  currentVariant = v;
}

export function nativeStatus(): NativeStatus {
  const r = loadAddon(currentVariant);
  if (!r.ok) return { loaded: false, builtWithCuda: false, faultsBuild: false, variant: currentVariant, coldL2: 'unsupported', reason: r.reason };
  const s = r.binding.status();
  return {
    loaded: true, builtWithCuda: s.builtWithCuda, faultsBuild: s.faultsBuild, variant: currentVariant,
    coldL2: s.flushL2 === true ? 'supported' : 'unsupported', reason: s.reason, path: r.path,
  };
}

function binding(): RawBinding {
  const r = loadAddon(currentVariant);
  if (!r.ok) throw new NativeUnavailableError(r.reason);
  return r.binding;
}

interface RawError {
  code?: unknown; argument?: unknown; expected?: unknown; actual?: unknown; cudaName?: unknown; call?: unknown; tactic?: unknown;
  message?: unknown;
}

/** Turn an error of the addon into this project's error classes. */
function translate(e: unknown): unknown {
  if (!(e instanceof Error)) return e;
  const r = e as RawError;
  const s = (v: unknown): string => (typeof v === 'string' ? v : String(v));
  switch (r.code) {
    case 'MOE_BAD_ARGUMENT': return new BadArgumentError(s(r.argument), s(r.expected), s(r.actual));
    case 'MOE_UNSUPPORTED': return new UnsupportedProblemError(s(r.argument), s(r.expected), s(r.actual));
    case 'MOE_CUDA': return new CudaError(s(r.cudaName), s(r.call), s(r.tactic), e.message);
    case 'MOE_UNAVAILABLE': return new NativeUnavailableError(e.message);
    default: return e;
  }
}

function call<T>(fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    throw translate(e);
  }
}

async function callAsync<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (e) {
    throw translate(e);
  }
}

/** Every tactic the addon can run for the problem (empty never: config 0 runs everything). */
export function validTactics(p: Problem): NativeTactic[] {
  const b = binding();
  return call(() => b.validTactics(rawProblem(b.enums(), p)).map((t) => ({ tileTokens: t.tileTokens, config: t.config })));
}

/** The addon's heuristic choice (one of validTactics) and why. */
export function defaultTactic(p: Problem): NativeTactic & { readonly reason: string } {
  const b = binding();
  return call(() => {
    const t = b.defaultTactic(rawProblem(b.enums(), p));
    return { tileTokens: t.tileTokens, config: t.config, reason: t.reason };
  });
}

/** Throws BadArgumentError('tactic', …) naming the tactic unless it is valid for the problem. */
export function assertValidTactic(p: Problem, t: NativeTactic): void {
  const b = binding();
  call(() => b.checkTactic(rawProblem(b.enums(), p), t));
}

/** The GEMM code paths (configs) and tile sizes of the tactic table. */
export function tacticConfigs(): { readonly tileTokens: readonly number[]; readonly configs: readonly NativeConfigDescription[] } {
  const t = binding().tacticTable();
  return { tileTokens: t.tileTokens, configs: t.configs.map((c: RawConfigInfo) => ({ ...c })) };
}

/** The CUDA device the addon uses; rejects (CudaError / NativeUnavailableError) without one. */
export async function deviceInfo(): Promise<NativeDeviceInfo> {
  const b = binding();
  const d = await callAsync(() => b.deviceInfo());
  if (typeof d.freeMemoryBytes !== 'number') throw new NativeUnavailableError('the native addon predates deviceInfo().freeMemoryBytes: rebuild it (node native/build.mjs)');
  return { name: d.name, sm: d.sm, memoryBytes: d.memoryBytes, freeMemoryBytes: d.freeMemoryBytes, multiProcessors: d.multiProcessors };
}

function requireExport<K extends keyof RawBinding>(b: RawBinding, name: K): NonNullable<RawBinding[K]> {
  const f = b[name];
  if (f === undefined) throw new NativeUnavailableError(`the native addon predates ${String(name)}(): rebuild it (node native/build.mjs)`);
  return f as NonNullable<RawBinding[K]>;
}

/** The device memory prepare will need for the problem (no GPU needed; see DeviceMemoryEstimate). */
export function deviceMemoryEstimate(p: Problem): DeviceMemoryEstimate {
  const b = binding();
  const f = requireExport(b, 'deviceMemoryEstimate');
  return call(() => {
    const e: RawDeviceMemoryEstimate = f.call(b, rawProblem(b.enums(), p));
    return { ...e, items: e.items.map((i) => ({ name: i.name, bytes: i.bytes })) };
  });
}

/**
 * Config 3's split over K at the problem for a config-3 tactic, as the engine launches it (no GPU
 * needed): FC1 / FC2 slices (0 = unsplit), the unsplit grids' CTAs, K's 1024-element chunks,
 * config 2's slices (the FC2 split's cap), the FC1 workspace, and the CTA count below which
 * a grid splits. BadArgumentError for a tactic of another config or one the problem refuses.
 */
export function streamSplit(p: Problem, t: NativeTactic): RawStreamSplit {
  const b = binding();
  const f = requireExport(b, 'streamSplit');
  return call(() => ({ ...f.call(b, rawProblem(b.enums(), p), { tileTokens: t.tileTokens, config: t.config }) }));
}

/**
 * The inputs digest (native/src/inputDigest.h) of `buffers`, in order, computed on the host:
 * the twin of the device kernel behind inputsDigest(). Any build, no GPU. `threads`: 'all'
 * splits buffers of 128 MiB or more over the cores (same value), 'one' hashes serially.
 */
export function hostInputsDigest(buffers: readonly Uint8Array[], threads: 'all' | 'one' = 'all'): string {
  const b = binding();
  const f = requireExport(b, 'hostInputsDigest');
  return call(() => f.call(b, [...buffers], threads));
}

/** The same digest computed by the device kernel (buffers uploaded); rejects without CUDA. */
export async function deviceInputsDigest(buffers: readonly Uint8Array[]): Promise<string> {
  const b = binding();
  const f = requireExport(b, 'deviceInputsDigest');
  return callAsync(() => f.call(b, [...buffers]));
}

/** Upload a case and convert it to the kernel's layout (checks every tensor first). */
export async function prepare(c: Case): Promise<NativeHandle> {
  const b = binding();
  const variant = currentVariant;
  const raw = await callAsync(async () => b.prepare(rawCase(b.enums(), c)));
  return new NativeHandle(c.spec.problem, variant, raw, b);
}

function requireHandle(h: unknown): NativeHandle {
  if (!(h instanceof NativeHandle)) throw new BadArgumentError('handle', 'a NativeHandle returned by prepare()', describeValue(h));
  if (h.released) throw new BadArgumentError('handle', 'a handle that has not been released', 'a released handle');
  return h;
}

function isInteger(v: unknown): v is number {
  return typeof v === 'number' && Number.isInteger(v);
}

/** Run one tactic, forced (an invalid tactic throws; there is no fallback). */
export async function runMoe(h: NativeHandle, opts: NativeRunOptions): Promise<NativeRunResult> {
  const handle = requireHandle(h);
  if (typeof opts !== 'object' || opts === null) throw new BadArgumentError('options', 'a NativeRunOptions object', describeValue(opts));
  const t: unknown = opts.tactic;
  if (typeof t !== 'object' || t === null || !isInteger((t as NativeTactic).tileTokens) || !isInteger((t as NativeTactic).config)) {
    throw new BadArgumentError('options.tactic', '{tileTokens: integer, config: integer}', describeValue(t));
  }
  const poison = opts.poison ?? 0x7fc1;
  if (!isInteger(poison) || poison < 0 || poison > 0xffff) {
    throw new BadArgumentError('options.poison', 'an integer in [0, 65535] (uint16 pattern)', describeValue(opts.poison));
  }
  let fault = 0;
  if (opts.fault !== undefined) {
    const f = (FAULTS as Record<string, { code: number } | undefined>)[opts.fault as string];
    if (typeof opts.fault !== 'string' || f === undefined || !Object.prototype.hasOwnProperty.call(FAULTS, opts.fault)) {
      throw new BadArgumentError('options.fault', `one of ${Object.keys(FAULTS).join(', ')}`, describeValue(opts.fault));
    }
    if (!handle.binding.status().faultsBuild) {
      throw new BadArgumentError('options.fault',
        'no fault: this addon was built without MOE_FAULTS (build moe_native_faults.node with `node native/build.mjs --faults` ' +
        'and select it with MOE_NATIVE_VARIANT=faults)', JSON.stringify(opts.fault));
    }
    fault = f.code;
  }
  const flushL2Bytes = opts.flushL2Bytes ?? 0;
  if (!isInteger(flushL2Bytes) || flushL2Bytes < 0 || flushL2Bytes > 2 ** 36) {
    throw new BadArgumentError('options.flushL2Bytes', 'an integer number of bytes in [0, 2^36]', describeValue(opts.flushL2Bytes));
  }
  if (flushL2Bytes > 0 && handle.binding.status().flushL2 !== true) {
    throw new BadArgumentError('options.flushL2Bytes', '0 (this addon predates cold-L2 flushes or has no CUDA: rebuild with node native/build.mjs)', String(flushL2Bytes));
  }
  const tactic = { tileTokens: (t as NativeTactic).tileTokens, config: (t as NativeTactic).config };
  const b = handle.binding;
  return callAsync(async () => {
    const r = await b.run(handle.raw, { tactic, poison, fault, ...(flushL2Bytes > 0 ? { flushL2Bytes } : {}) });
    const flushed = r.flushedL2Bytes ?? 0;
    // Never a silently ignored flush: the addon says what it wrote.
    if (flushed !== flushL2Bytes) throw new Error(`the addon was asked to write ${flushL2Bytes} bytes of L2 flush scratch before the timed region but reports ${flushed}`);
    return { output: r.output, ids: r.ids, weights: r.weights, ms: r.ms, flushedL2Bytes: flushed };
  });
}

/**
 * Digest of every input buffer as the device holds it (prepared weights included), computed
 * on the device (native/src/inputDigest.h): only 8 bytes per buffer cross the bus.
 */
export async function inputsDigest(h: NativeHandle): Promise<string> {
  const handle = requireHandle(h);
  return callAsync(() => handle.binding.digest(handle.raw));
}

/** Free the handle's device memory (waits for a run in flight on it). Idempotent. */
export function release(h: NativeHandle): void {
  if (!(h instanceof NativeHandle)) throw new BadArgumentError('handle', 'a NativeHandle returned by prepare()', describeValue(h));
  if (h.released) return;
  call(() => h.binding.release(h.raw));
  h.markReleased();
}

/**
 * The raw addon, for tests that feed malformed arguments past the TypeScript checks
 * (the C++ side must reject them too). Not for other uses.
 */
export function nativeBindingForTests(variant: AddonVariant = currentVariant): RawBinding {
  const r = loadAddon(variant);
  if (!r.ok) throw new NativeUnavailableError(r.reason);
  return r.binding;
}
