/**
 * The comparator as first written: one straightforward pass over every element of every run,
 * with the helpers of errorModel.ts called per element. Kept, unchanged in what it decides,
 * as the differential oracle of compare() (compare.ts), whose fast paths (bitwise-identical
 * later runs, bound terms from tables) must give the same Verdict, field for field
 * (compareOracle.test.ts). Tests only; the campaign judges with compare().
 */
import { bf16ToF32 } from '../reference/formats/bf16.js';
import { beyondFloat32, elementBound, flipRowBudget, infinityIsCorrect } from './errorModel.js';
import type { CompareInput } from './compare.js';
import { malformedResults } from './compare.js';
import { judgeSelection, judgeWeights } from './routingJudge.js';
import {
  dispositionOf, fmtNum, formatFinding, ratioBin, RATIO_BIN_LABELS, zeroCounts,
  type Finding, type Verdict, type WorstElement,
} from './verdict.js';

/** Findings kept per kind in a verdict (the counts are always complete). */
const FINDINGS_PER_KIND = 5;

const hex = (x: number): string => `0x${x.toString(16).padStart(4, '0')}`;
const isNonFiniteBf16 = (bits: number): boolean => (bits & 0x7f80) === 0x7f80;

/** Indices whose bit patterns differ between a and b. */
function differingIndices(a: Int32Array | Float32Array, b: Int32Array | Float32Array): number[] {
  const ua = new Uint32Array(a.buffer, a.byteOffset, a.length);
  const ub = new Uint32Array(b.buffer, b.byteOffset, b.length);
  const rows: number[] = [];
  for (let i = 0; i < ua.length; i++) if (ua[i] !== ub[i]) rows.push(i);
  return rows;
}

