/**
 * Shards of a campaign across CI runners (or across the GPUs of one host): case i of the
 * unsharded list runs on shard i mod total. The list is generated in full on every shard
 * (same seed → same cases, same data seeds), so shards are disjoint, their union is the
 * unsharded run, and every record keeps its unsharded case index.
 *
 * Where the shard comes from, first match wins:
 *   1. `--shard I/N` on the command line (0-based I; `--shard none` turns sharding off);
 *   2. CI_NODE_INDEX / CI_NODE_TOTAL, read the way ava 7 reads them (the ci-parallel-vars
 *      convention): CI_NODE_INDEX is 0-based, except under GitLab (GITLAB_CI set), whose
 *      CI_NODE_INDEX is 1-based. Both must be set, or neither.
 * ava shards its test FILES by the same variables, but only when it detects a CI
 * environment (CI=true, or AVA_FORCE_CI=ci); campaigns honour them whenever both are set.
 */
import { BadArgumentError } from '../reference/errors.js';

export interface Shard {
  /** 0-based. */
  readonly index: number;
  readonly total: number;
}

/** Where a shard came from, for messages and the report. */
export type ShardSource = 'option' | 'environment';

const INT = /^\d+$/;

/** Parse `--shard I/N` (0-based I < N) or `none`. */
export function parseShardOption(text: string): Shard | null {
  if (text === 'none') return null;
  const m = /^(\d+)\/(\d+)$/.exec(text.trim());
  if (!m) throw new BadArgumentError('--shard', 'I/N with 0 <= I < N (0-based), or none', JSON.stringify(text));
  const index = Number(m[1]);
  const total = Number(m[2]);
  if (total < 1 || index >= total) throw new BadArgumentError('--shard', 'I/N with 0 <= I < N (0-based), or none', JSON.stringify(text));
  return { index, total };
}

/** The shard CI_NODE_INDEX / CI_NODE_TOTAL name, or null when neither is set. */
export function shardFromEnv(env: NodeJS.ProcessEnv = process.env): Shard | null {
  const rawIndex = env.CI_NODE_INDEX;
  const rawTotal = env.CI_NODE_TOTAL;
  const set = (v: string | undefined): v is string => v !== undefined && v !== '';
  if (!set(rawIndex) && !set(rawTotal)) return null;
  if (!set(rawIndex) || !set(rawTotal)) {
    throw new BadArgumentError('CI_NODE_INDEX and CI_NODE_TOTAL', 'both set, or neither', `CI_NODE_INDEX=${rawIndex ?? '(unset)'} CI_NODE_TOTAL=${rawTotal ?? '(unset)'}`);
  }
  const gitlab = set(env.GITLAB_CI);
  if (!INT.test(rawTotal) || Number(rawTotal) < 1) throw new BadArgumentError('CI_NODE_TOTAL', 'an integer >= 1', JSON.stringify(rawTotal));
  const total = Number(rawTotal);
  const lo = gitlab ? 1 : 0;
  if (!INT.test(rawIndex) || Number(rawIndex) < lo || Number(rawIndex) > total - 1 + lo) {
    throw new BadArgumentError('CI_NODE_INDEX', `an integer from ${lo} to ${total - 1 + lo} (${gitlab ? '1-based under GitLab (GITLAB_CI set)' : '0-based'}, CI_NODE_TOTAL=${total})`, JSON.stringify(rawIndex));
  }
  return { index: Number(rawIndex) - lo, total };
}

/** The shard to run: the option when given, else the environment; null means unsharded. */
export function resolveShard(option: string | undefined, env: NodeJS.ProcessEnv = process.env): { shard: Shard | null; source?: ShardSource } {
  if (option !== undefined) {
    const shard = parseShardOption(option);
    return shard ? { shard, source: 'option' } : { shard: null };
  }
  const shard = shardFromEnv(env);
  return shard ? { shard, source: 'environment' } : { shard: null };
}

/** Whether case `caseIndex` of the unsharded list belongs to `shard`. */
export function inShard(caseIndex: number, shard: Shard | null): boolean {
  return shard === null || caseIndex % shard.total === shard.index;
}

/** The items of `shard`, each with its index in the unsharded list. */
export function shardItems<T>(items: readonly T[], shard: Shard | null): Array<{ readonly item: T; readonly index: number }> {
  return items.map((item, index) => ({ item, index })).filter(({ index }) => inShard(index, shard));
}

export const shardLabel = (s: Shard): string => `${s.index}/${s.total}`;
