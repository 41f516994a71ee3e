/**
 * The blocklist: tactics that failed verification (incorrect, crashed, or refused an
 * enumerated problem) on a bucket's tuning inputs. An entry keeps the finding lines and the
 * replay command; the tuner reports it and never selects it, and the cache file carries it so
 * a later lookup refuses a cache whose choice is blocklisted.
 */
import type { Disposition } from '../verdict.js';

export interface BlockedTactic {
  readonly tactic: string;
  readonly bucket: number;
  readonly disposition: Exclude<Disposition, 'passed'>;
  /** Finding lines (verdict.ts grammar), at most BLOCKED_LINES. */
  readonly findings: readonly string[];
  readonly replay: string;
}

/** Finding lines kept per blocked tactic in the cache file. */
export const BLOCKED_LINES = 5;

/** One line per blocked tactic for a terminal: "bucket 64: 128/0 incorrect — <first finding>". */
export function formatBlocked(b: BlockedTactic): string[] {
  return [`bucket ${b.bucket}: tactic ${b.tactic} blocklisted (${b.disposition})`, ...b.findings.map((l) => `    ${l}`), `    replay: ${b.replay}`];
}
