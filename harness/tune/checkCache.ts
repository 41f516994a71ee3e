/**
 * `tune --check CACHE`: re-verify every cached choice. The cache's environment must match
 * the kernel's now (else StaleCacheError, as at lookup); then, for every problem entry and
 * bucket, the chosen tactic runs on the bucket's tuning inputs (same seed and initializers as
 * when tuned) and is judged. A choice that fails is reported with its finding and replay.
 * A harness error while judging (disposition 'error': the reference or the judge failed) is
 * reported as such: it re-verifies nothing, so it is never counted as a pass.
 */
import { describeError, executeTactic } from '../caseRunner.js';
import { createKernel, type KernelChoice } from '../kernels/select.js';
import type { Provider } from '../kernels/provider.js';
import { assertSameEnvironment, StaleCacheError, type TuneCache } from './cache.js';
import { detectEnvironment, type TuneEnvironment } from './environment.js';
import { parseInitializers, tuningCase } from './initializers.js';
import type { Disposition } from '../verdict.js';
import type { TuneJudge } from './judge.js';
import { tuneReplay } from './tuner.js';

export interface CheckedChoice {
  readonly signature: string;
  readonly bucket: number;
  readonly tactic: string;
  /** 'error': the harness could not judge the choice (not a kernel finding, and not a pass). */
  readonly disposition: Disposition | 'stale';
  readonly lines: readonly string[];
  readonly replay: string;
}

export async function checkCache(cache: TuneCache, opts: {
  readonly kernel: KernelChoice; readonly judge: TuneJudge; readonly file: string;
  readonly createProvider?: () => Promise<Provider>; readonly environment?: TuneEnvironment;
}): Promise<CheckedChoice[]> {
  const provider = await (opts.createProvider ?? (() => createKernel(opts.kernel)))();
  const out: CheckedChoice[] = [];
  try {
    const description = await provider.describe();
    assertSameEnvironment(cache, opts.environment ?? (await detectEnvironment(description)), opts.file);
    for (const [signature, entry] of Object.entries(cache.problems)) {
      for (const [b, choice] of Object.entries(entry.buckets)) {
        const bucket = Number(b);
        const problem = { ...entry.problem, T: bucket };
        const tc = tuningCase(problem, entry.seed, entry.initializers ? parseInitializers(entry.initializers, `${opts.file} initializers`) : {});
        const replay = tuneReplay(tc, choice.tactic, opts.kernel);
        const t = (await provider.tactics(problem)).tactics.find((x) => x.label === choice.tactic);
        if (!t) {
          out.push({ signature, bucket, tactic: choice.tactic, disposition: 'stale', lines: [`tactic ${choice.tactic} is no longer enumerated by ${description.name} at T=${bucket}`], replay });
          continue;
        }
        let handle: unknown;
        try {
          handle = await provider.prepare(tc.case);
        } catch (e) {
          out.push({ signature, bucket, tactic: choice.tactic, disposition: 'crashed', lines: [`prepare: ${describeError(e)}`], replay });
          continue;
        }
        const outcome = await executeTactic(provider, handle, t);
        const j = await opts.judge({ case: tc.case, outcome, kernelName: description.name, conventions: opts.kernel.conventions ?? description.conventions });
        await provider.release(handle).catch(() => undefined);
        out.push({ signature, bucket, tactic: choice.tactic, disposition: j.disposition, lines: j.lines, replay });
      }
    }
  } finally {
    await provider.close().catch(() => undefined);
  }
  return out;
}

export { StaleCacheError };
