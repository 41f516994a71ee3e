/**
 * Judge what the native driver wrote (moe_gpu_check --cases DIR) with the harness's own judge:
 *
 *   npx tsx native/test/judgeDriverOutputs.ts DIR [--precision float32|float64]
 *   node dist/native/test/judgeDriverOutputs.js DIR …      (the GPU bundle)
 *
 * DIR holds the case folders of exportCases.ts, each with the driver's results/ folder
 * (driverResults.ts). Per case: the case is regenerated from spec.json and checked against
 * the exported input files byte for byte (what the driver ran is what is judged), its
 * reference is computed (harness/referenceFor.ts, the native kernel's declared conventions,
 * default float64), and every tactic's runs go through harness/judge.ts exactly as in a
 * campaign: routing from the reference's evidence, outputs against the error model's
 * per-element bounds, poison, determinism across runs, inputs digests. No other tolerance.
 *
 * Prints one block per (case, tactic) not passed, in the finding grammar:
 *   INCORRECT: case NAME (problem) tactic 8/0
 *       out[t=3,h=17]=…, reference … (bound …; tactic 8/0; seed 1003)
 * then `N passed, N failed` (and the cases or tactics missing). Exit 0 when every tactic of
 * every case was judged and passed, 1 when something failed or is missing (a case without
 * results, a driver that stopped early, fewer tactics than the engine enumerated), 2 on bad
 * arguments (BadArgumentError, naming the argument).
 */
