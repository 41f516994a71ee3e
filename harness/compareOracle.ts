/**
 * The comparator's element loop as first written: one straightforward pass over every element
 * of every run, with the helpers of errorModel.ts called per element. compare() runs it through
 * compareWith (the same checks, routing judgement and verdict assembly) as the differential
 * oracle of its fast element loop (bitwise-identical later runs skipped, bound terms from
 * tables), which must give the same Verdict, field for field (compareOracle.test.ts). Tests
 * only; the campaign judges with compare().
 */
import { bf16ToF32 } from '../reference/formats/bf16.js';
import { beyondFloat32, elementBound, infinityIsCorrect } from './errorModel.js';
import { beyondFinding, compareWith, type CompareInput, type ElementInput, type ElementTally } from './compare.js';
import { fmtNum, ratioBin, RATIO_BIN_LABELS, type Finding, type Verdict, type WorstElement } from './verdict.js';

const hex = (x: number): string => `0x${x.toString(16).padStart(4, '0')}`;
const isNonFiniteBf16 = (bits: number): boolean => (bits & 0x7f80) === 0x7f80;

/** compare() with the first element loop (below) in place of its fast one. */
export function compareOracle(input: CompareInput): Verdict {
  return compareWith(input, oracleElementLoop);
}

/** The element loop as first written: every element of every run, the errorModel.ts helpers per element. */
function oracleElementLoop(a: ElementInput, room: (kind: Finding['kind']) => boolean, keep: (f: Finding) => void): ElementTally {
  const { T, H, run1, run2, expected, model } = a;
  const bins = new Float64Array(RATIO_BIN_LABELS.length);
  const poisonRows = new Map<number, number>();
  const flipRows = new Set<number>();
  let worst: WorstElement | null = null;
  // The worst beyond-bound element: its kept finding, or (not kept) what builds it at the end.
  let worstBeyond: Finding | null = null;
  let worstBeyondAt: { readonly t: number; readonly h: number; readonly out: number; readonly ref: number; readonly bound: number; readonly ratio: number; readonly allowance: number } | null = null;
  let worstBeyondRatio = -1;
  let nondet = 0;
  const [p1, p2] = a.poison;
  const runs = [run1, ...a.later.map((l) => l.run)];
  let poison = 0, overflowUndefined = 0, nonfinite = 0, flipExplained = 0, beyondBound = 0;
  for (let t = 0; t < T; t++) {
    const judgeValue = !a.unforceable[t];
    for (let h = 0; h < H; h++) {
      const i = t * H + h;
      const o1 = run1.output[i]!;
      const o2 = run2.output[i]!;
      if (o1 === p1 && o2 === p2) {
        poison++;
        poisonRows.set(t, (poisonRows.get(t) ?? 0) + 1);
        continue;
      }
      let r = o1 !== o2 ? 2 : 0; // the first run (1-based) that differs from run 1, or 0
      for (let j = 2; r === 0 && j < runs.length; j++) if (runs[j]!.output[i] !== o1) r = j + 1;
      if (r !== 0) {
        const oj = runs[r - 1]!.output[i]!;
        nondet++;
        if (room('nondeterministic')) keep({ kind: 'nondeterministic', where: `out[t=${t},h=${h}]`, observed: `${fmtNum(bf16ToF32(oj))} (${hex(oj)}) in run ${r}`, reference: `${fmtNum(bf16ToF32(o1))} (${hex(o1)}) in run 1`, detail: `output differs between runs on identical inputs (${runs.length} runs)` });
      }
      const out = bf16ToF32(o1);
      if (judgeValue && Number.isNaN(expected.outputF32[i])) {
        // The reference's own float32 arithmetic met Inf − Inf (slot terms beyond float32's
        // range in both directions): the contract leaves this element undefined; any output
        // is as good as the reference's, so it is counted apart, never passed as judged.
        overflowUndefined++;
        continue;
      }
      if (isNonFiniteBf16(o1)) {
        if (judgeValue && infinityIsCorrect(model, out, expected.outputF32[i]!, expected.absAccum[i]!)) {
          bins[0]!++; // the same infinity the reference's value rounds to
          continue;
        }
        nonfinite++;
        if (room('nonfinite')) keep({ kind: 'nonfinite', where: `out[t=${t},h=${h}]`, observed: `${fmtNum(out)} (${hex(o1)})`, reference: fmtNum(expected.outputF32[i]!), detail: Number.isNaN(out) ? 'non-finite output' : 'non-finite output: the reference does not overflow bf16 this way within its bound' });
        continue;
      }
      if (!judgeValue) continue;
      const ref = expected.outputF32[i]!;
      if (beyondFloat32(ref, expected.absAccum[i]!, out)) {
        overflowUndefined++;
        continue;
      }
      // + the bound the reference derived for a declared convention (absent by default).
      const bound = elementBound(model, expected.absAccum[i]!, out) + (expected.conventionBound?.[i] ?? 0);
      const diff = Math.abs(out - ref);
      const ratio = Number.isFinite(ref) ? diff / bound : (out === ref ? 0 : Infinity);
      if (ratio <= 1) {
        bins[ratioBin(ratio, 'bound')]!++;
        if (worst === null || ratio > worst.ratio) worst = { t, h, observed: out, reference: ref, bound, ratio };
        continue;
      }
      const allowance = expected.flipAllowance[i]!;
      if (expected.fragileTokens[t] === 1 && diff <= bound + allowance) {
        flipExplained++;
        flipRows.add(t);
        bins[ratioBin(ratio, 'flip')]!++;
        continue;
      }
      beyondBound++;
      bins[ratioBin(ratio, 'bound')]!++;
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
  return {
    bins, poisonRows, flipRows, worst, worstBeyond, worstBeyondAt,
    nondet, poison, overflowUndefined, nonfinite, flipExplained, beyondBound,
  };
}
