/**
 * Judging a kernel's routing (SPEC §3): ids, exact-tie order and weights, from the
 * reference's Expected alone (routing.evidence: scores, group scores, tie classes); no
 * score is computed here.
 *
 * - Ids: distinct, in [0, E), and a valid top-k under the reference's float32 scores,
 *   allowing only choices among scores tied within the kernel's precision
 *   (checkSelectionWith with ErrorModel.scoreTolerance).
 * - Exact ties: experts with bit-identical routing inputs (logit, and bias when the method
 *   reads one) get the same score in every arithmetic, so "on an exact tie the lower
 *   expert index wins" is decidable and enforced: choosing the higher index while leaving
 *   the lower one out is wrong. Across deepseek_v3 groups the same holds when the two
 *   groups tie exactly (identical input multisets): the lower group must then be kept
 *   whenever the higher one is, so its expert was eligible. (Distinct inputs whose float32
 *   scores happen to round equal are near-ties: either choice is accepted.)
 * - Weights: each chosen expert's weight within weightRelative·|w| + weightAbsolute of the
 *   reference's weight for the kernel's own choice.
 */
import type { Expected } from '../reference/expected.js';
import { checkSelectionWith } from '../reference/routing/checkSelection.js';
import type { ErrorModel } from './errorModel.js';
import { fmtNum, type Finding } from './verdict.js';

export interface SelectionJudgement {
  /** One finding per token whose ids are wrong. */
  readonly findings: Finding[];
  /** Rows [T] whose ids are unusable (out of range, duplicated): 1. */
  readonly unforceable: Uint8Array;
  /** Rows [T] with any id problem: 1. */
  readonly wrongRows: Uint8Array;
}

const idsText = (ids: Int32Array, t: number, k: number): string => `[${Array.from(ids.subarray(t * k, (t + 1) * k)).join(',')}]`;

/** The first exact-tie violation of token t, or null. */
function exactTieViolation(reference: Expected, ids: Int32Array, t: number): string | null {
  const { E, topK: k } = reference.problem;
  const ev = reference.routing.evidence;
  const cls = ev.expertTieClass.subarray(t * E, (t + 1) * E);
  const g = ev.groups;
  const chosen = new Set(Array.from(ids.subarray(t * k, (t + 1) * k)));
  for (const a of chosen) {
    const c = cls[a]!;
    if (c < 0) continue;
    for (let b = c; b < a; b++) {
      if (chosen.has(b) || cls[b] !== c) continue;
      const score = `score ${fmtNum(ev.scores[t * E + a]!)}`;
      if (g === null) return `expert ${a} chosen over expert ${b} with identical inputs (${score}): an exact tie, the lower index must win`;
      const ga = Math.floor(a / g.size);
      const gb = Math.floor(b / g.size);
      if (ga === gb) return `expert ${a} chosen over expert ${b} with identical inputs (${score}): an exact tie, the lower index must win`;
      if (g.tieClass[t * g.count + ga] !== g.tieClass[t * g.count + gb]) continue; // group gb may rightly be dropped
      return `expert ${a} (group ${ga}) chosen over expert ${b} (group ${gb}) with identical inputs (${score}), in groups with identical inputs: ` +
        `an exact group tie, the lower group must be kept and the lower index must win`;
    }
  }
  return null;
}

/** Rows [T] whose ids cannot be used to recompute the reference (out of range, duplicated): 1. */
export function unusableRows(ids: Int32Array, T: number, k: number, E: number): Uint8Array {
  const rows = new Uint8Array(T);
  for (let t = 0; t < T; t++) {
    for (let j = 0; j < k; j++) {
      const id = ids[t * k + j]!;
      if (!(id >= 0 && id < E)) rows[t] = 1;
      for (let j2 = 0; j2 < j; j2++) if (ids[t * k + j2] === id) rows[t] = 1;
    }
  }
  return rows;
}

export function judgeSelection(reference: Expected, ids: Int32Array, model: ErrorModel): SelectionJudgement {
  const { T, E, topK: k } = reference.problem;
  const findings: Finding[] = [];
  const unforceable = unusableRows(ids, T, k, E);
  const wrongRows = new Uint8Array(T);
  const verdicts = checkSelectionWith(reference.routing.evidence, { T, E, topK: k }, ids, model.scoreTolerance);
  for (const v of verdicts) {
    let why = v.ok ? null : (v.reason ?? 'not a valid top-k');
    if (why === null && !unforceable[v.t]) why = exactTieViolation(reference, ids, v.t);
    if (why === null) continue;
    wrongRows[v.t] = 1;
    findings.push({
      kind: 'routing', where: `ids[t=${v.t}]`, observed: idsText(ids, v.t, k),
      reference: idsText(reference.routing.ids, v.t, k), detail: why,
    });
  }
  return { findings, unforceable, wrongRows };
}

/** Whether row t of `a` and `b` hold the same set of ids. */
function sameSet(a: Int32Array, b: Int32Array, t: number, k: number): boolean {
  for (let j = 0; j < k; j++) {
    const id = a[t * k + j]!;
    let found = false;
    for (let j2 = 0; j2 < k; j2++) if (b[t * k + j2] === id) found = true;
    if (!found) return false;
  }
  return true;
}

/**
 * The ids to recompute the reference with: the kernel's ids, except unforceable rows
 * (which keep the reference's). Null when every usable row holds the reference's set
 * (slot order alone does not need a new reference: the bound does not depend on order).
 */
export function forcedIdsFor(referenceIds: Int32Array, kernelIds: Int32Array, unforceable: Uint8Array, k: number): Int32Array | null {
  const T = unforceable.length;
  let differs = false;
  const forced = new Int32Array(kernelIds);
  for (let t = 0; t < T; t++) {
    if (unforceable[t]) forced.set(referenceIds.subarray(t * k, (t + 1) * k), t * k);
    else if (!sameSet(referenceIds, kernelIds, t, k)) differs = true;
  }
  return differs ? forced : null;
}

/**
 * Weight findings (one per wrong slot) for usable rows, against `expected` whose ids hold
 * the same set as the kernel's in every usable row.
 */
export function judgeWeights(
  ids: Int32Array, weights: Float32Array, expected: Expected, unforceable: Uint8Array, model: ErrorModel,
): { findings: Finding[]; wrongRows: Uint8Array } {
  const k = expected.problem.topK;
  const T = unforceable.length;
  const findings: Finding[] = [];
  const wrongRows = new Uint8Array(T);
  for (let t = 0; t < T; t++) {
    if (unforceable[t]) continue;
    for (let j = 0; j < k; j++) {
      const id = ids[t * k + j]!;
      let ref = NaN;
      for (let j2 = 0; j2 < k; j2++) if (expected.routing.ids[t * k + j2] === id) ref = expected.routing.weights[t * k + j2]!;
      const w = weights[t * k + j]!;
      const tol = model.weightRelative * Math.abs(ref) + model.weightAbsolute;
      const ok = Number.isFinite(w) && Math.abs(w - ref) <= tol;
      if (ok) continue;
      wrongRows[t] = 1;
      findings.push({
        kind: 'routing', where: `weights[t=${t},j=${j}]`, observed: fmtNum(w), reference: fmtNum(ref),
        detail: `expert ${id}; ${Number.isFinite(w) ? `tolerance ${fmtNum(tol)} (relative ${fmtNum(model.weightRelative)})` : 'non-finite weight'}`,
      });
    }
  }
  return { findings, wrongRows };
}
