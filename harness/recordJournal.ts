/**
 * The record journal of a campaign: `records.jsonl` in the report folder, one JSON line per
 * (case, tactic) record written as soon as it is judged, and one `case_done` line when a
 * case is complete. Each line is written with writeSync and fdatasync'ed, so a record that
 * was judged survives SIGINT, SIGTERM, SIGKILL or a crash of the harness.
 *
 * Lines:  {"type":"record","record":{…CaseRecord…}}   {"type":"case_done","caseIndex":n}
 * Non-finite numbers (NaN, ±Infinity in a worst element) are written as strings and read back.
 */
import { closeSync, existsSync, fdatasyncSync, openSync, readFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { BadArgumentError } from '../reference/errors.js';
import type { CaseRecord } from './campaign.js';

export const JOURNAL_FILE = 'records.jsonl';

type Line = { readonly type: 'record'; readonly record: CaseRecord } | { readonly type: 'case_done'; readonly caseIndex: number };

const NON_FINITE = new Set(['NaN', 'Infinity', '-Infinity']);

function replacer(_key: string, v: unknown): unknown {
  return typeof v === 'number' && !Number.isFinite(v) ? String(v) : v;
}

function reviver(key: string, v: unknown): unknown {
  return typeof v === 'string' && NON_FINITE.has(v) && ['observed', 'reference', 'bound', 'ratio'].includes(key) ? Number(v) : v;
}

export class RecordJournal {
  private fd: number | null;

  /** Open `dir/records.jsonl` for appending ('new': it must not exist yet). */
  constructor(readonly dir: string, mode: 'new' | 'append') {
    const path = join(dir, JOURNAL_FILE);
    this.fd = openSync(path, mode === 'new' ? 'wx' : 'a');
  }

  private write(line: Line): void {
    if (this.fd === null) throw new Error(`record journal ${this.dir} is closed`);
    writeSync(this.fd, JSON.stringify(line, replacer) + '\n');
    fdatasyncSync(this.fd);
  }

  record(r: CaseRecord): void {
    this.write({ type: 'record', record: r });
  }

  caseDone(caseIndex: number): void {
    this.write({ type: 'case_done', caseIndex });
  }

  close(): void {
    if (this.fd !== null) closeSync(this.fd);
    this.fd = null;
  }
}

export interface JournalContents {
  readonly records: CaseRecord[];
  readonly doneCases: ReadonlySet<number>;
  /** A last line cut short by a kill in the middle of a write (ignored). */
  readonly truncatedTail: boolean;
  /** Bytes of the journal up to its last complete line. */
  readonly completeBytes: number;
}

/** Read a journal; a malformed line other than a cut-short last one is refused, naming the line. */
export function readJournal(dir: string): JournalContents {
  const path = join(dir, JOURNAL_FILE);
  if (!existsSync(path)) throw new BadArgumentError('--resume', `a report folder holding ${JOURNAL_FILE}`, `${dir} without it`);
  const lines = readFileSync(path, 'utf8').split('\n');
  const records: CaseRecord[] = [];
  const doneCases = new Set<number>();
  let truncatedTail = false;
  let completeBytes = 0;
  for (const [i, text] of lines.entries()) {
    const bytes = Buffer.byteLength(text, 'utf8') + (i < lines.length - 1 ? 1 : 0);
    if (text.trim() === '') {
      completeBytes += bytes;
      continue;
    }
    let line: Line;
    try {
      line = JSON.parse(text, reviver) as Line;
    } catch (e) {
      if (i === lines.length - 1) {
        truncatedTail = true;
        continue;
      }
      throw new BadArgumentError('--resume', `${JOURNAL_FILE} of JSON lines`, `line ${i + 1}: ${(e as Error).message}`);
    }
    completeBytes += bytes;
    if (line.type === 'record') records.push(line.record);
    else if (line.type === 'case_done') doneCases.add(line.caseIndex);
  }
  return { records, doneCases, truncatedTail, completeBytes };
}