export function compareOracle(input: CompareInput): Verdict {
  for (const [name, ex] of [['reference', input.reference], ['referenceForIds', input.referenceForIds]] as const) {
    if (ex?.analysis === 'output') {
      throw new Error(`compare: ${name} was computed with ReferenceOptions.analysis 'output' (outputs only, no absAccum/flipAllowance/fragileTokens): it cannot judge a kernel; run the reference with analysis 'full' (the default)`);
    }
  }
  const malformed = malformedResults(input.reference, input.runs);
  if (malformed !== null) throw new Error(malformed);
  const { reference, model, context } = input;
  const p = reference.problem;
  const { T, H, topK: k } = p;
  const [run1, run2] = input.runs;
  const later = input.runs.slice(1);
  const counts = zeroCounts();
  const findings: Finding[] = [];
  // Findings kept per kind. Their text is built only when kept: a faulty kernel can put
  // every output element beyond its bound, and formatting each (fmtNum) was most of the
  // cost of judging such a run (the counts stay complete either way).
  const kept = new Map<Finding['kind'], number>();
  const room = (kind: Finding['kind']): boolean => (kept.get(kind) ?? 0) < FINDINGS_PER_KIND;
  const keep = (f: Finding): void => {
    if (!room(f.kind)) return;
    kept.set(f.kind, (kept.get(f.kind) ?? 0) + 1);
    findings.push(f);
  };

  // Inputs unchanged.
  if (input.digests[0] !== input.digests[1]) {
    counts.inputs_modified = 1;
    keep({ kind: 'inputs_modified', where: 'inputs', observed: `digest ${input.digests[1]}`, reference: `digest ${input.digests[0]}`, detail: 'an input buffer changed during the runs' });
  }

  // Routing: ids, exact ties, determinism, weights.
  const sel = judgeSelection(reference, run1.ids, model);
  const routingRows = new Uint8Array(sel.wrongRows);
  sel.findings.forEach(keep);
  const expected = input.referenceForIds ?? reference;
  const w = judgeWeights(run1.ids, run1.weights, expected, sel.unforceable, model);
  w.findings.forEach(keep);
  w.wrongRows.forEach((v, t) => { if (v) routingRows[t] = 1; });
  // Rows whose ids or weights differ from run 1 in some later run (the first such run named).
  const ndRun = new Map<number, number>();
  for (const [j, run] of later.entries()) {
    for (const i of [...differingIndices(run1.ids, run.ids), ...differingIndices(run1.weights, run.weights)]) {
      const t = Math.floor(i / k);
      if (!ndRun.has(t)) ndRun.set(t, j + 2);
    }
  }
  const ndRows = new Set(ndRun.keys());
  for (const t of [...ndRows].sort((a, b) => a - b)) {
    const r = ndRun.get(t)!;
    keep({ kind: 'nondeterministic', where: `ids/weights[t=${t}]`, observed: `run ${r} ids [${Array.from(input.runs[r - 1]!.ids.subarray(t * k, (t + 1) * k)).join(',')}]`, reference: `run 1 ids [${Array.from(run1.ids.subarray(t * k, (t + 1) * k)).join(',')}]`, detail: `routing differs between runs on identical inputs (${input.runs.length} runs)` });
  }
  counts.routing = routingRows.reduce((a, b) => a + b, 0);

  // Output elements.
  const histogram = new Array<number>(RATIO_BIN_LABELS.length).fill(0);
  const poisonRows = new Map<number, number>();
  const flipRows = new Set<number>();
  let worst: WorstElement | null = null;
  // The worst beyond-bound element: its kept finding, or (not kept) what builds it at the end.
  let worstBeyond: Finding | null = null;
  let worstBeyondAt: { readonly t: number; readonly h: number; readonly out: number; readonly ref: number; readonly bound: number; readonly ratio: number; readonly allowance: number } | null = null;
  let worstBeyondRatio = -1;
  const beyondFinding = (t: number, h: number, out: number, ref: number, bound: number, ratio: number, allowance: number): Finding => ({
    kind: 'beyond_bound', where: `out[t=${t},h=${h}]`, observed: fmtNum(out), reference: fmtNum(ref),
    detail: `bound ${fmtNum(bound)}; ${fmtNum(ratio)}× bound${allowance > 0 ? `; flip allowance ${fmtNum(allowance)}` : ''}`,
  });
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
      let r = o1 !== o2 ? 2 : 0; // the first run (1-based) that differs from run 1, or 0
      for (let j = 2; r === 0 && j < input.runs.length; j++) if (input.runs[j]!.output[i] !== o1) r = j + 1;
      if (r !== 0) {
        const oj = input.runs[r - 1]!.output[i]!;
        nondet++;
        if (room('nondeterministic')) keep({ kind: 'nondeterministic', where: `out[t=${t},h=${h}]`, observed: `${fmtNum(bf16ToF32(oj))} (${hex(oj)}) in run ${r}`, reference: `${fmtNum(bf16ToF32(o1))} (${hex(o1)}) in run 1`, detail: `output differs between runs on identical inputs (${input.runs.length} runs)` });
      }
      const out = bf16ToF32(o1);
      if (judgeValue && Number.isNaN(expected.outputF32[i])) {
        // The reference's own float32 arithmetic met Inf − Inf (slot terms beyond float32's
        // range in both directions): the contract leaves this element undefined; any output
        // is as good as the reference's, so it is counted apart, never passed as judged.
        counts.overflow_undefined++;
        continue;
      }
      if (isNonFiniteBf16(o1)) {
        if (judgeValue && infinityIsCorrect(model, out, expected.outputF32[i]!, expected.absAccum[i]!)) {
          histogram[0]!++; // the same infinity the reference's value rounds to
          continue;
        }
        counts.nonfinite++;
        if (room('nonfinite')) keep({ kind: 'nonfinite', where: `out[t=${t},h=${h}]`, observed: `${fmtNum(out)} (${hex(o1)})`, reference: fmtNum(expected.outputF32[i]!), detail: Number.isNaN(out) ? 'non-finite output' : 'non-finite output: the reference does not overflow bf16 this way within its bound' });
        continue;
      }
      if (!judgeValue) continue;
      const ref = expected.outputF32[i]!;
      if (beyondFloat32(ref, expected.absAccum[i]!, out)) {
        counts.overflow_undefined++;
        continue;
      }
      // + the bound the reference derived for a declared convention (absent by default).
      const bound = elementBound(model, expected.absAccum[i]!, out) + (expected.conventionBound?.[i] ?? 0);
      const diff = Math.abs(out - ref);
      const ratio = Number.isFinite(ref) ? diff / bound : (out === ref ? 0 : Infinity);
      if (ratio <= 1) {
        histogram[ratioBin(ratio, 'bound')]!++;
        if (worst === null || ratio > worst.ratio) worst = { t, h, observed: out, reference: ref, bound, ratio };
        continue;
      }
      const allowance = expected.flipAllowance[i]!;
      if (expected.fragileTokens[t] === 1 && diff <= bound + allowance) {
        counts.flip_explained++;
        flipRows.add(t);
        histogram[ratioBin(ratio, 'flip')]!++;
        continue;
      }
      counts.beyond_bound++;
      histogram[ratioBin(ratio, 'bound')]!++;
      if (worst === null || ratio > worst.ratio) worst = { t, h, observed: out, reference: ref, bound, ratio };
      const f = room('beyond_bound') ? beyondFinding(t, h, out, ref, bound, ratio, allowance) : null;
      if (f !== null) keep(f);
      if (ratio > worstBeyondRatio) {
        worstBeyondRatio = ratio;
        worstBeyond = f;
        worstBeyondAt = f === null ? { t, h, out, ref, bound, ratio, allowance } : null;
      }
    }
  }
  counts.nondeterministic = nondet + ndRows.size;
  if (worstBeyond === null && worstBeyondAt !== null) {
    const w = worstBeyondAt;
    worstBeyond = beyondFinding(w.t, w.h, w.out, w.ref, w.bound, w.ratio, w.allowance);
  }
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
