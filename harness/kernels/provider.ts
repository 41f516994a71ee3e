/**
 * Provider: the one interface every kernel under test implements. The harness
 * outside harness/kernels/ drives a Provider and never knows which kind it is; the kinds are
 * a registry keyed by name in select.ts:
 *   native    our CUDA addon, direct (native.ts)
 *   emulated  the CPU emulation with its own tiling (emulated.ts)
 *   process   any command speaking docs/process-protocol.md (process.ts; adapters/python/)
 *   lib       a shared library behind the C ABI, hosted in a child (lib*.ts, door 1)
 *
 * Life of a case: tactics(problem) → prepare(case) once (weights uploaded once) →
 * run(handle, tactic, {poison}) for every forced tactic, twice → inputsDigest → release.
 * A run reports the tactic it actually executed; a run whose executedTactic differs from the
 * forced tactic is judged incorrect (observedViolations.ts), never passed.
 */
import type { Case } from '../../reference/case.js';
import type { Problem, QuantMode, RoutingMethodName } from '../../reference/problem.js';
import type { Conventions } from '../../reference/conventions.js';

/**
 * One tactic of a kernel's own enumeration; `label` identifies it ("tileTokens/config" for
 * ours, any unique string for other kernels). tileTokens and config are our kernels' two
 * numbers; a kernel that does not describe its tactics that way reports -1 for both.
 */
export interface Tactic {
  readonly tileTokens: number;
  readonly config: number;
  readonly label: string;
}

/** A tactic the kernel knows but cannot run for this problem, and why. */
export interface UnavailableTactic {
  readonly label: string;
  readonly reason: string;
}

/** A provider's enumeration for one problem. Empty `tactics`: the problem is not supported. */
export interface TacticList {
  readonly tactics: readonly Tactic[];
  readonly unavailable: readonly UnavailableTactic[];
}

/** What a provider says about itself (moe-harness kernels, report headers, the conventions judged with). */
export interface ProviderDescription {
  /** e.g. "emulated", "native+fault:gate_up_swapped", "numpy-moe". */
  readonly name: string;
  /** Version or build id (a hash, a package version). */
  readonly version: string;
  /** e.g. "cpu", "NVIDIA H100 80GB HBM3 (sm_90)". */
  readonly device: string;
  readonly quantModes: readonly QuantMode[];
  readonly routingMethods: readonly RoutingMethodName[];
  /** Declared arithmetic conventions (conventions.ts); the reference computes with them. */
  readonly conventions: Conventions;
  /** Which timing options of RunOptions the provider honours; absent: none (every one 'unsupported'). */
  readonly timing?: TimingCapabilities;
}

/** Whether a provider honours a timing option. */
export type TimingSupport = 'supported' | 'unsupported';

/**
 * The timing options a provider honours (the tuner asks before it times: a requested option
 * the provider does not support is reported, never silently ignored).
 */
export interface TimingCapabilities {
  /** RunOptions.flushL2Bytes: a scratch buffer of that size written on the kernel's stream before the timed region (cold L2). */
  readonly coldL2: TimingSupport;
  /** RunOptions.launch 'graph': the timed region replayed from a captured CUDA graph. */
  readonly graphReplay: TimingSupport;
}

/** How the kernels of a timed run are launched: one by one on the stream, or replayed from a captured CUDA graph. */
export type LaunchMode = 'stream' | 'graph';

/** What one forced run of one tactic produced. */
export interface Observed {
  /** bf16 bits [T, H]. */
  readonly output: Uint16Array;
  /** Expert ids the kernel routed to [T, k] (global ids). */
  readonly ids: Int32Array;
  /** Routing weights [T, k] float32. */
  readonly weights: Float32Array;
  /** Kernel time in milliseconds when the kernel measures it. */
  readonly ms?: number;
  /** The label of the tactic the kernel says it executed (must equal the forced tactic's). */
  readonly executedTactic: string;
  /**
   * Contract violations the provider itself saw in what the kernel returned (a wrong dtype or
   * shape of a returned tensor, …), each naming the kernel and what it did. Any entry makes
   * the run incorrect; the arrays above are then empty or partial.
   */
  readonly violations?: readonly string[];
}

export interface RunOptions {
  /** uint16 pattern the output buffer is filled with before the run. */
  readonly poison: number;
  /**
   * Cold L2: write this many bytes of scratch on the kernel's stream before the timed region,
   * evicting the weights from L2 (absent or 0: no flush). Only for a provider whose
   * description says timing.coldL2 'supported'; one that does not must not be sent it.
   */
  readonly flushL2Bytes?: number;
  /** 'graph': time a CUDA-graph replay (only where timing.graphReplay is 'supported'); default 'stream'. */
  readonly launch?: LaunchMode;
}

export interface Provider<Handle = unknown> {
  /** Short name, e.g. "emulated", "native+fault:gate_up_swapped", "cmd:numpy-moe". */
  readonly name: string;
  describe(): Promise<ProviderDescription>;
  /** Every tactic the kernel enumerates for the problem, plus why each other known tactic cannot run. */
  tactics(problem: Problem): Promise<TacticList>;
  /** Convert the case to the kernel's own layout, weights once; UnsupportedProblemError when it cannot. */
  prepare(c: Case): Promise<Handle>;
  /** Run one tactic, forced (never through a fallback). */
  run(handle: Handle, tactic: Tactic, opts: RunOptions): Promise<Observed>;
  /** A digest of every input buffer as the kernel holds it (to prove inputs are unchanged). */
  inputsDigest(handle: Handle): Promise<string>;
  release(handle: Handle): Promise<void>;
  /** End whatever the provider started (an adapter process); the provider is unusable after. */
  close(): Promise<void>;
}

/** The label of one of our tactics: "tileTokens/config". */
export function tacticLabel(tileTokens: number, config: number): string {
  return `${tileTokens}/${config}`;
}

/** Build a Tactic from its two numbers. */
export function makeTactic(tileTokens: number, config: number): Tactic {
  return { tileTokens, config, label: tacticLabel(tileTokens, config) };
}
