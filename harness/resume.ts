/**
 * Resuming a campaign (`moe-harness check --resume DIR`). A report folder holds the
 * invocation that made it (`invocation.json`: the command's options after defaults, the
 * seed and the kernel actually used) and the record journal (recordJournal.ts). A resume
 * takes the stored options; an option given again must have the stored value (or be one
 * the table marks 'free', e.g. --quiet), else it is refused naming the option. Cases whose
 * `case_done` line is in the journal are skipped; the case that was in flight runs again
 * without its finished tactics; the journal's records and the new ones make the report.
 */
import { existsSync, readFileSync, statSync, truncateSync, writeFileSync, appendFileSync, readSync, openSync, closeSync } from 'node:fs';
import { join } from 'node:path';
import { BadArgumentError } from '../reference/errors.js';
import type { CaseRecord } from './campaign.js';
import type { OptionTable, OptionValues, ParsedValue } from './cliArgs.js';
import { readJournal, JOURNAL_FILE } from './recordJournal.js';

const INVOCATION_FILE = 'invocation.json';

export interface Invocation {
  readonly command: string;
  /** The options as parsed (typed values), without 'free' ones. */
  readonly options: Readonly<Record<string, ParsedValue>>;
  /** Seed after defaults (--seed, else MOE_HARNESS_SEED, else 1). */
  readonly seed: number;
  /** The kernel actually used (e.g. the emulated fallback), as kernelLabel writes it. */
  readonly kernel: string;
  readonly version: string;
}

/** The options a resume must match: every option not marked 'free'. */
export function bindingOptions(options: Readonly<Record<string, ParsedValue>>, table: OptionTable): Record<string, ParsedValue> {
  return Object.fromEntries(Object.entries(options).filter(([k]) => (table[k]?.resume ?? 'must_match') === 'must_match'));
}

export function writeInvocation(dir: string, inv: Invocation): void {
  writeFileSync(join(dir, INVOCATION_FILE), JSON.stringify(inv, null, 1) + '\n', { flag: 'wx' });
}

export function readInvocation(dir: string): Invocation {
  const path = join(dir, INVOCATION_FILE);
  if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new BadArgumentError('--resume', 'a report folder of an earlier `moe-harness check`', `${JSON.stringify(dir)} (no such folder)`);
  if (!existsSync(path)) throw new BadArgumentError('--resume', `a report folder holding ${INVOCATION_FILE} (written by moe-harness check)`, `${JSON.stringify(dir)} without it`);
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as Invocation;
  } catch (e) {
    throw new BadArgumentError('--resume', `a readable ${INVOCATION_FILE}`, `${path}: ${(e as Error).message}`);
  }
}

const show = (v: ParsedValue | undefined): string => (v === undefined ? '(not given)' : Array.isArray(v) ? v.join(',') : String(v));

/**
 * The options of the resumed run: the stored ones. An option given now must equal the
 * stored value; one stored but not given now is taken from the store.
 */
export function resumeOptions<T extends OptionTable>(stored: Invocation, given: OptionValues<T>, table: T, seedNow: number | undefined): OptionValues<T> {
  const now = bindingOptions(given as Record<string, ParsedValue>, table);
  for (const [k, v] of Object.entries(now)) {
    if (JSON.stringify(v) !== JSON.stringify(stored.options[k])) {
      throw new BadArgumentError(`--${k}`, `the value of the run being resumed (${show(stored.options[k])}), or no --${k}`, `${show(v)} (start a new report folder to change it)`);
    }
  }
  if (seedNow !== undefined && seedNow !== stored.seed) {
    throw new BadArgumentError('MOE_HARNESS_SEED', `the seed of the run being resumed (${stored.seed}), or --seed ${stored.seed}`, String(seedNow));
  }
  const free = Object.fromEntries(Object.entries(given).filter(([k]) => !(k in now)));
  // The stored options are what parseArgs made of this table's options when the run began.
  return { ...stored.options, ...free } as OptionValues<T>;
}

export interface ResumeState {
  /** Records of the interrupted run(s), in the order they were judged. */
  readonly records: CaseRecord[];
  /** Per case index: 'case' when complete, else the tactic labels it already has. */
  readonly done: Map<number, 'case' | Set<string>>;
}

/** Read the journal for a resume; a last line cut short by a kill is dropped from the file. */
export function loadResumeState(dir: string): ResumeState {
  const j = readJournal(dir);
  const path = join(dir, JOURNAL_FILE);
  if (j.truncatedTail) truncateSync(path, j.completeBytes);
  const size = statSync(path).size;
  if (size > 0) {
    const fd = openSync(path, 'r');
    const last = Buffer.alloc(1);
    readSync(fd, last, 0, 1, size - 1);
    closeSync(fd);
    if (last[0] !== 0x0a) appendFileSync(path, '\n');
  }
  const done = new Map<number, 'case' | Set<string>>();
  for (const i of j.doneCases) done.set(i, 'case');
  for (const r of j.records) {
    const d = done.get(r.caseIndex);
    if (d === 'case') continue;
    // A '*' record is the whole case (not supported, or no verdict), even without its case_done line.
    if (r.tactic === '*') done.set(r.caseIndex, 'case');
    else (d ?? done.set(r.caseIndex, new Set()).get(r.caseIndex) as Set<string>).add(r.tactic);
  }
  return { records: j.records, done };
}
