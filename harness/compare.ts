/**
 * The comparator: judges one tactic's two runs against the reference (SPEC §5).
 *
 * Order of judgement per output element (run 1; run 2 only for determinism):
 *   1. poison        — held poison pattern 1 in run 1 and pattern 2 in run 2: never written;
 *   2. nondeterministic — run 1 and run 2 differ bitwise (the value is still judged);
 *   3. nonfinite     — NaN or ±Inf: rejected outright, no bound applies;
 *   4. value         — |out - ref| against bound[t,h] (errorModel.ts), where ref is the
 *                      reference recomputed with the kernel's own (valid) expert choice;
 *                      beyond the bound but within bound + flipAllowance[t,h] in a fragile
 *                      row: flip_explained (counted apart, rows budgeted); else beyond_bound.
 * Routing: ids judged by routingJudge (valid top-k, exact-tie order), weights against the
 * reference's weights for the kernel's choice; ids/weights must also agree between runs.
 * Rows whose ids are unusable (out of range, duplicated) are counted under routing and
 * their output is not judged against a value.
 */
import type { Expected } from '../reference/expected.js';
import { bf16ToF32 } from '../reference/formats/bf16.js';
import type { RoutingInput } from '../reference/routing/types.js';
import { elementBound, flipRowBudget, type ErrorModel } from './errorModel.js';
import type { Observed } from './kernels/kernel.js';
import { judgeSelection, judgeWeights } from './routingJudge.js';
import {
  dispositionOf, fmtNum, formatFinding, ratioBin, RATIO_BIN_LABELS, zeroCounts,
  type Finding, type FindingContext, type Verdict, type WorstElement,
} from './verdict.js';

export interface CompareInput {
  readonly routingInput: RoutingInput;
  /** The reference for the case (its own routing). */
  readonly reference: Expected;
  /**
   * The reference recomputed with the kernel's ids (runReference(c, {forcedIds})), or null
   * when the kernel chose the reference's expert set in every usable row.
   */
  readonly referenceForIds: Expected | null;
  /** Two runs of the same tactic on the same inputs, poisoned with poison[0] and poison[1]. */
  readonly runs: readonly [Observed, Observed];
  readonly poison: readonly [number, number];
  /** Inputs digest before the first run and after the second. */
  readonly digests: readonly [string, string];
  readonly model: ErrorModel;
  readonly context: FindingContext;
}

/** Findings kept per kind in a verdict (the counts are always complete). */
export const FINDINGS_PER_KIND = 5;

const hex = (x: number): string => `0x${x.toString(16).padStart(4, '0')}`;
const isNonFiniteBf16 = (bits: number): boolean => (bits & 0x7f80) === 0x7f80;

function sameBits(a: Int32Array | Float32Array, b: Int32Array | Float32Array): number[] {
  const ua = new Uint32Array(a.buffer, a.byteOffset, a.length);
  const ub = new Uint32Array(b.buffer, b.byteOffset, b.length);
  const rows: number[] = [];
  for (let i = 0; i < ua.length; i++) if (ua[i] !== ub[i]) rows.push(i);
  return rows;
}

const typeName = (v: unknown): string => (v as { constructor?: { name?: string } } | null)?.constructor?.name ?? typeof v;

function checkShapes(input: CompareInput): void {
  const p = input.reference.problem;
  for (const [r, run] of input.runs.entries()) {
    const want: Array<[string, ArrayLike<number>, number]> = [
      ['output', run.output, p.T * p.H], ['ids', run.ids, p.T * p.topK], ['weights', run.weights, p.T * p.topK],
    ];
    for (const [name, arr, n] of want) {
      if (arr.length !== n) throw new Error(`run ${r + 1}: ${name} has ${arr.length} elements, expected ${n}`);
    }
    if (!(run.output instanceof Uint16Array)) throw new Error(`run ${r + 1}: output is ${typeName(run.output)}, expected Uint16Array (bf16 bits)`);
    if (!(run.ids instanceof Int32Array)) throw new Error(`run ${r + 1}: ids is ${typeName(run.ids)}, expected Int32Array`);
    if (!(run.weights instanceof Float32Array)) throw new Error(`run ${r + 1}: weights is ${typeName(run.weights)}, expected Float32Array`);
  }
}

