/**
 * The benchmark's oracle for one bucket: every enumerated tactic (blocklisted ones too) timed
 * with interleaved rounds — round r runs each tactic once, in an order rotated by r, after one
 * untimed warm-up round — so slow drift (clocks, temperature) hits every tactic alike. The
 * estimate per tactic is the median of its kernel times.
 *
 * Adaptive rounds: after `minRounds`, the oracle stops as soon as every RELEVANT tactic's
 * median has a relative standard error (timing.ts relativeStandardError) at most `errorLimit`;
 * a tactic is relevant while its median is within `relevance` of the best (a tactic 10%
 * slower than the best can neither be the best nor pass for it under a 3% target, so its
 * precision does not matter). At `maxRounds` it stops anyway ('capped'). Defaults: 5 rounds
 * at least, se <= 0.25% (the gap to the oracle-best is then known to ±0.7% at 95%), 10%
 * relevance, 30 rounds at most.
 *
 * A run that throws gives that tactic no sample for the round (it is reported with the first
 * error); a fatal error (CudaError) ends the oracle: the context is poisoned.
 */
import type { Case } from '../../reference/case.js';
import { describeError, isFatal, POISON } from '../caseRunner.js';
import type { Provider, RunOptions, Tactic } from '../kernels/provider.js';
import { median, relativeStandardError } from './timing.js';

export interface OracleOptions {
  readonly minRounds: number;
  readonly maxRounds: number;
  readonly errorLimit: number;
  readonly relevance: number;
  /** Timing options of every run (the tune's: cold L2 …). */
  readonly runOptions?: Omit<RunOptions, 'poison'>;
}

export const DEFAULT_ORACLE_OPTIONS: OracleOptions = { minRounds: 5, maxRounds: 30, errorLimit: 0.0025, relevance: 0.1 };

export type OracleStop = 'settled' | 'capped' | 'fatal';

export interface OracleTiming {
  readonly medianMs: number;
  readonly error: number;
  readonly samples: number;
}

export interface OracleResult {
  /** Per tactic label: its median kernel ms, standard error and samples (tactics that never ran are absent). */
  readonly timings: Readonly<Record<string, OracleTiming>>;
  /** Per tactic label that threw: the first error. */
  readonly failures: Readonly<Record<string, string>>;
  readonly rounds: number;
  readonly stop: OracleStop;
  readonly wallMs: number;
}

/** Whether every relevant tactic's median is settled (see the file comment). */
export function oracleSettled(samples: ReadonlyMap<string, readonly number[]>, errorLimit: number, relevance: number): boolean {
  const medians = [...samples.values()].filter((s) => s.length > 0).map(median);
  if (medians.length === 0) return false;
  const best = Math.min(...medians);
  for (const s of samples.values()) {
    if (s.length === 0) continue;
    if (median(s) > best * (1 + relevance)) continue;
    if (relativeStandardError(s) > errorLimit) return false;
  }
  return true;
}

/** Time every tactic on a prepared case, interleaved, until settled or capped. */
export async function oracle(provider: Provider, handle: unknown, tactics: readonly Tactic[], opts: OracleOptions = DEFAULT_ORACLE_OPTIONS): Promise<OracleResult> {
  const t0 = performance.now();
  const samples = new Map<string, number[]>(tactics.map((t) => [t.label, []]));
  const failures: Record<string, string> = {};
  const runOptions: RunOptions = { ...opts.runOptions, poison: POISON[0] };
  let rounds = 0;
  let stop: OracleStop = 'capped';
  outer: for (let r = -1; r < opts.maxRounds; r++) {
    for (let i = 0; i < tactics.length; i++) {
      const t = tactics[(i + Math.max(r, 0)) % tactics.length]!;
      if (failures[t.label] !== undefined) continue;
      try {
        const o = await provider.run(handle, t, runOptions);
        if (r >= 0 && o.ms !== undefined && Number.isFinite(o.ms)) samples.get(t.label)!.push(o.ms);
      } catch (e) {
        failures[t.label] = describeError(e);
        if (isFatal(e)) {
          stop = 'fatal';
          break outer;
        }
      }
    }
    if (r >= 0) rounds = r + 1;
    if (rounds >= opts.minRounds && oracleSettled(samples, opts.errorLimit, opts.relevance)) {
      stop = 'settled';
      break;
    }
  }
  const timings: Record<string, OracleTiming> = {};
  for (const [label, s] of samples) if (s.length > 0) timings[label] = { medianMs: median(s), error: relativeStandardError(s), samples: s.length };
  return { timings, failures, rounds, stop, wallMs: performance.now() - t0 };
}

/** Convenience: the oracle of one case on a provider (prepare, time, release). */
export async function oracleOfCase(provider: Provider, c: Case, tactics: readonly Tactic[], opts: OracleOptions = DEFAULT_ORACLE_OPTIONS): Promise<OracleResult> {
  const handle = await provider.prepare(c);
  try {
    return await oracle(provider, handle, tactics, opts);
  } finally {
    await provider.release(handle).catch(() => undefined);
  }
}
