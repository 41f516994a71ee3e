/**
 * Is a kernel's expert choice a valid top-k? SPEC §3: a selection that differs from the
 * reference only among scores tied within the kernel's arithmetic precision is valid;
 * any other difference is not.
 *
 * Per token, the ids must be distinct and in [0, E), and no unchosen expert may beat a
 * chosen one by more than the tolerance: with a = the lowest chosen score and b = the
 * highest unchosen score (reference float32 scores), ok iff b <= a or
 * |a - b| <= absolute + relative·max(|a|, |b|) (non-finite scores are near only when
 * equal, so a masked (-inf) expert chosen over a finite one is always rejected).
 * Slot order is not judged (it only orders finalize's summation).
 *
 * Grouped deepseek_v3: the chosen experts must lie in at most topkGroup groups, and
 * there must be a set K of topkGroup groups containing them that is a valid top set of
 * group scores under the same tolerance, within which the expert choice is valid. So a
 * near-tied group choice is accepted, and the experts are judged within the groups the
 * kernel must have kept. A kept set must also respect EXACT group ties (groups with
 * identical inputs, evidence.ts): keeping a group while leaving out a lower-index group
 * tied with it exactly breaks SPEC §3's "lower index wins", so such sets are not candidates.
 *
 * The judgement reads only the reference's RoutingEvidence (checkSelectionWith); it never
 * computes a score. checkSelection(input, ...) is the convenience that routes first.
 */
import { BadArgumentError, describeValue } from '../errors.js';
import type { GroupEvidence, RoutingEvidence } from './evidence.js';
import { maskToGroups } from './groups.js';
import { routingMethod } from './registry.js';
import type { RoutingInput } from './types.js';

export interface SelectionTolerance {
  readonly relative: number;
  readonly absolute: number;
}

export interface TokenSelectionVerdict {
  readonly t: number;
  readonly ok: boolean;
  readonly reason?: string;
}

function near(a: number, b: number, tol: SelectionTolerance): boolean {
  if (a === b) return true;
  if (!Number.isFinite(a) || !Number.isFinite(b)) return false;
  return Math.abs(a - b) <= tol.absolute + tol.relative * Math.max(Math.abs(a), Math.abs(b));
}

const fmt = (x: number): string => (Number.isFinite(x) ? x.toPrecision(9) : String(x));

/**
 * Judge `chosen` (indices into scores) as a top set of `scores` under the tolerance.
 * Returns null when valid, else a description naming both offending entries.
 */
function judgeTopSet(
  scores: Float32Array, chosen: readonly number[], tol: SelectionTolerance, what: string,
): string | null {
  const isChosen = new Uint8Array(scores.length);
  for (const c of chosen) isChosen[c] = 1;
  let worstChosen = -1;
  for (const c of chosen) if (worstChosen < 0 || scores[c]! < scores[worstChosen]!) worstChosen = c;
  let bestOther = -1;
  for (let i = 0; i < scores.length; i++) {
    if (!isChosen[i] && (bestOther < 0 || scores[i]! > scores[bestOther]!)) bestOther = i;
  }
  if (worstChosen < 0 || bestOther < 0) return null;
  const a = scores[worstChosen]!;
  const b = scores[bestOther]!;
  if (!(b > a) || near(a, b, tol)) return null;
  return `${what} ${worstChosen} (score ${fmt(a)}) chosen over ${what} ${bestOther} (score ${fmt(b)}), ` +
    `beyond tolerance (relative ${tol.relative}, absolute ${tol.absolute})`;
}

/** Every subset of size `size` of [0, n) that contains `required`. */
function supersets(n: number, size: number, required: readonly number[]): number[][] {
  const rest: number[] = [];
  for (let g = 0; g < n; g++) if (!required.includes(g)) rest.push(g);
  const out: number[][] = [];
  const need = size - required.length;
  const pick = (from: number, acc: number[]): void => {
    if (acc.length === need) {
      out.push([...required, ...acc].sort((x, y) => x - y));
      return;
    }
    for (let i = from; i < rest.length; i++) pick(i + 1, [...acc, rest[i]!]);
  };
  if (need >= 0) pick(0, []);
  return out;
}

/** Whether kept set K keeps, with every group, each lower group tied with it exactly. */
function respectsExactGroupTies(g: GroupEvidence, t: number, kept: readonly number[]): boolean {
  const cls = g.tieClass.subarray(t * g.count, (t + 1) * g.count);
  for (const k of kept) {
    for (let lower = cls[k]!; lower < k; lower++) if (cls[lower] === cls[k] && !kept.includes(lower)) return false;
  }
  return true;
}