export function compare(input: CompareInput): Verdict {
  for (const [name, ex] of [['reference', input.reference], ['referenceForIds', input.referenceForIds]] as const) {
    if (ex?.analysis === 'output') {
      throw new Error(`compare: ${name} was computed with ReferenceOptions.analysis 'output' (outputs only, no absAccum/flipAllowance/fragileTokens): it cannot judge a kernel; run the reference with analysis 'full' (the default)`);
    }
  }
  checkShapes(input);
  const { reference, model, context } = input;
  const p = reference.problem;
  const { T, H, topK: k } = p;
  const [run1, run2] = input.runs;
  const counts = zeroCounts();
  const findings: Finding[] = [];
  const keep = (f: Finding): void => {
    if (findings.filter((x) => x.kind === f.kind).length < FINDINGS_PER_KIND) findings.push(f);
  };

  // Inputs unchanged.
  if (input.digests[0] !== input.digests[1]) {
    counts.inputs_modified = 1;
    keep({ kind: 'inputs_modified', where: 'inputs', observed: `digest ${input.digests[1]}`, reference: `digest ${input.digests[0]}`, detail: 'an input buffer changed during the runs' });
  }

  // Routing: ids, exact ties, determinism, weights.
  const sel = judgeSelection(input.routingInput, reference, run1.ids, model);
  const routingRows = new Uint8Array(sel.wrongRows);
  sel.findings.forEach(keep);
  const expected = input.referenceForIds ?? reference;
  const w = judgeWeights(run1.ids, run1.weights, expected, sel.unforceable, model);
  w.findings.forEach(keep);
  w.wrongRows.forEach((v, t) => { if (v) routingRows[t] = 1; });
  const idsDiff = sameBits(run1.ids, run2.ids);
  const wDiff = sameBits(run1.weights, run2.weights);
  const ndRows = new Set([...idsDiff, ...wDiff].map((i) => Math.floor(i / k)));
  for (const t of [...ndRows].sort((a, b) => a - b)) {
    keep({ kind: 'nondeterministic', where: `ids/weights[t=${t}]`, observed: `run 2 ids [${Array.from(run2.ids.subarray(t * k, (t + 1) * k)).join(',')}]`, reference: `run 1 ids [${Array.from(run1.ids.subarray(t * k, (t + 1) * k)).join(',')}]`, detail: 'routing differs between two runs on identical inputs' });
  }
  counts.routing = routingRows.reduce((a, b) => a + b, 0);

  // Output elements.
  const histogram = new Array<number>(RATIO_BIN_LABELS.length).fill(0);
  const poisonRows = new Map<number, number>();
  const flipRows = new Set<number>();
  let worst: WorstElement | null = null;
  let worstBeyond: Finding | null = null;
  let worstBeyondRatio = -1;
  let nondet = 0;
  const [p1, p2] = input.poison;
  for (let t = 0; t < T; t++) {
    const judgeValue = !sel.unforceable[t];
    for (let h = 0; h < H; h++) {
      const i = t * H + h;
      const o1 = run1.output[i]!;
      const o2 = run2.output[i]!;
      if (o1 === p1 && o2 === p2) {
        counts.poison++;
        poisonRows.set(t, (poisonRows.get(t) ?? 0) + 1);
        continue;
      }
      if (o1 !== o2) {
        nondet++;
        keep({ kind: 'nondeterministic', where: `out[t=${t},h=${h}]`, observed: `${fmtNum(bf16ToF32(o2))} (${hex(o2)}) in run 2`, reference: `${fmtNum(bf16ToF32(o1))} (${hex(o1)}) in run 1`, detail: 'output differs between two runs on identical inputs' });
      }
      const out = bf16ToF32(o1);
      if (isNonFiniteBf16(o1)) {
        counts.nonfinite++;
        keep({ kind: 'nonfinite', where: `out[t=${t},h=${h}]`, observed: `${fmtNum(out)} (${hex(o1)})`, reference: fmtNum(expected.outputF32[i]!), detail: 'non-finite output' });
        continue;
      }
      if (!judgeValue) continue;
      const ref = expected.outputF32[i]!;
      // + the bound the reference derived for a declared convention (absent by default).
      const bound = elementBound(model, expected.absAccum[i]!, out) + (expected.conventionBound?.[i] ?? 0);
      const diff = Math.abs(out - ref);
      const ratio = Number.isFinite(ref) ? diff / bound : (out === ref ? 0 : Infinity);
      if (ratio <= 1) {
        histogram[ratioBin(ratio, false)]!++;
        if (worst === null || ratio > worst.ratio) worst = { t, h, observed: out, reference: ref, bound, ratio };
        continue;
      }
      const allowance = expected.flipAllowance[i]!;
      if (expected.fragileTokens[t] === 1 && diff <= bound + allowance) {
        counts.flip_explained++;
        flipRows.add(t);
        histogram[ratioBin(ratio, true)]!++;
        continue;
      }
      counts.beyond_bound++;
      histogram[ratioBin(ratio, false)]!++;
      if (worst === null || ratio > worst.ratio) worst = { t, h, observed: out, reference: ref, bound, ratio };
      const f: Finding = {
        kind: 'beyond_bound', where: `out[t=${t},h=${h}]`, observed: fmtNum(out), reference: fmtNum(ref),
        detail: `bound ${fmtNum(bound)}; ${fmtNum(ratio)}× bound${allowance > 0 ? `; flip allowance ${fmtNum(allowance)}` : ''}`,
      };
      if (ratio > worstBeyondRatio) {
        worstBeyondRatio = ratio;
        worstBeyond = f;
      }
      keep(f);
    }
  }
  counts.nondeterministic = nondet + ndRows.size;
  // The worst beyond-bound element always leads its kind.
  if (worstBeyond !== null) {
    const at = findings.indexOf(worstBeyond);
    if (at >= 0) findings.splice(at, 1);
    else findings.splice(findings.map((f) => f.kind).lastIndexOf('beyond_bound'), 1); // keep the cap
    findings.splice(findings.findIndex((f) => f.kind === 'beyond_bound') >= 0 ? findings.findIndex((f) => f.kind === 'beyond_bound') : findings.length, 0, worstBeyond);
  }
  for (const [t, n] of [...poisonRows].slice(0, FINDINGS_PER_KIND)) {
    findings.push({ kind: 'poison', where: `out[t=${t},h=*]`, observed: `poison ${hex(p1)} (run 1) / ${hex(p2)} (run 2) in ${n} of ${H} elements`, reference: 'every element written', detail: 'output never written' });
  }
  const budget = flipRowBudget(model, T);
  if (flipRows.size > budget) {
    findings.push({
      kind: 'flip_budget', where: 'rows', observed: `${flipRows.size} rows with flip-explained differences (${counts.flip_explained} elements)`,
      reference: `at most ${budget} rows (${model.flipRowFraction} of T=${T})`, detail: 'too many re-quantization flips to be explained by rounding',
    });
  }
  const disposition = dispositionOf(counts, findings);
  return {
    disposition, tactic: context.tactic, counts, worst, findings,
    lines: findings.map((f) => formatFinding(f, context)), histogram,
  };
}

