/**
 * Runs tactics in this process. For the emulated kernel and for tests; a CUDA fault
 * here would poison the process, so native campaigns use childRunner.ts.
 */
import {
  DEFAULT_REPEATS, checkRepeats, describeError, executeTactic, generatedCase, isUnsupported, selectedTactics,
  type CaseOutcome, type CaseRunner, type RunCaseOptions, type RunnableCase, type TacticOutcome,
} from './caseRunner.js';
import type { Provider, ProviderDescription } from './kernels/provider.js';

export class InlineRunner implements CaseRunner {
  /** `repeats`: runs of each tactic on identical inputs (>= 2). */
  constructor(private readonly kernel: Provider, private readonly repeats = DEFAULT_REPEATS) {
    checkRepeats(repeats);
  }

  /** The kernel runs here, on the generated case's own arrays. */
  readonly input = 'data';

  describe(): Promise<ProviderDescription> {
    return this.kernel.describe();
  }

  async runCase(input: RunnableCase, filter: readonly string[] | undefined, onTactic?: (o: TacticOutcome) => void, opts: RunCaseOptions = {}): Promise<CaseOutcome> {
    const c = generatedCase(input, 'the in-process runner');
    let tactics;
    try {
      tactics = await selectedTactics(this.kernel, c.spec.problem, filter);
    } catch (e) {
      return isUnsupported(e) ? { kind: 'not_supported', message: describeError(e) } : { kind: 'prepare_crashed', message: describeError(e) };
    }
    const todo = tactics.filter((t) => !opts.skip?.has(t.label));
    const outcomes: TacticOutcome[] = [];
    if (todo.length === 0) return { kind: 'ran', tactics, outcomes };
    if (opts.signal?.aborted) return { kind: 'ran', tactics, outcomes, interrupted: true };
    let handle: unknown;
    try {
      const t0 = performance.now();
      handle = await this.kernel.prepare(c);
      opts.onPhase?.('prepare', performance.now() - t0);
    } catch (e) {
      if (isUnsupported(e)) return { kind: 'not_supported', message: describeError(e) };
      // Attributed to each tactic: the case's per-tactic records are kept.
      for (const t of todo) {
        const o: TacticOutcome = { kind: 'crashed', tactic: t, message: `prepare: ${describeError(e)}` };
        outcomes.push(o);
        onTactic?.(o);
      }
      return { kind: 'ran', tactics, outcomes };
    }
    try {
      for (const t of todo) {
        if (opts.signal?.aborted) return { kind: 'ran', tactics, outcomes, interrupted: true };
        const { fatal: _fatal, ...o } = await executeTactic(this.kernel, handle, t, this.repeats);
        outcomes.push(o);
        onTactic?.(o);
      }
    } finally {
      await this.kernel.release(handle);
    }
    return { kind: 'ran', tactics, outcomes };
  }

  close(): Promise<void> {
    return this.kernel.close();
  }
}
