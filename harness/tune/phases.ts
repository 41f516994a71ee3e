/**
 * Where a tune's time goes: wall milliseconds per phase, measured by the tuner itself, so a
 * GPU run shows which of generate, reference, prepare, verification runs, digests, judging
 * and timing repeats fills the 2-minute budget (docs/tuner.md, "Where the time goes").
 *
 * Phases are exclusive: a phase timed inside another (a forced-ids reference inside the
 * judge) is charged to itself and taken out of the outer one, so the phases add up to at
 * most the tune's elapsed time; the rest (tactic enumeration, bookkeeping) is 'other'.
 *
 * A reference computed AHEAD (the next bucket's, while this bucket's tactics run on the
 * kernel: TuneOptions.referenceSchedule 'ahead') costs the tuner only the time it WAITED for
 * it ('reference'); its whole compute time is recorded apart (referenceComputedMs), so the
 * difference is what the overlap hid.
 */

/** The phases of a tune, in the order a bucket meets them. */
export const TUNE_PHASES = ['generate', 'reference', 'prepare', 'verify_runs', 'digests', 'judge', 'timing', 'release'] as const;
export type TunePhase = (typeof TUNE_PHASES)[number];

/** What each phase is (the table's legend). */
export const PHASE_HELP: Readonly<Record<TunePhase, string>> = {
  generate: 'tuning inputs of each bucket (the weights once per tune)',
  reference: 'waiting for the reference (its compute time is referenceComputedMs)',
  prepare: "provider.prepare: the case converted and uploaded to the kernel's layout",
  verify_runs: 'the two poisoned verification runs of every tactic',
  digests: 'input digests around every verification (before and after)',
  judge: 'judging each verified tactic against the reference',
  timing: 'warm-up and timed repeats of every verified tactic',
  release: 'provider.release of each bucket',
};

export interface PhaseTimes {
  /** Wall ms per phase (exclusive: they add up to at most the tune's elapsed time). */
  readonly ms: Readonly<Record<TunePhase, number>>;
  /** Calls charged to each phase (runs, digests, judgements, …). */
  readonly calls: Readonly<Record<TunePhase, number>>;
  /** Wall ms of every reference computation, whether waited for or computed ahead. */
  readonly referenceComputedMs: number;
  /** References computed. */
  readonly references: number;
}

const zeros = (): Record<TunePhase, number> => Object.fromEntries(TUNE_PHASES.map((p) => [p, 0])) as Record<TunePhase, number>;

/** Accumulates the phases of one tune. Not re-entrant across concurrent flows: only the tuner's sequential flow charges phases. */
export class PhaseClock {
  private readonly ms = zeros();
  private readonly calls = zeros();
  /** Time spent in phases nested inside the one now open, per open level. */
  private readonly nested: number[] = [];
  private referenceMs = 0;
  private referenceCount = 0;

  constructor(private readonly now: () => number = () => performance.now()) {}

  /** Run fn, charging its wall time (less any phase nested in it) to `phase`. */
  async time<T>(phase: TunePhase, fn: () => Promise<T> | T): Promise<T> {
    const t0 = this.now();
    this.nested.push(0);
    try {
      return await fn();
    } finally {
      const wall = this.now() - t0;
      const inner = this.nested.pop()!;
      this.ms[phase] += wall - inner;
      this.calls[phase]++;
      if (this.nested.length > 0) this.nested[this.nested.length - 1]! += wall;
    }
  }

  /** A synchronous phase (generation). */
  timeSync<T>(phase: TunePhase, fn: () => T): T {
    const t0 = this.now();
    try {
      return fn();
    } finally {
      const wall = this.now() - t0;
      this.ms[phase] += wall;
      this.calls[phase]++;
      if (this.nested.length > 0) this.nested[this.nested.length - 1]! += wall;
    }
  }

  /** One reference computation finished (waited for or computed ahead) after `ms`. */
  referenceComputed(ms: number): void {
    this.referenceMs += ms;
    this.referenceCount++;
  }

  snapshot(): PhaseTimes {
    return { ms: { ...this.ms }, calls: { ...this.calls }, referenceComputedMs: this.referenceMs, references: this.referenceCount };
  }
}

const s = (ms: number): string => `${(ms / 1000).toFixed(1)} s`;

/** One line: "generate 0.4 s, reference 3.1 s (computed 16.0 s, 12.9 s hidden), prepare 4.2 s (13), …, other 0.3 s". */
export function formatPhases(p: PhaseTimes, elapsedMs: number): string {
  const parts = TUNE_PHASES.map((ph) => {
    const n = p.calls[ph];
    if (ph === 'reference') {
      const hidden = Math.max(0, p.referenceComputedMs - p.ms.reference);
      return `reference ${s(p.ms.reference)} waited (${p.references} computed in ${s(p.referenceComputedMs)}, ${s(hidden)} hidden behind the kernel's runs)`;
    }
    return `${ph} ${s(p.ms[ph])} (${n})`;
  });
  const other = elapsedMs - TUNE_PHASES.reduce((a, ph) => a + p.ms[ph], 0);
  return `${parts.join(', ')}, other ${s(Math.max(0, other))}`;
}
