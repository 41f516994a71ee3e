/**
 * The results the native driver (moe_gpu_check --cases DIR, native/test/gpu_check.cu) writes
 * for one exported case, and what judgeDriverOutputs.ts reads: the driver judges nothing
 * itself, the harness's judge does (harness/judge.ts).
 *
 * In CASE/results/ (CASE being a folder written by exportCases.ts):
 *
 *   results.txt, one record per line, fields separated by single spaces:
 *     tactics N                       the number of valid tactics the engine enumerated
 *     tactic LABEL ran DIGEST0 DIGEST1  LABEL ("tileTokens/config") ran; inputs digest before
 *                                     its first run and after its last run (Prepared::digest)
 *     run LABEL R POISON MS           run R (1-based) of LABEL, output poisoned with POISON
 *                                     (decimal uint16) beforehand, MS kernel milliseconds; its
 *                                     arrays are runFile(LABEL, R, 'output'|'ids'|'weights')
 *     tactic LABEL crashed MESSAGE…   the engine threw (message to the end of the line)
 *     complete                        the last line: the driver finished this case
 *   LABEL_r{R}.output.bin   bf16 bits [T, H], little-endian uint16
 *   LABEL_r{R}.ids.bin      int32 [T, topK]
 *   LABEL_r{R}.weights.bin  float32 [T, topK]
 * (LABEL with '/' written as '_' in file names.)
 *
 * Run R is poisoned with POISON[(R − 1) % 2] of harness/caseRunner.ts, as the campaign does;
 * the judge reads the patterns from the file and refuses results whose runs do not alternate.
 * writeDriverResults is the CPU stand-in's writer (judgeDriverOutputs.test.ts): the same
 * format, so the judging command is tested on CPU.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';

export const RESULTS_DIR = 'results';
export const RESULTS_FILE = 'results.txt';

export type ArrayName = 'output' | 'ids' | 'weights';

export interface DriverRun {
  readonly poison: number;
  readonly ms: number;
  readonly output: Uint16Array;
  readonly ids: Int32Array;
  readonly weights: Float32Array;
}

export type DriverTactic =
  | { readonly label: string; readonly kind: 'ran'; readonly digests: readonly [string, string]; readonly runs: readonly DriverRun[] }
  | { readonly label: string; readonly kind: 'crashed'; readonly message: string };

export interface DriverResults {
  /** Valid tactics the engine enumerated for the case. */
  readonly tacticCount: number;
  readonly tactics: readonly DriverTactic[];
  /** false: the driver stopped before the case's last line (killed, crashed). */
  readonly complete: boolean;
}

/** The file of run R (1-based) of a tactic. */
export function runFile(label: string, run: number, array: ArrayName): string {
  return `${label.replace('/', '_')}_r${run}.${array}.bin`;
}

const bytesOf = (a: ArrayBufferView): Uint8Array => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);

/** Write results in the driver's format (the CPU stand-in; the driver writes the same in C++). */
export function writeDriverResults(caseDir: string, results: DriverResults): void {
  const dir = path.join(caseDir, RESULTS_DIR);
  mkdirSync(dir, { recursive: true });
  const lines = [`tactics ${results.tacticCount}`];
  for (const t of results.tactics) {
    if (t.kind === 'crashed') {
      lines.push(`tactic ${t.label} crashed ${t.message.replace(/\s+/g, ' ')}`);
      continue;
    }
    lines.push(`tactic ${t.label} ran ${t.digests[0]} ${t.digests[1]}`);
    for (const [i, r] of t.runs.entries()) {
      lines.push(`run ${t.label} ${i + 1} ${r.poison} ${r.ms}`);
      for (const [name, a] of [['output', r.output], ['ids', r.ids], ['weights', r.weights]] as const) {
        writeFileSync(path.join(dir, runFile(t.label, i + 1, name)), bytesOf(a));
      }
    }
  }
  if (results.complete) lines.push('complete');
  writeFileSync(path.join(dir, RESULTS_FILE), lines.join('\n') + '\n');
}

/** A problem with a results folder: what is wrong and where (judgeDriverOutputs counts it as a failure). */
export class DriverResultsError extends Error {
  override readonly name = 'DriverResultsError';
}

