/**
 * Runs tactics in this process. For the emulated kernel and for tests; a CUDA fault
 * here would poison the process, so native campaigns use childRunner.ts.
 */
import type { Case } from '../reference/case.js';
import { describeError, executeTactic, isUnsupported, selectedTactics, type CaseOutcome, type CaseRunner, type TacticOutcome } from './caseRunner.js';
import type { Provider, ProviderDescription } from './kernels/provider.js';

export class InlineRunner implements CaseRunner {
  constructor(private readonly kernel: Provider) {}

  describe(): Promise<ProviderDescription> {
    return this.kernel.describe();
  }

  async runCase(c: Case, filter: readonly string[] | undefined, onTactic?: (o: TacticOutcome) => void): Promise<CaseOutcome> {
    let tactics;
    try {
      tactics = await selectedTactics(this.kernel, c, filter);
    } catch (e) {
      return isUnsupported(e) ? { kind: 'not_supported', message: describeError(e) } : { kind: 'prepare_crashed', message: describeError(e) };
    }
    if (tactics.length === 0) {
      // The provider's own reasons, when it gives some (e.g. a routing method it does not support).
      const why = (await this.kernel.tactics(c.spec.problem)).unavailable.slice(0, 3).map((u) => `${u.label}: ${u.reason}`).join('; ');
      return { kind: 'not_supported', message: `kernel ${this.kernel.name} enumerates no tactic${filter ? ` matching ${filter.join(',')}` : ''} for this problem${why ? ` (${why})` : ''}` };
    }
    let handle: unknown;
    try {
      handle = await this.kernel.prepare(c);
    } catch (e) {
      return isUnsupported(e) ? { kind: 'not_supported', message: describeError(e) } : { kind: 'prepare_crashed', message: describeError(e) };
    }
    const outcomes: TacticOutcome[] = [];
    try {
      for (const t of tactics) {
        const { fatal: _fatal, ...o } = await executeTactic(this.kernel, handle, t);
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
