/**
 * ErrorMap: where the errors of one incorrect (case, tactic) sit, small enough to keep in
 * every record and to draw on the report page.
 *
 * Computed once per incorrect record, while the kernel's output is still at hand (the
 * campaign calls errorMapOf right after judging), with the comparator's own classification
 * of every output element (harness/compare.ts): the same bound (errorModel.elementBound),
 * the same reference (recomputed with the kernel's ids when it chose other experts), the
 * same flip rule and the same poison test. It holds:
 *
 *   - a token × hidden grid of levels of |out − ref| / bound, max-pooled over cells of
 *     tokensPerCell × hiddenPerCell elements (both powers of two, so cell edges fall on
 *     tile edges of 8…128 tokens and 16…64-wide blocks), at most MAX_ROWS × MAX_COLS cells;
 *   - an expert × hidden grid: for every expert the kernel routed a judged token to, the
 *     share of those tokens whose element is beyond its bound (non-finite and never-written
 *     elements count as beyond), in tenths — a broken expert is a full row;
 *   - the five worst elements (kernel ids and weights of their token included), from
 *     which the report recomputes the intermediates (report/intermediates.ts).
 *
 * Plain JSON (strings and numbers): it travels in report.json and records.jsonl as is.
 */
import type { Expected } from '../../reference/expected.js';
import { bf16ToF32 } from '../../reference/formats/bf16.js';
import { beyondFloat32, elementBound, infinityIsCorrect, type ErrorModel } from '../errorModel.js';
import type { Observed } from '../kernels/kernel.js';
import { fmtNum } from '../verdict.js';
import { isLocalExpert } from '../../reference/slotPlan.js';

/** Levels of one element (index = level). Pooling keeps the highest level of a cell. */
export const ERROR_LEVELS = [
  'not judged', '0', '≤2^-8', '≤2^-6', '≤2^-4', '≤2^-2', '≤2^-1', '≤1', 'flip', '≤2', '≤4', '≤16', '>16', 'non-finite', 'never written',
] as const;
/** First level beyond the bound (flip-explained elements are below it). */
export const FIRST_BEYOND_LEVEL = 9;
const NONFINITE_LEVEL = 13;
export const POISON_LEVEL = 14;

/** Cells of the token × hidden grid, at most. */
export const MAX_ROWS = 64;
export const MAX_COLS = 128;
/** Experts drawn in the expert × hidden grid, at most (those with the largest shares first). */
const MAX_EXPERT_ROWS = 32;
/** Worst elements kept. */
const WORST_KEPT = 5;

export type ElementClass = 'within' | 'flip_explained' | 'beyond_bound' | 'nonfinite' | 'poison';

export interface WorstEntry {
  readonly t: number;
  readonly h: number;
  readonly class: ElementClass;
  /** As the finding prints them (fmtNum: NaN, Inf spelled out). */
  readonly observed: string;
  readonly reference: string;
  readonly bound: number;
  /** |out − ref| / bound; null when not finite (non-finite output, never written). */
  readonly ratio: number | null;
  /** The kernel's expert ids and weights of token t. */
  readonly ids: readonly number[];
  readonly weights: readonly number[];
}

export interface ExpertRow {
  readonly expert: number;
  /** Judged tokens the kernel routed to this expert. */
  readonly tokens: number;
  /** One char per hidden cell: share beyond the bound in tenths, '0'…'9', 'a' = all. */
  readonly cells: string;
}

export interface ErrorMap {
  readonly T: number;
  readonly H: number;
  readonly tokensPerCell: number;
  readonly hiddenPerCell: number;
  readonly rows: number;
  readonly cols: number;
  /** rows × cols chars, row-major; each a level (ERROR_LEVELS index) in base 36. */
  readonly cells: string;
  /** Elements per class over the whole output. */
  readonly classes: Readonly<Record<ElementClass, number>> & { readonly unjudged: number };
  readonly experts: readonly ExpertRow[];
  /** Experts left out of `experts` (beyond MAX_EXPERT_ROWS). */
  readonly expertsOmitted: number;
  /**
   * Experts the errors follow (followingExperts), empty when they follow none: every judged
   * token with an element beyond its bound is routed to one of them, every token routed to
   * them has one, and they are fewer than half of the experts that received tokens.
   */
  readonly follows: readonly number[];
  readonly worst: readonly WorstEntry[];
}

export interface ErrorMapInput {
  /** The reference the comparator judged against (recomputed with the kernel's ids when it chose others). */
  readonly expected: Expected;
  readonly runs: readonly [Observed, Observed, ...Observed[]];
  readonly poison: readonly [number, number];
  readonly model: ErrorModel;
  /** Rows [T] whose ids are unusable (routingJudge.unusableRows): their values are not judged. */
  readonly unjudged: Uint8Array;
}

