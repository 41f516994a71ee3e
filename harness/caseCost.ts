/**
 * How long one case of a campaign takes, estimated before anything runs: the planner of
 * the default run (defaultRun.ts) fills its time budget with these estimates.
 *
 * One cost model per kernel kind, keyed by name. A case costs
 *
 *   fixed                                     per case (child round trips, small allocations)
 *   + weights · W                             weight elements El·3·H·I: generation (twice:
 *                                             the campaign and the child), the kernel's
 *                                             prepare, and the input digests of every tactic
 *   + macs · R                                the reference (the fast path), macs = T·k·3·H·I
 *                                             scaled by the local fraction El/E
 *   + macs · K · schedules                    the kernel's own arithmetic (emulated: one pass
 *                                             per distinct accumulation schedule, about 3)
 *   + tactics · (perTactic + T·H · J · runs)  each tactic: launch, digests, judging its runs
 *
 * The constants are documented per-element costs, measured (emulated: this repository's
 * 2-core CI VM; native: the 16-core GPU hosts of the project's device runs), never a
 * measurement taken at run time, so the same seed and budget always give the same plan.
 * docs/default-run.md lists where each constant comes from and how far the estimates were
 * from the measured wall times.
 */
import { BadArgumentError } from '../reference/errors.js';
import type { Problem } from '../reference/problem.js';
import type { ReferencePrecision } from './referenceFor.js';
import { emulatedTactics } from './kernels/emulatedTactics.js';
import type { KernelKind } from './kernels/select.js';

export interface CostConstants {
  /** ms once per campaign (child process start, the kernel's initialization, the reference's worker pool). */
  readonly startupMs: number;
  /** ms per case. */
  readonly fixedMs: number;
  /** ns per weight element (El·3·H·I), all passes over the weights together. */
  readonly nsPerWeight: number;
  /** ns per multiply-add of the reference's MoE: the float32 fast path (worker threads) and the float64 oracle (one thread). */
  readonly nsPerReferenceMac: number;
  readonly nsPerReference64Mac: number;
  /** ns per multiply-add of the kernel's arithmetic, per distinct accumulation schedule. */
  readonly nsPerKernelMac: number;
  /** ms per tactic (launch, digests of the small tensors, bookkeeping). */
  readonly msPerTactic: number;
  /** ns per output element per run per tactic (copying the output back, judging it). */
  readonly nsPerOutputRun: number;
  /** ns per weight element per tactic (input digests before and after every tactic). */
  readonly nsPerWeightPerTactic: number;
}

export interface CaseCostModel {
  readonly name: KernelKind;
  /** Where the constants come from (printed in docs/default-run.md). */
  readonly source: string;
  readonly constants: CostConstants;
  /** Tactics the kernel is expected to enumerate for the problem (an estimate for native). */
  tactics(p: Problem): number;
  /** Distinct accumulation schedules the kernel computes the MoE with. */
  schedules(p: Problem): number;
}

/** Weight elements of the local experts: El·(2I·H + H·I). */
export const weightElements = (p: Problem): number => p.localExperts * 3 * p.H * p.I;

/** Multiply-adds of one MoE over the local slots (the expected local fraction El/E of T·k). */
const moeMacs = (p: Problem): number => p.T * p.topK * 3 * p.H * p.I * (p.localExperts / p.E);

