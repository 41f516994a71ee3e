/**
 * Running one case on a kernel: every selected tactic forced, twice, with two poison
 * patterns, inputs digested before and after (SPEC §5). The same code runs in-process
 * (inlineRunner.ts) and inside the child process (child.ts) that childRunner.ts restarts
 * after a crash.
 */
import type { Case } from '../reference/case.js';
import type { Observed, Provider, ProviderDescription, Tactic } from './kernels/provider.js';
import { matchesTactic } from './tacticFilter.js';

/** Output poison patterns of run 1 and run 2: two different bf16 NaN payloads. */
export const POISON: readonly [number, number] = [0x7fa5, 0xffc3];

export type TacticOutcome =
  | { readonly kind: 'ran'; readonly tactic: Tactic; readonly runs: readonly [Observed, Observed]; readonly digests: readonly [string, string] }
  | { readonly kind: 'crashed'; readonly tactic: Tactic; readonly message: string }
  | { readonly kind: 'refused'; readonly tactic: Tactic; readonly message: string };

export type CaseOutcome =
  | { readonly kind: 'not_supported'; readonly message: string }
  | { readonly kind: 'prepare_crashed'; readonly message: string }
  | { readonly kind: 'ran'; readonly tactics: readonly Tactic[]; readonly outcomes: readonly TacticOutcome[] };

export interface CaseRunner {
  /** What the kernel says about itself (starts it when needed); the campaign judges with its conventions. */
  describe(): Promise<ProviderDescription>;
  /** Run the case's selected tactics; `onTactic` sees each outcome as it arrives. */
  runCase(c: Case, filter: readonly string[] | undefined, onTactic?: (o: TacticOutcome) => void): Promise<CaseOutcome>;
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
export const isRefusal = (e: unknown): boolean => isUnsupported(e) ||
  (e instanceof Error && e.name === 'BadArgumentError' && /tactic/.test(String((e as { argument?: unknown }).argument)));
/** A CUDA fault poisons the process's context: the process must be restarted. */
export const isFatal = (e: unknown): boolean => e instanceof Error && e.name === 'CudaError';

/** The kernel's tactics for the case, filtered. */
export async function selectedTactics(kernel: Provider, c: Case, filter: readonly string[] | undefined): Promise<Tactic[]> {
  return (await kernel.tactics(c.spec.problem)).tactics.filter((t) => matchesTactic(t.label, filter));
}

/** Run one tactic twice (poison 1, poison 2) with digests around; errors become outcomes. */
export async function executeTactic(kernel: Provider, handle: unknown, tactic: Tactic): Promise<TacticOutcome & { fatal?: boolean }> {
  try {
    const before = await kernel.inputsDigest(handle);
    const r1 = await kernel.run(handle, tactic, { poison: POISON[0] });
    const r2 = await kernel.run(handle, tactic, { poison: POISON[1] });
    const after = await kernel.inputsDigest(handle);
    return { kind: 'ran', tactic, runs: [r1, r2], digests: [before, after] };
  } catch (e) {
    if (isRefusal(e)) return { kind: 'refused', tactic, message: describeError(e) };
    return { kind: 'crashed', tactic, message: describeError(e), fatal: isFatal(e) };
  }
}
