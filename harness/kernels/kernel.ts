/**
 * KernelUnderTest: the one interface the harness drives. Two implementations exist:
 * kernels/native.ts (the CUDA addon through native/index.ts) and kernels/emulated.ts
 * (a CPU emulation with its own tiling, used to prove that the harness catches bugs).
 */
import type { Case } from '../../reference/case.js';
import type { Problem } from '../../reference/problem.js';

/** One (tileTokens, config) pair from a kernel's own enumeration; `label` is "tileTokens/config". */
export interface Tactic {
  readonly tileTokens: number;
  readonly config: number;
  readonly label: string;
}

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
  /**
   * The tactic the kernel says it executed ("tileTokens/config", "none" when it said
   * nothing), from kernels that report it (lib). A run that does not echo the forced
   * tactic is incorrect (harness/tacticEcho.ts).
   */
  readonly executedTactic?: string;
}

export interface RunOptions {
  /** uint16 pattern the output buffer is filled with before the run. */
  readonly poison: number;
}

export interface KernelUnderTest<Handle = unknown> {
  /** e.g. "emulated", "emulated+fault:gate_up_swapped", "native". */
  readonly name: string;
  /** Every tactic the kernel enumerates for the problem (may be empty: not supported). */
  tactics(problem: Problem): Tactic[];
  /** Convert the case to the kernel's own layout; UnsupportedProblemError when it cannot. */
  prepare(c: Case): Promise<Handle>;
  /** Run one tactic, forced (never through a fallback). */
  run(handle: Handle, tactic: Tactic, opts: RunOptions): Promise<Observed>;
  /** A digest of every input buffer as the kernel holds it (to prove inputs are unchanged). */
  inputsDigest(handle: Handle): Promise<string>;
  release(handle: Handle): void;
}

/** The label of a tactic: "tileTokens/config". */
export function tacticLabel(tileTokens: number, config: number): string {
  return `${tileTokens}/${config}`;
}

/** Build a Tactic from its two numbers. */
export function makeTactic(tileTokens: number, config: number): Tactic {
  return { tileTokens, config, label: tacticLabel(tileTokens, config) };
}
