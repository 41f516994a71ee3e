/**
 * Timing one tactic under the noise policy. The provider reports its own kernel
 * time (CUDA events in the addon, the C ABI host, the adapter: Observed.ms); the tuner
 * never times a GPU kernel with the host clock. A provider that reports no time is timed
 * by the host wall clock around run(), and the result says so (clock 'host_wall'); under
 * MOE_HARNESS_REQUIRE_GPU=1 that fallback is an error.
 *
 * Policy: `warmup` untimed runs; then `minRepeats` timed runs; while the median's relative
 * standard error is above `errorLimit` and fewer than `maxRepeats` ran, `batch` more. The
 * estimate is the median; the spread is the relative median absolute deviation MAD/median,
 * and the median's relative standard error is estimated from it (robust to the odd slow run):
 *   se ≈ 1.2533 · σ/√n,  σ ≈ 1.4826 · MAD   ⇒   se/median ≈ 1.858 · (MAD/median)/√n.
 *
 * Why the defaults (3 warm-up, ≥ 5 repeats, se ≤ 0.6%, cap 50; docs/tuner.md): the target is
 * the tuned choice within 3% of the oracle-best. Two tactics' medians are each within 2·se of
 * their truth (95%), so a wrong pick costs at most 4·se = 2.4% < 3%. The rule adapts to the
 * noise: a quiet ~1 ms kernel (MAD/median ≤ 0.72%) stops at 5 repeats; 1% needs 10, 2% needs
 * 39; a tactic still above 0.6% at 50 repeats (MAD/median > 2.28%) stops there ('capped',
 * reported with its spread). A fixed spread rule ("stop when MAD/median < 2% after 5") would
 * allow se ≈ 1.66% at n = 5, i.e. wrong picks of up to 6.6%: not within the target.
 */
import { BadArgumentError } from '../../reference/errors.js';

export interface NoisePolicy {
  readonly warmup: number;
  readonly minRepeats: number;
  readonly maxRepeats: number;
  /** Repeats added per round while the spread is too wide. */
  readonly batch: number;
  /** Largest relative standard error of the median accepted (0.006 = 0.6%), estimated from MAD/median (relativeStandardError). */
  readonly errorLimit: number;
}

export const DEFAULT_NOISE_POLICY: NoisePolicy = { warmup: 3, minRepeats: 5, maxRepeats: 50, batch: 5, errorLimit: 0.006 };

/** How the time was read: the provider's own kernel clock, or (fallback) the host wall clock around run(). */
export type TimingClock = 'kernel' | 'host_wall';
/** Why the repeats stopped: the median's standard error fell within the limit, or the cap was reached. */
export type TimingStop = 'settled' | 'capped';

export interface Timing {
  readonly medianMs: number;
  readonly spread: number;
  /** The median's relative standard error estimated from the spread (relativeStandardError). */
  readonly error: number;
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
  if (!(p.errorLimit > 0 && p.errorLimit < 1)) throw new BadArgumentError('error-limit', 'a number in (0, 1)', String(p.errorLimit));
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

/** √(π/2) · 1.4826: the median's standard error per unit of MAD, times √n (normal noise). */
const SE_PER_MAD = 1.2533 * 1.4826;

/** The median's relative standard error estimated from the samples' MAD/median: 1.858 · spread / √n (Infinity for no sample). */
export function relativeStandardError(xs: readonly number[]): number {
  if (xs.length === 0) return Infinity;
  return (SE_PER_MAD * relativeSpread(xs)) / Math.sqrt(xs.length);
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
  while (relativeStandardError(samples) > policy.errorLimit && samples.length < policy.maxRepeats) {
    const n = Math.min(policy.batch, policy.maxRepeats - samples.length);
    for (let i = 0; i < n; i++) await once();
  }
  const error = relativeStandardError(samples);
  return { medianMs: median(samples), spread: relativeSpread(samples), error, repeats: samples.length, stop: error <= policy.errorLimit ? 'settled' : 'capped', clock, samples };
}