/** Shape of a selection to judge: T tokens of k ids among E experts. */
export interface SelectionShape {
  readonly T: number;
  readonly E: number;
  readonly topK: number;
}

/** checkSelection on the reference's evidence (pure: no score is computed here). */
export function checkSelectionWith(ev: RoutingEvidence, shape: SelectionShape, ids: Int32Array, tol: SelectionTolerance): TokenSelectionVerdict[] {
  const { T, E, topK: k } = shape;
  if (!(ids instanceof Int32Array) || ids.length !== T * k) {
    throw new BadArgumentError('ids', `Int32Array of length T·k = ${T}·${k} = ${T * k}`, describeValue(ids));
  }
  if (!(tol.relative >= 0) || !(tol.absolute >= 0)) {
    throw new BadArgumentError('tol', 'relative >= 0 and absolute >= 0', `relative ${tol.relative}, absolute ${tol.absolute}`);
  }
  if (ev.scores.length !== T * E) {
    throw new BadArgumentError('evidence.scores', `Float32Array of length T·E = ${T}·${E} = ${T * E}`, describeValue(ev.scores));
  }
  const verdicts: TokenSelectionVerdict[] = [];
  for (let t = 0; t < T; t++) {
    const chosen = Array.from(ids.subarray(t * k, (t + 1) * k));
    const prefix = `token ${t}: ids [${chosen.join(', ')}]`;
    const bad = chosen.findIndex((id) => !(id >= 0 && id < E));
    if (bad >= 0) {
      verdicts.push({ t, ok: false, reason: `${prefix}: slot ${bad} holds ${chosen[bad]}, outside [0, E=${E})` });
      continue;
    }
    const dup = chosen.findIndex((id, j) => chosen.indexOf(id) !== j);
    if (dup >= 0) {
      verdicts.push({ t, ok: false, reason: `${prefix}: expert ${chosen[dup]} chosen twice` });
      continue;
    }
    const scores = ev.scores.subarray(t * E, (t + 1) * E);
    const g = ev.groups;
    if (g === null) {
      const why = judgeTopSet(scores, chosen, tol, 'expert');
      verdicts.push(why === null ? { t, ok: true } : { t, ok: false, reason: `${prefix}: ${why}` });
      continue;
    }
    const groupScores = g.scores.subarray(t * g.count, (t + 1) * g.count);
    const touched = [...new Set(chosen.map((id) => Math.floor(id / g.size)))].sort((x, y) => x - y);
    if (touched.length > g.keep) {
      verdicts.push({ t, ok: false, reason: `${prefix}: experts from ${touched.length} groups [${touched.join(', ')}], at most topkGroup=${g.keep} allowed` });
      continue;
    }
    let groupWhy: string | null = null;
    let expertWhy: string | null = null;
    let ok = false;
    for (const kept of supersets(g.count, g.keep, touched)) {
      if (!respectsExactGroupTies(g, t, kept)) {
        groupWhy ??= `kept groups [${kept.join(', ')}] leave out a lower group with inputs identical to a kept one (exact group tie: the lower group index must win)`;
        continue;
      }
      const gw = judgeTopSet(groupScores, kept, tol, 'group');
      if (gw !== null) {
        groupWhy ??= `kept groups [${kept.join(', ')}] (group scores [${Array.from(groupScores, fmt).join(', ')}]): ${gw}`;
        continue;
      }
      const ew = judgeTopSet(maskToGroups(scores, g.size, kept), chosen, tol, 'expert');
      if (ew === null) {
        ok = true;
        break;
      }
      expertWhy ??= `within kept groups [${kept.join(', ')}]: ${ew}`;
    }
    verdicts.push(ok ? { t, ok } : { t, ok, reason: `${prefix}: ${expertWhy ?? groupWhy ?? 'no valid group set'}` });
  }
  return verdicts;
}

/** Route `input` with its method, then judge `ids` on that routing's evidence. */
export function checkSelection(input: RoutingInput, ids: Int32Array, tol: SelectionTolerance): TokenSelectionVerdict[] {
  const method = routingMethod(input.config.method);
  method.validateInput(input);
  const { T, E, topK } = input;
  if (!(ids instanceof Int32Array) || ids.length !== T * topK) {
    throw new BadArgumentError('ids', `Int32Array of length T·k = ${T}·${topK} = ${T * topK}`, describeValue(ids));
  }
  return checkSelectionWith(method.route(input).evidence, { T, E, topK }, ids, tol);
}
