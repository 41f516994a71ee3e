/**
 * observedViolations: what makes a run incorrect before any number is compared (checked by
 * the one judge, harness/judge.ts): the kernel did not echo the forced tactic (it may have
 * fallen back to another: a kernel that silently falls back has not been tested on the tactic
 * it was asked for), or the provider saw a contract violation in what it returned
 * (Observed.violations: a wrong dtype or shape of a returned tensor, …). Each line names the
 * run and the kernel; violationsVerdict makes them an 'incorrect' verdict, never "passed".
 */
import { formatFinding, RATIO_BIN_LABELS, zeroCounts, type Finding, type FindingContext, type Verdict } from '../verdict.js';
import type { Observed, Tactic } from './provider.js';

/** One violation of one run: of the echo ('tactic') or of the returned results ('results'). */
export interface Violation {
  readonly where: 'tactic' | 'results';
  readonly text: string;
}

/** Every violation of the runs of the forced tactic (its label, or the Tactic). */
export function runViolations(kernel: string, forced: Tactic | string, runs: readonly Observed[]): Violation[] {
  const label = typeof forced === 'string' ? forced : forced.label;
  const out: Violation[] = [];
  for (const [i, r] of runs.entries()) {
    for (const v of r.violations ?? []) out.push({ where: 'results', text: `run ${i + 1}: ${v}` });
    if (r.executedTactic !== label) {
      const executed = r.executedTactic === 'none' ? 'executed no tactic it would name' : `reports executing ${JSON.stringify(r.executedTactic)}`;
      out.push({
        where: 'tactic',
        text: `run ${i + 1}: kernel ${kernel} was forced to tactic ${label} but ${executed}` +
          ' (a run that does not echo the forced tactic may have fallen back; it is never passed)',
      });
    }
  }
  return out;
}

/** The violations as lines ("run 2: kernel k was forced to tactic 8/1 but reports executing \"16/0\" …"). */
export function observedViolations(kernel: string, forced: Tactic | string, runs: readonly Observed[]): string[] {
  return runViolations(kernel, forced, runs).map((v) => v.text);
}

/** The verdict of a tactic whose runs violate the contract: incorrect, one 'malformed' finding per violation. */
export function violationsVerdict(violations: readonly Violation[], context: FindingContext): Verdict {
  const findings: Finding[] = violations.map((v) => (v.where === 'tactic'
    ? { kind: 'malformed', where: 'tactic', observed: v.text, reference: `the forced tactic ${context.tactic}`, detail: 'the run did not execute (or did not echo) the tactic it was forced to run' }
    : { kind: 'malformed', where: 'results', observed: v.text, reference: 'output [T,H] bf16, ids [T,k] int32, weights [T,k] float32', detail: 'the provider saw a contract violation in what the kernel returned' }));
  return {
    disposition: 'incorrect', tactic: context.tactic, counts: zeroCounts(), worst: null, findings,
    lines: findings.map((f) => formatFinding(f, context)), histogram: new Array<number>(RATIO_BIN_LABELS.length).fill(0),
  };
}
