/**
 * observedViolations: what makes a run incorrect before any number is compared: the kernel
 * did not echo the forced tactic (it may have fallen back to another), or the provider saw a
 * contract violation in what it returned (Observed.violations). Each line names the kernel.
 */
import type { Observed, Tactic } from './provider.js';

export function observedViolations(kernel: string, forced: Tactic, runs: readonly Observed[]): string[] {
  const out: string[] = [];
  for (const [i, r] of runs.entries()) {
    for (const v of r.violations ?? []) out.push(`run ${i + 1}: ${v}`);
    if (r.executedTactic !== forced.label) {
      out.push(`run ${i + 1}: kernel ${kernel} was forced to tactic ${forced.label} but reports executing ${JSON.stringify(r.executedTactic)}` +
        ' (a run that does not echo the forced tactic may have fallen back; it is never passed)');
    }
  }
  return out;
}