import { existsSync, readdirSync, readFileSync, realpathSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { CaseSpec } from '../../reference/case.js';
import { DEFAULT_CONVENTIONS, referencePrecisionFor } from '../../reference/conventions.js';
import { BadArgumentError } from '../../reference/errors.js';
import type { Expected } from '../../reference/expected.js';
import { generateCase } from '../../reference/generate.js';
import { describeProblem } from '../../reference/problem.js';
import { crashVerdict, errorVerdict } from '../../harness/compare.js';
import { errorModel } from '../../harness/errorModel.js';
import { judge } from '../../harness/judge.js';
import type { Observed } from '../../harness/kernels/provider.js';
import { referenceFor, type ReferenceCache, type ReferencePrecision } from '../../harness/referenceFor.js';
import { describeCounts, type Verdict } from '../../harness/verdict.js';
import { readDriverResults, type DriverTactic } from './driverResults.js';
import { caseTensors, SPEC_FILE } from './exportCases.js';

/** The kernel name the verdicts carry. */
export const DRIVER_KERNEL = 'native (moe_gpu_check)';

export interface JudgedTactic {
  readonly caseName: string;
  readonly problem: string;
  readonly tactic: string;
  readonly verdict: Verdict;
}

export interface DriverJudgement {
  readonly judged: readonly JudgedTactic[];
  /** What could not be judged at all: a case without results, a driver cut short, tactics missing. */
  readonly missing: readonly string[];
  readonly passed: number;
  readonly failed: number;
}

/** The case folders of DIR (those holding spec.json), sorted by name. */
function caseFolders(dir: string): string[] {
  if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new BadArgumentError('DIR', 'a folder written by exportCases.ts', JSON.stringify(dir));
  const names = readdirSync(dir).filter((n) => existsSync(path.join(dir, n, SPEC_FILE))).sort();
  if (names.length === 0) throw new BadArgumentError('DIR', `a folder of exported cases (each with ${SPEC_FILE})`, `${JSON.stringify(dir)} without any`);
  return names;
}

const sameBytes = (a: ArrayBufferView, b: Uint8Array): boolean =>
  Buffer.compare(Buffer.from(a.buffer, a.byteOffset, a.byteLength), b) === 0;

async function judgeCase(dir: string, name: string, precision: ReferencePrecision): Promise<{ judged: JudgedTactic[]; missing: string[] }> {
  const caseDir = path.join(dir, name);
  let spec: CaseSpec;
  try {
    spec = JSON.parse(readFileSync(path.join(caseDir, SPEC_FILE), 'utf8')) as CaseSpec;
  } catch (e) {
    return { judged: [], missing: [`case ${name}: ${SPEC_FILE} unreadable: ${e instanceof Error ? e.message : String(e)}`] };
  }
  const p = spec.problem;
  const problem = describeProblem(p);
  const judged: JudgedTactic[] = [];
  const missing: string[] = [];
  const harnessError = (tactic: string, message: string, phase: 'generate' | 'reference' | 'judge'): void => {
    judged.push({ caseName: name, problem, tactic, verdict: errorVerdict(message, { tactic, seed: spec.seed }, phase) });
  };
  let results;
  try {
    results = readDriverResults(caseDir, p);
  } catch (e) {
    missing.push(`case ${name}: ${e instanceof Error ? e.message : String(e)}`);
    return { judged, missing };
  }
  if (!results.complete) missing.push(`case ${name}: the driver stopped before finishing the case (no "complete" line)`);
  if (results.tactics.length < results.tacticCount) {
    missing.push(`case ${name}: ${results.tactics.length} of the ${results.tacticCount} valid tactics have results`);
  }
  // What the driver ran must be what the spec generates, byte for byte.
  let c;
  try {
    c = generateCase(spec);
    for (const [n, a] of caseTensors(c)) {
      if (a === null) continue;
      const file = path.join(caseDir, `${n}.bin`);
      if (!existsSync(file) || !sameBytes(a, readFileSync(file))) {
        throw new Error(`${file} differs from the case ${SPEC_FILE} generates: export the cases again with this harness version`);
      }
    }
  } catch (e) {
    harnessError('*', `case ${name}: ${e instanceof Error ? e.message : String(e)}`, 'generate');
    return { judged, missing };
  }
  const model = errorModel(p);
  const conventions = DEFAULT_CONVENTIONS;
  const cache: ReferenceCache = new Map();
  const prec = referencePrecisionFor(conventions, precision);
  const reference = (forcedIds?: Int32Array): Promise<Expected> =>
    referenceFor(c, model, { precision: prec, cache, conventions, ...(forcedIds ? { forcedIds } : {}) });
  let expected: Expected;
  try {
    expected = await reference();
  } catch (e) {
    harnessError('*', `reference of case ${name}: ${e instanceof Error ? e.message : String(e)}`, 'reference');
    return { judged, missing };
  }
  for (const t of results.tactics) judged.push({ caseName: name, problem, tactic: t.label, verdict: await judgeTactic(t, spec.seed, expected, model, reference) });
  return { judged, missing };
}

async function judgeTactic(
  t: DriverTactic, seed: number, expected: Expected, model: ReturnType<typeof errorModel>, reference: (ids?: Int32Array) => Promise<Expected>,
): Promise<Verdict> {
  const context = { tactic: t.label, seed };
  if (t.kind === 'crashed') return crashVerdict(t.message, context);
  if (t.runs.length < 2) return errorVerdict(`tactic ${t.label}: ${t.runs.length} run(s) in the results, the judge needs at least 2 (determinism)`, context);
  const poison: [number, number] = [t.runs[0]!.poison, t.runs[1]!.poison];
  const offPattern = t.runs.findIndex((r, i) => r.poison !== poison[i % 2]);
  if (poison[0] === poison[1] || offPattern >= 0) {
    return errorVerdict(`tactic ${t.label}: run poisons ${t.runs.map((r) => r.poison).join(', ')} do not alternate two distinct patterns`, context);
  }
  // The driver forces each tactic through Prepared::run, which runs exactly that tactic or throws
  // (a 'crashed' line): the executed tactic is the forced one.
  const runs = t.runs.map((r): Observed => ({ output: r.output, ids: r.ids, weights: r.weights, ms: r.ms, executedTactic: t.label }));
  return judge({
    kernel: DRIVER_KERNEL, expected, runs: runs as [Observed, Observed, ...Observed[]], poison, digests: t.digests, model, context,
    referenceForIds: (ids) => reference(ids),
  });
}

/** Judge every case folder of DIR. */
export async function judgeDriverOutputs(dir: string, precision: ReferencePrecision = 'float64'): Promise<DriverJudgement> {
  const judged: JudgedTactic[] = [];
  const missing: string[] = [];
  for (const name of caseFolders(dir)) {
    const r = await judgeCase(dir, name, precision);
    judged.push(...r.judged);
    missing.push(...r.missing);
  }
  const passed = judged.filter((j) => j.verdict.disposition === 'passed').length;
  return { judged, missing, passed, failed: judged.length - passed };
}

/** The lines the command prints: one block per tactic not passed, what is missing, the count line. */
export function formatDriverJudgement(j: DriverJudgement): string[] {
  const out: string[] = [];
  for (const x of j.judged) {
    if (x.verdict.disposition === 'passed') continue;
    out.push(`${x.verdict.disposition.toUpperCase()}: case ${x.caseName} (${x.problem}) tactic ${x.tactic}`);
    out.push(`    ${describeCounts(x.verdict.counts)}`);
    for (const l of x.verdict.lines) out.push(`    ${l}`);
  }
  for (const m of j.missing) out.push(`MISSING: ${m}`);
  out.push(`${j.passed} passed, ${j.failed} failed${j.missing.length > 0 ? `, ${j.missing.length} missing` : ''} ((case, tactic) results of ${DRIVER_KERNEL} judged by harness/judge.ts)`);
  return out;
}

const PRECISIONS: readonly ReferencePrecision[] = ['float32', 'float64'];

/** The command: returns the exit code (0 all passed, 1 failed or missing, 2 bad arguments). */
export async function main(argv: readonly string[], print: (line: string) => void = console.log): Promise<number> {
  try {
    let dir: string | null = null;
    let precision: ReferencePrecision = 'float64';
    for (let i = 0; i < argv.length; i++) {
      const a = argv[i]!;
      if (a === '--precision') {
        const v = argv[++i];
        if (v === undefined || !(PRECISIONS as readonly string[]).includes(v)) throw new BadArgumentError('--precision', PRECISIONS.join(' or '), v === undefined ? 'nothing' : JSON.stringify(v));
        precision = v as ReferencePrecision;
      } else if (a.startsWith('-')) throw new BadArgumentError('option', 'DIR [--precision float32|float64]', JSON.stringify(a));
      else if (dir !== null) throw new BadArgumentError('DIR', 'one folder', `a second one, ${JSON.stringify(a)}`);
      else dir = a;
    }
    if (dir === null) throw new BadArgumentError('DIR', 'the folder of exported cases the driver wrote results into', 'nothing');
    const j = await judgeDriverOutputs(path.resolve(dir), precision);
    formatDriverJudgement(j).forEach((l) => print(l));
    return j.failed === 0 && j.missing.length === 0 && j.judged.length > 0 ? 0 : 1;
  } catch (e) {
    if (e instanceof BadArgumentError) {
      print(`judgeDriverOutputs: ${e.message}\nusage: judgeDriverOutputs DIR [--precision float32|float64]`);
      return 2;
    }
    // A harness bug: reported as such, never as a verdict against the kernel.
    print(`judgeDriverOutputs: harness error: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
    return 1;
  }
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === realpathSync(process.argv[1])) {
  process.exitCode = await main(process.argv.slice(2));
}
