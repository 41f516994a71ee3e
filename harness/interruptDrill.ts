/**
 * The interrupt drill: run `moe-harness check` as its own process, send it SIGINT or SIGTERM
 * at a random point (after a random number of journal lines), then `check --resume` the
 * folder, and compare the union of records with an uninterrupted run's: same (case, tactic)
 * pairs, same dispositions, none twice. Used by interruptDrill.test.ts, and as a script for
 * the figures of docs/cli.md:
 *
 *   npx tsx harness/interruptDrill.ts [repetitions=20] [seed=1] [emulated|native]
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, realpathSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import seedrandom from 'seedrandom';
import { projectRoot } from './childEntry.js';
import { JOURNAL_FILE } from './recordJournal.js';

export type DrillSignal = 'SIGINT' | 'SIGTERM';
/** Whom the signal reaches: the harness process only, or its whole process group (as Ctrl-C does: the child dies too). */
export type DrillTarget = 'process' | 'group';

export interface DrillOptions {
  /** Campaign options shared by every run (no --report / --resume). */
  readonly args: readonly string[];
  readonly signal: DrillSignal;
  readonly target: DrillTarget;
  /** Signal once the journal holds this many lines (0: as soon as the report folder exists). */
  readonly afterLines: number;
}

export interface DrillResult {
  readonly interruptedExit: number | null;
  readonly resumedExit: number | null;
  /** report.json of the interrupted run: partial, and how many records it kept. */
  readonly partial: boolean;
  readonly keptRecords: number;
  /** "case tactic disposition" of the union after the resume, sorted. */
  readonly union: string[];
  readonly duplicates: number;
  readonly dir: string;
}

interface Exit { readonly code: number | null; readonly stderr: string }

const tsxImport = (): string => pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;

function cli(args: readonly string[], onSpawn?: (pid: number) => void, detached = false): Promise<Exit> {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, ['--import', tsxImport(), join(projectRoot(), 'harness', 'cli.ts'), ...args], {
      cwd: projectRoot(), stdio: ['ignore', 'ignore', 'pipe'], detached,
    });
    let stderr = '';
    p.stderr!.on('data', (c: Buffer) => { stderr += c.toString(); });
    p.on('error', reject);
    p.on('exit', (code) => resolve({ code, stderr }));
    if (p.pid !== undefined) onSpawn?.(p.pid);
  });
}

function journalLines(dir: string): number {
  const f = join(dir, JOURNAL_FILE);
  if (!existsSync(f)) return -1;
  return readFileSync(f, 'utf8').split('\n').filter((l) => l.endsWith('}')).length;
}

export interface ReportRecords { readonly records: Array<{ caseIndex: number; tactic: string; disposition: string }>; readonly partial?: boolean }

export const recordKeys = (r: ReportRecords): string[] => r.records.map((x) => `${x.caseIndex} ${x.tactic} ${x.disposition}`).sort();

/** An uninterrupted run's report. */
export async function baseline(args: readonly string[]): Promise<ReportRecords> {
  const dir = join(mkdtempSync(join(tmpdir(), 'moe-drill-')), 'report');
  const r = await cli([...args, '--report', dir]);
  if (!existsSync(join(dir, 'report.json'))) throw new Error(`baseline run failed (exit ${r.code}): ${r.stderr}`);
  return JSON.parse(readFileSync(join(dir, 'report.json'), 'utf8')) as ReportRecords;
}

/** Run `opts.args` into a new report folder and signal it after `opts.afterLines` journal lines. */
export async function interruptOnce(opts: DrillOptions): Promise<{ readonly exit: number | null; readonly dir: string; readonly report: ReportRecords; readonly journalRecords: number }> {
  const dir = join(mkdtempSync(join(tmpdir(), 'moe-drill-')), 'report');
  let timer: NodeJS.Timeout | undefined;
  const run = cli([...opts.args, '--report', dir], (pid) => {
    const poll = (): void => {
      if (journalLines(dir) >= opts.afterLines) {
        try {
          process.kill(opts.target === 'group' ? -pid : pid, opts.signal);
        } catch {
          // already finished
        }
        return;
      }
      timer = setTimeout(poll, 5);
    };
    poll();
  }, opts.target === 'group');
  const first = await run;
  clearTimeout(timer);
  const report = JSON.parse(readFileSync(join(dir, 'report.json'), 'utf8')) as ReportRecords;
  const journalRecords = readFileSync(join(dir, JOURNAL_FILE), 'utf8').split('\n').filter((l) => l.startsWith('{"type":"record"')).length;
  return { exit: first.code, dir, report, journalRecords };
}

export async function interruptAndResume(opts: DrillOptions): Promise<DrillResult> {
  const { exit, dir, report } = await interruptOnce(opts);
  const resumed = await cli(['check', '--resume', dir, '--quiet']);
  const after = JSON.parse(readFileSync(join(dir, 'report.json'), 'utf8')) as ReportRecords;
  const union = recordKeys(after);
  const pairs = after.records.map((x) => `${x.caseIndex} ${x.tactic}`);
  return {
    interruptedExit: exit, resumedExit: resumed.code, partial: report.partial === true, keptRecords: report.records.length,
    union, duplicates: pairs.length - new Set(pairs).size, dir,
  };
}

/**
 * The drill's campaign: 6 cases of the small mix, child isolation; on the emulated kernel
 * with a fault that fails some tactics only (mixed dispositions), on native as it is.
 */
export function drillArgs(seed: number, kernel: 'emulated' | 'native' = 'emulated'): string[] {
  return ['check', '--kernel', kernel, ...(kernel === 'emulated' ? ['--fault', 'tactic_skips_last_k_block'] : []), '--runs', '6', '--quiet', '--seed', String(seed)];
}

async function mainScript(): Promise<void> {
  const reps = Number(process.argv[2] ?? 20);
  const seed = Number(process.argv[3] ?? 1);
  const kernel = process.argv[4] ?? 'emulated';
  if (kernel !== 'emulated' && kernel !== 'native') throw new Error(`kernel: expected emulated or native, got ${kernel}`);
  const args = drillArgs(seed, kernel);
  const base = await baseline(args);
  const want = recordKeys(base);
  const rng = seedrandom(`drill:${seed}`);
  let equal = 0;
  const rows: string[] = [];
  for (let i = 0; i < reps; i++) {
    const signal: DrillSignal = i % 4 === 3 ? 'SIGTERM' : 'SIGINT';
    const target: DrillTarget = i % 2 === 0 ? 'process' : 'group';
    const afterLines = Math.floor(rng() * want.length);
    const r = await interruptAndResume({ args, signal, target, afterLines });
    const same = JSON.stringify(r.union) === JSON.stringify(want) && r.duplicates === 0;
    if (same) equal++;
    rows.push(`${i + 1}\t${signal}\t${target}\tafter ${afterLines} lines\texit ${r.interruptedExit}\tpartial ${r.partial}\tkept ${r.keptRecords}\tresume exit ${r.resumedExit}\t` +
      `union ${r.union.length}/${want.length}\tduplicates ${r.duplicates}\t${same ? 'EQUAL' : `DIFFERENT (${r.dir})`}`);
    console.log(rows[rows.length - 1]);
  }
  console.log(`${equal}/${reps} interrupted + resumed campaigns equal the uninterrupted run (${want.length} records, seed ${seed})`);
  if (equal !== reps) process.exitCode = 1;
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === realpathSync(process.argv[1])) await mainScript();
