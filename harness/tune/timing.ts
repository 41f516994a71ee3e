/**
 * Timing one tactic under the noise policy. The provider reports its own kernel
 * time (CUDA events in the addon, the C ABI host, the adapter: Observed.ms); the tuner
 * never times a GPU kernel with the host clock. A provider that reports no time is timed
 * by the host wall clock around run(), and the result says so (clock 'host_wall'); under
 * MOE_HARNESS_REQUIRE_GPU=1 that fallback is an error.
 *
 * Policy: `warmup` untimed runs; then `minRepeats` timed runs; while the spread is wider
 * than `spreadLimit` and fewer than `maxRepeats` ran, `batch` more. The estimate is the
 * median; the spread is the relative median absolute deviation MAD/median.
 *
 * Why the defaults (docs/tuner.md): the target is the tuned choice within 3% of the
 * oracle-best. For roughly normal noise σ ≈ 1.4826·MAD, and the median's standard error is
 * ≈ 1.2533·σ/√n. With MAD/median ≤ 1% and n ≥ 10: se ≤ 1.2533·1.4826·1%/√10 ≈ 0.59% of the
 * median, so two tactics' medians are each within 2·se ≈ 1.2% (95%) and a wrong pick costs at
 * most ≈ 2.4% < 3%. A tactic still wider than 1% at maxRepeats (50) stops there ('capped',
 * reported with its spread): its se is then ≤ 1.2533·1.4826·s/√50 ≈ 0.26·s.
 */
import { BadArgumentError } from '../../reference/errors.js';

export interface NoisePolicy {
  readonly warmup: number;
  readonly minRepeats: number;
  readonly maxRepeats: number;
  /** Repeats added per round while the spread is too wide. */
  readonly batch: number;
  /** Largest MAD/median accepted (0.01 = 1%). */
  readonly spreadLimit: number;
}

export const DEFAULT_NOISE_POLICY: NoisePolicy = { warmup: 3, minRepeats: 10, maxRepeats: 50, batch: 10, spreadLimit: 0.01 };

/** How the time was read: the provider's own kernel clock, or (fallback) the host wall clock around run(). */
export type TimingClock = 'kernel' | 'host_wall';
/** Why the repeats stopped: the spread fell within the limit, or the cap was reached. */
export type TimingStop = 'settled' | 'capped';

export interface Timing {
  readonly medianMs: number;
  readonly spread: number;
  readonly repeats: number;
  readonly stop: TimingStop;
  readonly clock: TimingClock;
  /** Every timed sample (ms), in order. */
  readonly samples: readonly number[];
}

export function checkNoisePolicy(p: NoisePolicy): void {
  const int = (name: string, v: number, min: number): void => {
    if (!Number.isInteger(v) || v < min) throw new BadArgumentError(name, `an integer >= ${min}`, String(v));
  };
  int('warmup', p.warmup, 0);
  int('min-repeats', p.minRepeats, 1);
  int('max-repeats', p.maxRepeats, p.minRepeats);
  int('batch', p.batch, 1);
  if (!(p.spreadLimit > 0 && p.spreadLimit < 1)) throw new BadArgumentError('spread-limit', 'a number in (0, 1)', String(p.spreadLimit));
}

export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const n = s.length;
  if (n === 0) return NaN;
  return n % 2 ? s[(n - 1) / 2]! : (s[n / 2 - 1]! + s[n / 2]!) / 2;
}

/** MAD/median of the samples (0 for a single sample). */
export function relativeSpread(xs: readonly number[]): number {
  const m = median(xs);
  if (!(m > 0)) return Infinity;
  return median(xs.map((x) => Math.abs(x - m))) / m;
}

/** One timed run: the provider's kernel ms, or undefined when it reports none. */
export type TimedRun = () => Promise<number | undefined>;

/**
 * What measure does when a run reports no kernel time: 'host_wall' times it with the host's
 * wall clock (the Timing says so), 'refuse' throws (MOE_HARNESS_REQUIRE_GPU=1).
 */
export type ClockFallback = 'host_wall' | 'refuse';

/** Time one tactic under the policy. */
export async function measure(run: TimedRun, policy: NoisePolicy = DEFAULT_NOISE_POLICY, opts: { clockFallback?: ClockFallback } = {}): Promise<Timing> {
  checkNoisePolicy(policy);
  for (let i = 0; i < policy.warmup; i++) await run();
  const samples: number[] = [];
  let clock: TimingClock = 'kernel';
  const once = async (): Promise<void> => {
    const t0 = performance.now();
    const ms = await run();
    const wall = performance.now() - t0;
    if (ms === undefined || !Number.isFinite(ms) || ms < 0) {
      if (opts.clockFallback === 'refuse') throw new Error(`the kernel reported no kernel time (Observed.ms ${String(ms)}) and MOE_HARNESS_REQUIRE_GPU=1 forbids the host-wall-clock fallback`);
      clock = 'host_wall';
      samples.push(wall);
    } else {
      samples.push(ms);
    }
  };
  for (let i = 0; i < policy.minRepeats; i++) await once();
  while (relativeSpread(samples) > policy.spreadLimit && samples.length < policy.maxRepeats) {
    const n = Math.min(policy.batch, policy.maxRepeats - samples.length);
    for (let i = 0; i < n; i++) await once();
  }
  const spread = relativeSpread(samples);
  return { medianMs: median(samples), spread, repeats: samples.length, stop: spread <= policy.spreadLimit ? 'settled' : 'capped', clock, samples };
}