const BUILT_IN_MODELS = {
  emulated: {
    name: 'emulated',
    source: 'measured on the 2-core CI VM (AMD EPYC, shared with other jobs): generation 2-3 ns and emulated prepare 12-19 ns '
      + 'per weight element, emulated arithmetic 2.7-2.9 ns per multiply-add per accumulation schedule (NVFP4, quiet machine; '
      + 'MX modes and a loaded machine are slower, hence 35 ns and 4.5 ns), fast-path reference 0.24 ns per multiply-add on a medium '
      + 'shape (quiet; 1.2 ns under load 25), the float64 oracle 7.8 ns (under load)',
    constants: {
      startupMs: 1500, fixedMs: 40, nsPerWeight: 35, nsPerReferenceMac: 0.3, nsPerReference64Mac: 8, nsPerKernelMac: 4.5,
      msPerTactic: 2, nsPerOutputRun: 40, nsPerWeightPerTactic: 1.2,
    },
    tactics: (p) => emulatedTactics(p).length,
    // configs 0, 1, 2 each have their own accumulation order (emulatedTactics.ts); config 1 needs H, I % 64.
    schedules: (p) => new Set(emulatedTactics(p).map((t) => t.config)).size,
  },
  native: {
    name: 'native',
    source: 'the 16-core H100/H200 hosts of ci/device-runs: about 15-16 ns per weight element all passes included '
      + '(DeepSeek-V3 with 128 local experts at T=256, 15 tactics: 86.6 s; Qwen3-235B T=256: 39 s), the fast-path reference '
      + 'at about 230 GFLOP/s on large shapes (0.05 ns per multiply-add taken for medium ones), the float64 oracle on one thread, '
      + 'the 24-case small default run in under 2 s (about 80 ms a case)',
    constants: {
      startupMs: 4000, fixedMs: 80, nsPerWeight: 16, nsPerReferenceMac: 0.05, nsPerReference64Mac: 5, nsPerKernelMac: 0,
      msPerTactic: 3, nsPerOutputRun: 15, nsPerWeightPerTactic: 0,
    },
    // Upper bound: 5 tile sizes × 3 configs (native/src/tactics.h); the exact enumeration needs the addon.
    tactics: () => 15,
    schedules: () => 0,
  },
} as const satisfies Readonly<Record<string, CaseCostModel>>;

/**
 * Kernels built elsewhere (a library behind the C ABI, a command behind the process protocol)
 * have no measured costs: the plan takes the emulated kernel's (a CPU kernel's, so it plans
 * conservatively for a GPU library or adapter). A cmd: kernel also pays the process door per
 * run (inputs file, pipes; docs/providers.md measures it), which these constants do not hold:
 * its plan may overrun the budget by that much.
 */
const COST_MODELS: Readonly<Record<KernelKind, CaseCostModel>> = {
  ...BUILT_IN_MODELS,
  lib: { ...BUILT_IN_MODELS.emulated, name: 'lib', source: `not measured: a library's costs are unknown; the emulated kernel's are taken (${BUILT_IN_MODELS.emulated.source})` },
  cmd: {
    ...BUILT_IN_MODELS.emulated, name: 'cmd',
    source: `not measured: an adapter's costs are unknown; the emulated kernel's are taken, without the process door's own per-run cost (${BUILT_IN_MODELS.emulated.source})`,
  },
};

/** The cost model of a kernel kind (every kind of the registry, select.ts, has one). */
export function caseCostModel(kind: KernelKind): CaseCostModel {
  const m = Object.hasOwn(COST_MODELS, kind) ? COST_MODELS[kind] : undefined;
  if (m === undefined) throw new BadArgumentError('kernel', `a kernel kind with a cost model (${Object.keys(COST_MODELS).join(', ')})`, JSON.stringify(kind));
  return m;
}

/** Estimated wall time (ms) of one case whose every tactic runs `repeats` times, judged against a reference of `precision`. */
export function estimateCaseMs(model: CaseCostModel, p: Problem, repeats: number, precision: ReferencePrecision = 'float32'): number {
  const c = model.constants;
  const perRefMac = precision === 'float64' ? c.nsPerReference64Mac : c.nsPerReferenceMac;
  const w = weightElements(p);
  const macs = moeMacs(p);
  const tactics = model.tactics(p);
  return c.fixedMs
    + (w * c.nsPerWeight + macs * perRefMac + macs * c.nsPerKernelMac * model.schedules(p)) / 1e6
    + tactics * (c.msPerTactic + (p.T * p.H * c.nsPerOutputRun * repeats + w * c.nsPerWeightPerTactic) / 1e6);
}
