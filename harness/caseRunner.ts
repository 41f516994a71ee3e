/**
 * Running one case on a kernel: every selected tactic forced, `repeats` times (default 2)
 * with the two poison patterns alternating, inputs digested before and after (SPEC §5). The same code runs in-process
 * (inlineRunner.ts) and inside the child process (child.ts) that childRunner.ts restarts
 * after a crash.
 */
import type { Case, CaseSpec } from '../reference/case.js';
import type { Problem } from '../reference/problem.js';
import { BadArgumentError, UnsupportedProblemError } from '../reference/errors.js';
import type { Observed, Provider, ProviderDescription, Tactic } from './kernels/provider.js';
import type { RunnerPhase, TacticRunTimes } from './phaseTimes.js';
import { matchesTactic } from './tacticFilter.js';

/** Output poison patterns of run 1 and run 2: two different bf16 NaN payloads. */
export const POISON: readonly [number, number] = [0x7fa5, 0xffc3];

/** Runs of each tactic on identical inputs unless a campaign asks for more (at least 2). */
export const DEFAULT_REPEATS = 2;

/** Throws BadArgumentError unless `repeats` is an integer >= 2 (two poison patterns need two runs). */
export function checkRepeats(repeats: number): void {
  if (!Number.isInteger(repeats) || repeats < 2) throw new BadArgumentError('repeats', 'an integer >= 2 (runs of each tactic on identical inputs)', String(repeats));
}

export type TacticOutcome =
  /** runs: `repeats` runs (>= 2), run r poisoned with POISON[r % 2]. times: where its wall time went (phaseTimes.ts). */
  | { readonly kind: 'ran'; readonly tactic: Tactic; readonly runs: readonly [Observed, Observed, ...Observed[]]; readonly digests: readonly [string, string]; readonly times?: TacticRunTimes }
  | { readonly kind: 'crashed'; readonly tactic: Tactic; readonly message: string }
  | { readonly kind: 'refused'; readonly tactic: Tactic; readonly message: string };

/**
 * What became of a case on a runner. 'prepare_crashed' only when the tactics could not even
 * be enumerated (a death or an error later is attributed to each tactic not yet done).
 * 'ran' with `interrupted` when the campaign's signal stopped it: `outcomes` holds what finished.
 */
export type CaseOutcome =
  | { readonly kind: 'not_supported'; readonly message: string }
  | { readonly kind: 'prepare_crashed'; readonly message: string }
  | { readonly kind: 'ran'; readonly tactics: readonly Tactic[]; readonly outcomes: readonly TacticOutcome[]; readonly interrupted?: boolean };

export interface RunCaseOptions {
  /** Tactic labels already done (a resumed campaign): not run again. */
  readonly skip?: ReadonlySet<string>;
  /** Stop between (inline) or during (child) tactics; the outcome says `interrupted`. */
  readonly signal?: AbortSignal;
  /** Told each case-level phase's wall time as it completes (phaseTimes.ts). */
  readonly onPhase?: (phase: RunnerPhase, ms: number) => void;
}

/**
 * What a runner reads of a case: 'data', the generated case (a kernel in this process);
 * 'spec', the spec alone (a child process regenerates the bytes from it), so that a campaign
 * can start the run while it is still generating its own copy for the reference.
 */
export type CaseInput = 'data' | 'spec';

/** A case as runCase takes it: the generated case, or for a 'spec' runner its spec alone. */
export type RunnableCase = Case | { readonly spec: CaseSpec };

/** The generated case, or a harness error naming the runner that needed it. */
export function generatedCase(c: RunnableCase, runner: string): Case {
  if (!('fc1' in c)) throw new Error(`${runner} reads the generated case (its input is 'data'), but was given only the spec of seed ${c.spec.seed}`);
  return c;
}

export interface CaseRunner {
  /** What runCase reads of its case (above). */
  readonly input: CaseInput;
  /** What the kernel says about itself (starts it when needed); the campaign judges with its conventions. */
  describe(): Promise<ProviderDescription>;
  /** Run the case's selected tactics; `onTactic` sees each outcome as it arrives. */
  runCase(c: RunnableCase, filter: readonly string[] | undefined, onTactic?: (o: TacticOutcome) => void, opts?: RunCaseOptions): Promise<CaseOutcome>;
  close(): Promise<void>;
}

/** An error's one-line description: "CudaError: cudaErrorIllegalAddress ...". */
export function describeError(e: unknown): string {
  if (e instanceof Error) {
    const extra = (e as { cudaName?: unknown }).cudaName;
    return `${e.name}: ${e.message}${typeof extra === 'string' && !e.message.includes(extra) ? ` (${extra})` : ''}`;
  }
  return String(e);
}

export const isUnsupported = (e: unknown): boolean => e instanceof Error && e.name === 'UnsupportedProblemError';
/** A run of an enumerated tactic refused: unsupported, or its tactic argument rejected. */
const isRefusal = (e: unknown): boolean => isUnsupported(e) ||
  (e instanceof Error && e.name === 'BadArgumentError' && /tactic/.test(String((e as { argument?: unknown }).argument)));
/** A CUDA fault poisons the process's context: the process must be restarted. */
export const isFatal = (e: unknown): boolean => e instanceof Error && e.name === 'CudaError';

/**
 * The kernel's tactics for the problem, filtered (needs only the problem, not the case's data).
 * None selected: UnsupportedProblemError naming the kernel, the filter and the provider's own
 * reasons (e.g. a routing method it does not support), so the case is not supported, with why.
 */
export async function selectedTactics(kernel: Provider, p: Problem, filter: readonly string[] | undefined): Promise<Tactic[]> {
  const list = await kernel.tactics(p);
  const selected = list.tactics.filter((t) => matchesTactic(t.label, filter));
  if (selected.length > 0) return selected;
  const why = list.unavailable.slice(0, 3).map((u) => `${u.label}: ${u.reason}`).join('; ');
  const more = list.unavailable.length > 3 ? `; … ${list.unavailable.length - 3} more` : '';
  throw new UnsupportedProblemError(`problem for kernel ${kernel.name}`, `a problem it enumerates a tactic for${filter ? ` matching ${filter.join(',')}` : ''}`,
    list.tactics.length > 0 ? `${list.tactics.length} tactics, none matching` : `no tactic${why ? ` (${why}${more})` : ''}`);
}

/** Run one tactic `repeats` times (poison 1, poison 2, poison 1, …) with digests around; errors become outcomes. */
export async function executeTactic(kernel: Provider, handle: unknown, tactic: Tactic, repeats = DEFAULT_REPEATS): Promise<TacticOutcome & { fatal?: boolean }> {
  checkRepeats(repeats);
  try {
    let t0 = performance.now();
    const before = await kernel.inputsDigest(handle);
    let digests = performance.now() - t0;
    t0 = performance.now();
    const r1 = await kernel.run(handle, tactic, { poison: POISON[0] });
    const r2 = await kernel.run(handle, tactic, { poison: POISON[1] });
    const more: Observed[] = [];
    for (let r = 2; r < repeats; r++) more.push(await kernel.run(handle, tactic, { poison: POISON[r % 2]! }));
    const runs = performance.now() - t0;
    t0 = performance.now();
    const after = await kernel.inputsDigest(handle);
    digests += performance.now() - t0;
    return { kind: 'ran', tactic, runs: [r1, r2, ...more], digests: [before, after], times: { runs, digests } };
  } catch (e) {
    if (isRefusal(e)) return { kind: 'refused', tactic, message: describeError(e) };
    return { kind: 'crashed', tactic, message: describeError(e), fatal: isFatal(e) };
  }
}
