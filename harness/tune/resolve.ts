/**
 * resolveTactic: the library call a caller makes before running a kernel — which tactic for
 * this problem, from a tune cache. The provider's own enumeration (at T and at the bucket's
 * T), its default tactic (defaultTactic.ts) and its environment (environment.ts) are read
 * here; the decision is lookupTactic's (cache.ts): hit, miss with a warning (the default
 * tactic), or StaleCacheError (refused loudly).
 */
import type { Problem } from '../../reference/problem.js';
import type { Provider, Tactic } from '../kernels/provider.js';
import { lookupTactic, problemSignature, type Lookup, type TuneCache } from './cache.js';
import { bucketOf } from './buckets.js';
import { defaultTacticOf } from './defaultTactic.js';
import { detectEnvironment, type TuneEnvironment } from './environment.js';

export async function resolveTactic(
  cache: TuneCache, provider: Provider, kind: string, problem: Problem,
  opts: { readonly file?: string; readonly environment?: TuneEnvironment } = {},
): Promise<Lookup> {
  const enumerated = (await provider.tactics(problem)).tactics;
  const def = await defaultTacticOf(kind, provider, problem, enumerated);
  if (def === null) throw new Error(`${provider.name} enumerates no tactic for this problem: nothing to run`);
  const entry = cache.problems[problemSignature(problem)];
  const bucket = entry ? bucketOf(problem.T, entry.maxTokens) : problem.T;
  const atBucket: readonly Tactic[] = bucket === problem.T ? enumerated : (await provider.tactics({ ...problem, T: bucket })).tactics;
  const environment = opts.environment ?? (await detectEnvironment(await provider.describe()));
  return lookupTactic(cache, environment, problem, { enumerated, atBucket: () => atBucket, fallback: def.tactic }, opts.file);
}