/** The verdict of a tactic whose run crashed (process death, CUDA fault, exception, timeout). */
export function crashVerdict(message: string, context: FindingContext): Verdict {
  const f: Finding = { kind: 'crash', where: 'tactic', observed: 'crashed', reference: 'a completed run', detail: message.replace(/\s+/g, ' ').trim() };
  return { disposition: 'crashed', tactic: context.tactic, counts: zeroCounts(), worst: null, findings: [f], lines: [formatFinding(f, context)], histogram: new Array<number>(RATIO_BIN_LABELS.length).fill(0) };
}

/** The verdict of an enumerated tactic that refused the problem (SPEC §5: itself a failure). */
export function refusedVerdict(message: string, context: FindingContext): Verdict {
  const f: Finding = { kind: 'refused', where: 'tactic', observed: 'refused the problem', reference: 'an enumerated tactic runs', detail: message.replace(/\s+/g, ' ').trim() };
  return { disposition: 'incorrect', tactic: context.tactic, counts: zeroCounts(), worst: null, findings: [f], lines: [formatFinding(f, context)], histogram: new Array<number>(RATIO_BIN_LABELS.length).fill(0) };
}

/** The verdict of a tactic whose results have the wrong shape or type. */
export function malformedVerdict(message: string, context: FindingContext): Verdict {
  const f: Finding = { kind: 'malformed', where: 'results', observed: message.replace(/\s+/g, ' ').trim(), reference: 'output [T,H] bf16, ids [T,k] int32, weights [T,k] float32', detail: 'malformed results' };
  return { disposition: 'incorrect', tactic: context.tactic, counts: zeroCounts(), worst: null, findings: [f], lines: [formatFinding(f, context)], histogram: new Array<number>(RATIO_BIN_LABELS.length).fill(0) };
}

/** The verdict of a case the kernel does not support (no tactic, or prepare refused it). */
export function notSupportedVerdict(message: string, context: FindingContext): Verdict {
  return { disposition: 'not_supported', tactic: context.tactic, counts: zeroCounts(), worst: null, findings: [], lines: [`case not supported: ${message.replace(/\s+/g, ' ').trim()} (tactic ${context.tactic}; seed ${context.seed})`], histogram: new Array<number>(RATIO_BIN_LABELS.length).fill(0) };
}
