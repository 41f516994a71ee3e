/**
 * The tuning cache file (JSON) and lookups in it.
 *
 * Keyed by everything that changes the answer:
 *   - the environment (environment.ts): device name, SM count, driver, kernel name, kernel
 *     build id / adapter version, harness version — one block per file;
 *   - the problem signature (problemSignature): every Problem field but T and name —
 *     shapes, expert-parallel slice, routing method and parameters, logits and bias dtypes,
 *     quant mode, activation and its parameters;
 *   - the token bucket (buckets.ts).
 * Lookup: an environment that differs in any field is refused loudly (StaleCacheError naming
 * each field, cached vs now); so is an entry whose tactic the kernel no longer enumerates
 * for the bucket, or that is on the entry's own blocklist. A problem or bucket not in the
 * file is a miss: the kernel's default tactic with a warning. A cached tactic that is
 * not runnable at this T (only at the bucket's T) also gets the default, with a warning.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { BadArgumentError } from '../../reference/errors.js';
import type { Problem } from '../../reference/problem.js';
import type { LaunchMode, Tactic } from '../kernels/provider.js';
import type { BlockedTactic } from './blocklist.js';
import { bucketOf } from './buckets.js';
import { ENVIRONMENT_FIELDS, type TuneEnvironment } from './environment.js';
import type { TimingClock, TimingStop } from './timing.js';
import type { L2Mode } from './timingModes.js';

const CACHE_FORMAT = 'moe-harness-tune-cache';
const CACHE_FORMAT_VERSION = 1;

export interface BucketChoice {
  readonly tactic: string;
  readonly medianMs: number;
  readonly spread: number;
  /** The median's relative standard error (timing.ts); absent in caches written before it was recorded. */
  readonly error?: number;
  readonly repeats: number;
  readonly stop: TimingStop;
  readonly clock: TimingClock;
  /** The kernel's default tactic at this bucket and its time (null: it failed verification). */
  readonly defaultTactic: string;
  readonly defaultMs: number | null;
  /** Tactics verified and timed. */
  readonly verified: number;
}

export interface ProblemEntry {
  /** The problem at its largest bucket (T = maxTokens), for --check and replay. */
  readonly problem: Problem;
  readonly maxTokens: number;
  readonly seed: number;
  /** Non-default initializers, "hidden=zero" ('' for none). */
  readonly initializers: string;
  readonly buckets: Readonly<Record<string, BucketChoice>>;
  readonly blocklist: readonly BlockedTactic[];
  /** How the choices were timed (timingModes.ts: the modes used, after what the provider supports); absent in older caches. */
  readonly timedWith?: { readonly l2: L2Mode; readonly launch: LaunchMode };
}

export interface TuneCache {
  readonly format: typeof CACHE_FORMAT;
  readonly formatVersion: number;
  readonly environment: TuneEnvironment;
  readonly problems: Readonly<Record<string, ProblemEntry>>;
}