/** The smallest power of two p with n / p <= max. */
export function cellSpan(n: number, max: number): number {
  let p = 1;
  while (Math.ceil(n / p) > max) p *= 2;
  return p;
}

/** The level of a judged finite element. */
export function levelOf(ratio: number, cls: ElementClass): number {
  if (cls === 'poison') return POISON_LEVEL;
  if (cls === 'nonfinite') return NONFINITE_LEVEL;
  if (cls === 'flip_explained') return 8;
  if (ratio === 0) return 1;
  if (ratio <= 1) {
    const edges = [2 ** -8, 2 ** -6, 2 ** -4, 2 ** -2, 2 ** -1, 1];
    return 2 + edges.findIndex((e) => ratio <= e);
  }
  return ratio <= 2 ? 9 : ratio <= 4 ? 10 : ratio <= 16 ? 11 : 12;
}

const isNonFiniteBf16 = (bits: number): boolean => (bits & 0x7f80) === 0x7f80;

export function errorMapOf(input: ErrorMapInput): ErrorMap {
  const { expected, model, unjudged } = input;
  const { T, H, topK: k } = expected.problem;
  const [run1, run2] = input.runs;
  if (run1.output.length !== T * H || run2.output.length !== T * H || run1.ids.length !== T * k || run1.weights.length !== T * k) {
    throw new Error(`errorMapOf: results of the wrong size (output ${run1.output.length}/${run2.output.length}, ids ${run1.ids.length}, weights ${run1.weights.length}; expected ${T * H} and ${T * k})`);
  }
  const tokensPerCell = cellSpan(T, MAX_ROWS);
  const hiddenPerCell = cellSpan(H, MAX_COLS);
  const rows = Math.ceil(T / tokensPerCell);
  const cols = Math.ceil(H / hiddenPerCell);
  const grid = new Uint8Array(rows * cols);
  const classes = { within: 0, flip_explained: 0, beyond_bound: 0, nonfinite: 0, poison: 0, unjudged: 0 };
  // Per token and hidden cell: 1 when some element of it is beyond the bound.
  const tokenBad = new Uint8Array(cols);
  const expertTokens = new Map<number, number>();
  const expertBad = new Map<number, Uint32Array>();
  const badTokens: number[] = []; // judged tokens with an element beyond the bound
  const worst: Array<{ key: number; t: number; h: number; cls: ElementClass; out: number; ref: number; bound: number; ratio: number }> = [];
  const [p1, p2] = input.poison;
  for (let t = 0; t < T; t++) {
    tokenBad.fill(0);
    const r = Math.floor(t / tokensPerCell);
    const judged = unjudged[t] !== 1;
    for (let h = 0; h < H; h++) {
      const i = t * H + h;
      const o1 = run1.output[i]!;
      const out = bf16ToF32(o1);
      const ref = expected.outputF32[i]!;
      // The comparator's bound, with a declared convention's share (compare.ts).
      const bound = elementBound(model, expected.absAccum[i]!, out) + (expected.conventionBound?.[i] ?? 0);
      let cls: ElementClass;
      let ratio: number;
      const poisoned = o1 === p1 && run2.output[i] === p2;
      // As the comparator: an element the contract leaves undefined (the reference's float32
      // sum met Inf − Inf, or overflowed beyond float32) is not judged; an infinity the
      // reference's value also overflows to within its bound is correct.
      const undefinedHere = judged && !poisoned && (Number.isNaN(ref) || beyondFloat32(ref, expected.absAccum[i]!, out));
      if (poisoned) {
        cls = 'poison';
        ratio = Infinity;
      } else if (undefinedHere) {
        classes.unjudged++;
        continue; // level 0 (not judged)
      } else if (isNonFiniteBf16(o1) && judged && infinityIsCorrect(model, out, ref, expected.absAccum[i]!)) {
        cls = 'within';
        ratio = 0;
      } else if (isNonFiniteBf16(o1)) {
        cls = 'nonfinite';
        ratio = Infinity;
      } else if (!judged) {
        classes.unjudged++;
        continue; // level 0 (not judged)
      } else {
        const diff = Math.abs(out - ref);
        ratio = Number.isFinite(ref) ? diff / bound : (out === ref ? 0 : Infinity);
        cls = ratio <= 1 ? 'within'
          : expected.fragileTokens[t] === 1 && diff <= bound + expected.flipAllowance[i]! ? 'flip_explained' : 'beyond_bound';
      }
      classes[cls]++;
      const level = levelOf(ratio, cls);
      const g = r * cols + Math.floor(h / hiddenPerCell);
      if (level > grid[g]!) grid[g] = level;
      if (level >= FIRST_BEYOND_LEVEL) tokenBad[Math.floor(h / hiddenPerCell)] = 1;
      // Worst: non-finite and never-written first, then by ratio.
      const key = cls === 'poison' ? 2e308 : cls === 'nonfinite' ? 1.5e308 : cls === 'flip_explained' ? Math.min(ratio, 1) : ratio;
      if (worst.length < WORST_KEPT || key > worst[worst.length - 1]!.key) {
        if (worst.length === WORST_KEPT) worst.pop();
        let at = worst.findIndex((w) => key > w.key);
        if (at < 0) at = worst.length;
        worst.splice(at, 0, { key, t, h, cls, out, ref, bound, ratio });
      }
    }
    if (!judged) continue;
    if (tokenBad.includes(1)) badTokens.push(t);
    for (let j = 0; j < k; j++) {
      const e = run1.ids[t * k + j]!;
      expertTokens.set(e, (expertTokens.get(e) ?? 0) + 1);
      let bad = expertBad.get(e);
      if (bad === undefined) expertBad.set(e, (bad = new Uint32Array(cols)));
      for (let c = 0; c < cols; c++) bad[c]! += tokenBad[c]!;
    }
  }
  const experts = [...expertTokens].map(([expert, tokens]) => {
    const bad = expertBad.get(expert)!;
    const shares = Array.from(bad, (b) => Math.round((10 * b) / tokens));
    return { expert, tokens, cells: shares.map((s) => s.toString(36)).join(''), score: bad.reduce((a, b) => a + b, 0) / tokens };
  });
  experts.sort((a, b) => b.score - a.score || a.expert - b.expert);
  const kept = experts.slice(0, MAX_EXPERT_ROWS).sort((a, b) => a.expert - b.expert).map(({ expert, tokens, cells }) => ({ expert, tokens, cells }));
  return {
    T, H, tokensPerCell, hiddenPerCell, rows, cols,
    cells: Array.from(grid, (l) => l.toString(36)).join(''),
    classes, experts: kept, expertsOmitted: experts.length - kept.length,
    follows: followingExperts(run1.ids, k, badTokens, unjudged, (e) => isLocalExpert(expected.problem, e)),
    worst: worst.map((w) => ({
      t: w.t, h: w.h, class: w.cls, observed: fmtNum(w.out), reference: fmtNum(w.ref), bound: w.bound,
      ratio: Number.isFinite(w.ratio) ? w.ratio : null,
      ids: Array.from(run1.ids.subarray(w.t * k, (w.t + 1) * k)), weights: Array.from(run1.weights.subarray(w.t * k, (w.t + 1) * k)),
    })),
  };
}

