/**
 * TimedProvider: a Provider that charges each call of the provider it wraps to a tune phase
 * (phases.ts): prepare → 'prepare', inputsDigest → 'digests', release → 'release', and run →
 * whichever phase the tuner says its runs are in now (`runPhase`: 'verify_runs' while a tactic
 * is verified, 'timing' while it is timed). Everything else passes through untimed. The
 * wrapper changes nothing the provider returns or throws.
 */
import type { Case } from '../../reference/case.js';
import type { Problem } from '../../reference/problem.js';
import type { Observed, Provider, ProviderDescription, RunOptions, Tactic, TacticList } from '../kernels/provider.js';
import type { PhaseClock, TunePhase } from './phases.js';

export type RunPhase = Extract<TunePhase, 'verify_runs' | 'timing'>;

export class TimedProvider<H = unknown> implements Provider<H> {
  /** The phase the next run() calls are charged to. */
  runPhase: RunPhase = 'verify_runs';
  constructor(readonly inner: Provider<H>, private readonly clock: PhaseClock) {}
  get name(): string { return this.inner.name; }
  describe(): Promise<ProviderDescription> { return this.inner.describe(); }
  tactics(p: Problem): Promise<TacticList> { return this.inner.tactics(p); }
  prepare(c: Case): Promise<H> { return this.clock.time('prepare', () => this.inner.prepare(c)); }
  run(h: H, t: Tactic, o: RunOptions): Promise<Observed> { return this.clock.time(this.runPhase, () => this.inner.run(h, t, o)); }
  inputsDigest(h: H): Promise<string> { return this.clock.time('digests', () => this.inner.inputsDigest(h)); }
  release(h: H): Promise<void> { return this.clock.time('release', () => this.inner.release(h)); }
  close(): Promise<void> { return this.inner.close(); }
}