function readArray<T extends Uint16Array | Int32Array | Float32Array>(
  file: string, make: (b: ArrayBuffer) => T, bytesPer: number, expected: number,
): T {
  if (!existsSync(file)) throw new DriverResultsError(`${file}: missing`);
  const b = readFileSync(file);
  if (b.byteLength !== expected * bytesPer) {
    throw new DriverResultsError(`${file}: ${b.byteLength} bytes, expected ${expected * bytesPer} (${expected} elements of ${bytesPer} bytes)`);
  }
  const copy = new ArrayBuffer(b.byteLength);
  new Uint8Array(copy).set(b);
  return make(copy);
}

/**
 * Read CASE/results/ for a problem of T tokens, H hidden, topK slots. Throws DriverResultsError
 * naming the file and line when the folder is missing, a line is malformed, an array has the
 * wrong size, or a tactic has runs out of order.
 */
export function readDriverResults(caseDir: string, dims: { readonly T: number; readonly H: number; readonly topK: number }): DriverResults {
  const dir = path.join(caseDir, RESULTS_DIR);
  const file = path.join(dir, RESULTS_FILE);
  if (!existsSync(file)) throw new DriverResultsError(`${file}: missing (did moe_gpu_check --cases run on this folder?)`);
  const lines = readFileSync(file, 'utf8').split('\n');
  let tacticCount: number | null = null;
  let complete = false;
  const tactics: DriverTactic[] = [];
  const runsOf = new Map<string, DriverRun[]>();
  for (const [n, line] of lines.entries()) {
    if (line.trim() === '') continue;
    const where = `${file}:${n + 1}`;
    const f = line.split(' ');
    const int = (s: string | undefined, what: string): number => {
      const v = Number(s);
      if (s === undefined || s === '' || !Number.isInteger(v) || v < 0) throw new DriverResultsError(`${where}: ${what}: expected a whole number, got ${JSON.stringify(s)}`);
      return v;
    };
    if (complete) throw new DriverResultsError(`${where}: a line after "complete"`);
    if (f[0] === 'tactics' && f.length === 2) tacticCount = int(f[1], 'tactics');
    else if (f[0] === 'tactic' && f[2] === 'ran' && f.length === 5) {
      const runs: DriverRun[] = [];
      runsOf.set(f[1]!, runs);
      tactics.push({ label: f[1]!, kind: 'ran', digests: [f[3]!, f[4]!], runs });
    } else if (f[0] === 'tactic' && f[2] === 'crashed') tactics.push({ label: f[1]!, kind: 'crashed', message: f.slice(3).join(' ') });
    else if (f[0] === 'run' && f.length === 5) {
      const label = f[1]!;
      const runs = runsOf.get(label);
      if (runs === undefined) throw new DriverResultsError(`${where}: run of tactic ${label} before its "tactic ${label} ran" line`);
      const r = int(f[2], 'run number');
      if (r !== runs.length + 1) throw new DriverResultsError(`${where}: run ${r} of tactic ${label}, expected run ${runs.length + 1}`);
      const poison = int(f[3], 'poison');
      const ms = Number(f[4]);
      if (poison > 0xffff) throw new DriverResultsError(`${where}: poison: expected a uint16, got ${poison}`);
      if (!Number.isFinite(ms)) throw new DriverResultsError(`${where}: ms: expected a number, got ${JSON.stringify(f[4])}`);
      runs.push({
        poison, ms,
        output: readArray(path.join(dir, runFile(label, r, 'output')), (b) => new Uint16Array(b), 2, dims.T * dims.H),
        ids: readArray(path.join(dir, runFile(label, r, 'ids')), (b) => new Int32Array(b), 4, dims.T * dims.topK),
        weights: readArray(path.join(dir, runFile(label, r, 'weights')), (b) => new Float32Array(b), 4, dims.T * dims.topK),
      });
    } else if (f[0] === 'complete' && f.length === 1) complete = true;
    else throw new DriverResultsError(`${where}: expected "tactics N", "tactic LABEL ran D0 D1", "tactic LABEL crashed MESSAGE", "run LABEL R POISON MS" or "complete", got ${JSON.stringify(line)}`);
  }
  if (tacticCount === null) throw new DriverResultsError(`${file}: no "tactics N" line`);
  return { tacticCount, tactics, complete };
}