/** Canonical JSON (sorted keys) of a value. */
function canonical(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonical).join(',')}]`;
  if (v !== null && typeof v === 'object') {
    return `{${Object.keys(v).sort().filter((k) => (v as Record<string, unknown>)[k] !== undefined).map((k) => `${JSON.stringify(k)}:${canonical((v as Record<string, unknown>)[k])}`).join(',')}}`;
  }
  return JSON.stringify(v);
}

/** Every field of the problem that changes the answer, T and name excluded, as one string. */
export function problemSignature(p: Problem): string {
  const { T: _t, name: _n, ...rest } = p;
  return canonical(rest);
}

export class StaleCacheError extends Error {
  override readonly name = 'StaleCacheError';
}

export function emptyCache(environment: TuneEnvironment): TuneCache {
  return { format: CACHE_FORMAT, formatVersion: CACHE_FORMAT_VERSION, environment, problems: {} };
}

/** The fields in which two environments differ: "driver: cached 550.54, now 560.35". */
export function environmentMismatches(cached: TuneEnvironment, now: TuneEnvironment): string[] {
  return ENVIRONMENT_FIELDS.filter((f) => String(cached[f]) !== String(now[f])).map((f) => `${f}: cached ${JSON.stringify(cached[f])}, now ${JSON.stringify(now[f])}`);
}

/** Refuse (StaleCacheError) a cache made in another environment. */
export function assertSameEnvironment(cache: TuneCache, now: TuneEnvironment, file = 'the tune cache'): void {
  const diff = environmentMismatches(cache.environment, now);
  if (diff.length > 0) {
    throw new StaleCacheError(`${file} was tuned in another environment and is refused (never reused silently): ${diff.join('; ')}. Re-tune with moe-harness tune, or pass the matching kernel/device`);
  }
}

/** Read and check a tune cache file; `option` is the option that named it (--cache, or tune --check). */
export function readTuneCache(path: string, option = '--cache'): TuneCache {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    throw new BadArgumentError(option, 'a readable JSON tune cache file', `${path} (${(e as Error).message.split('\n')[0]})`);
  }
  const c = raw as Partial<TuneCache>;
  if (c?.format !== CACHE_FORMAT) throw new BadArgumentError(option, `a file with "format": "${CACHE_FORMAT}"`, `${path} with format ${JSON.stringify(c?.format)}`);
  if (c.formatVersion !== CACHE_FORMAT_VERSION) throw new BadArgumentError(option, `formatVersion ${CACHE_FORMAT_VERSION}`, `${path} with formatVersion ${JSON.stringify(c.formatVersion)} (re-tune)`);
  if (typeof c.environment !== 'object' || c.environment === null || typeof c.problems !== 'object' || c.problems === null) {
    throw new BadArgumentError(option, 'environment and problems objects', `${path} without them`);
  }
  for (const f of ENVIRONMENT_FIELDS) {
    if (!(f in c.environment)) throw new BadArgumentError(option, `environment.${f}`, `${path} without it`);
  }
  return c as TuneCache;
}

export function writeTuneCache(path: string, cache: TuneCache): void {
  writeFileSync(path, `${JSON.stringify(cache, null, 2)}\n`);
}

/** The cache with one problem's entry replaced. */
export function withEntry(cache: TuneCache, entry: ProblemEntry): TuneCache {
  return { ...cache, problems: { ...cache.problems, [problemSignature(entry.problem)]: entry } };
}

export type Lookup =
  | { readonly kind: 'hit'; readonly bucket: number; readonly tactic: Tactic }
  | { readonly kind: 'miss'; readonly bucket: number | null; readonly tactic: Tactic; readonly warning: string };

/**
 * The tactic to run for a problem (its T picks the bucket). `enumerated` is the kernel's
 * tactic list for this problem, `atBucket` its list at the bucket's T, `fallback` its default.
 */
export function lookupTactic(
  cache: TuneCache, now: TuneEnvironment, problem: Problem,
  kernel: { readonly enumerated: readonly Tactic[]; readonly atBucket: (T: number) => readonly Tactic[]; readonly fallback: Tactic },
  file = 'the tune cache',
): Lookup {
  assertSameEnvironment(cache, now, file);
  const entry = cache.problems[problemSignature(problem)];
  if (!entry) {
    return { kind: 'miss', bucket: null, tactic: kernel.fallback, warning: `warning: ${file} has no entry for this problem (${problemSignature(problem)}); running the kernel's default tactic ${kernel.fallback.label} untuned` };
  }
  const bucket = bucketOf(problem.T, entry.maxTokens);
  const choice = entry.buckets[String(bucket)];
  if (!choice) {
    return { kind: 'miss', bucket, tactic: kernel.fallback, warning: `warning: ${file} has no choice for bucket ${bucket} (T=${problem.T}); running the kernel's default tactic ${kernel.fallback.label} untuned` };
  }
  const blocked = entry.blocklist.find((b) => b.tactic === choice.tactic && b.bucket === bucket);
  if (blocked) throw new StaleCacheError(`${file}: bucket ${bucket} chooses tactic ${choice.tactic}, which the same entry blocklists (${blocked.disposition}): the file is inconsistent and is refused; re-tune`);
  if (!kernel.atBucket(bucket).some((t) => t.label === choice.tactic)) {
    throw new StaleCacheError(`${file}: bucket ${bucket} chooses tactic ${choice.tactic}, which ${now.kernel} no longer enumerates at T=${bucket}: the entry is stale and is refused; re-tune`);
  }
  const t = kernel.enumerated.find((x) => x.label === choice.tactic);
  if (!t) {
    return { kind: 'miss', bucket, tactic: kernel.fallback, warning: `warning: tactic ${choice.tactic} tuned for bucket ${bucket} cannot run at T=${problem.T} (the kernel does not enumerate it there); running the kernel's default tactic ${kernel.fallback.label}` };
  }
  return { kind: 'hit', bucket, tactic: t };
}