/**
 * The experts the errors follow, among the local experts: candidates are experts all of whose judged tokens are bad;
 * taken greedily, most tokens first, each only if it has a bad token no expert taken
 * before has (an expert whose few tokens all share a broken expert is not blamed). The
 * set stands when it covers every bad token and holds fewer than half of the experts, and
 * only when some judged token is good (when every token is wrong, nothing points at experts).
 */
export function followingExperts(
  ids: Int32Array, k: number, badTokens: readonly number[], unjudged: Uint8Array, local: (e: number) => boolean,
): number[] {
  const T = unjudged.length;
  const bad = new Uint8Array(T);
  for (const t of badTokens) bad[t] = 1;
  // Local experts only (the others contribute nothing), and tokens routed to one of them.
  const tokensOf = new Map<number, number[]>();
  let judged = 0;
  for (let t = 0; t < T; t++) {
    if (unjudged[t] === 1) continue;
    let any = false;
    for (let j = 0; j < k; j++) {
      const e = ids[t * k + j]!;
      if (!local(e)) continue;
      any = true;
      (tokensOf.get(e) ?? tokensOf.set(e, []).get(e)!).push(t);
    }
    if (any) judged++;
    else if (bad[t] === 1) return []; // a token with no local expert is wrong: not an expert's doing
  }
  // Blame needs evidence both ways: some bad token, and some good one.
  if (badTokens.length === 0 || badTokens.length === judged) return [];
  const candidates = [...tokensOf].filter(([, ts]) => ts.every((t) => bad[t] === 1)).sort((a, b) => b[1].length - a[1].length || a[0] - b[0]);
  const covered = new Uint8Array(T);
  const taken: number[] = [];
  for (const [e, ts] of candidates) {
    if (!ts.some((t) => covered[t] === 0)) continue;
    taken.push(e);
    for (const t of ts) covered[t] = 1;
  }
  if (!badTokens.every((t) => covered[t] === 1) || 2 * taken.length >= tokensOf.size) return [];
  return taken.sort((a, b) => a - b);
}

/** The level of a grid cell (ERROR_LEVELS index). */
export function cellLevel(map: ErrorMap, row: number, col: number): number {
  return parseInt(map.cells[row * map.cols + col]!, 36);
}
