/**
 * Verdict: the judgement of one (case, tactic): a disposition, counts per kind of
 * discrepancy, the worst element, findings in one grammar and a replay command.
 *
 * The grammar of a finding line (one line, always this shape):
 *
 *   <where>=<observed>, reference <reference> (<detail>; tactic <label>; seed <data seed>[; fc-seed <s>; path "<p>"])
 *
 * e.g. `out[t=3,h=17]=0.512, reference 0.498 (bound 0.004; tactic 32/2; seed 91; fc-seed 7; path "3:0")`.
 */

/**
 * What became of one (case, tactic). Never a boolean. 'error': the harness could not produce
 * a verdict (the case's generation or reference failed, or a harness bug while judging); not
 * the kernel's fault, and never a pass.
 */
const DISPOSITIONS = ['passed', 'incorrect', 'crashed', 'not_supported', 'error'] as const;
export type Disposition = (typeof DISPOSITIONS)[number];

/** Kinds of discrepancy that are counted (elements, rows or whole runs). */
export const DISCREPANCY_KINDS = [
  'nonfinite',        // output element NaN or ±Inf (and not the poison pattern)
  'poison',           // output element never written (held each run's poison pattern)
  'nondeterministic', // output/ids/weights differ bitwise between the two runs
  'inputs_modified',  // the inputs digest changed during the runs
  'routing',          // a token's ids are not a valid top-k, or its weights are wrong
  'beyond_bound',     // |out - reference| > bound + flipAllowance
  'flip_explained',   // bound < |out - reference| <= bound + flipAllowance (counted apart)
  'overflow_undefined', // the reference's own float32 value is NaN (Inf − Inf): not judgeable (counted apart)
] as const;
export type DiscrepancyKind = (typeof DISCREPANCY_KINDS)[number];

/** Findings that are not element counts: a crash, an enumerated tactic refusing the problem, the flip budget exceeded, results of the wrong shape or type. */
export type FindingKind = DiscrepancyKind | 'crash' | 'refused' | 'flip_budget' | 'malformed' | 'harness_error';

export interface Finding {
  readonly kind: FindingKind;
  /** e.g. "out[t=3,h=17]", "ids[t=4]", "weights[t=4,j=1]", "tactic". */
  readonly where: string;
  readonly observed: string;
  readonly reference: string;
  /** e.g. "bound 0.004", "expert 5 chosen over expert 2 ...". */
  readonly detail: string;
}

/** Where a case came from, for the finding lines and the replay command. */
export interface FindingContext {
  readonly tactic: string;
  /** Data seed of the CaseSpec. */
  readonly seed: number;
  /** fast-check seed and path when the case came from a property. */
  readonly fcSeed?: number;
  readonly fcPath?: string;
}

export interface WorstElement {
  readonly t: number;
  readonly h: number;
  readonly observed: number;
  readonly reference: number;
  readonly bound: number;
  /** |observed - reference| / bound. */
  readonly ratio: number;
}

/** Histogram bins of |out - reference| / bound over judged elements. */
export const RATIO_BIN_LABELS = ['0', '≤2^-8', '≤2^-6', '≤2^-4', '≤2^-2', '≤2^-1', '≤1', 'flip', '>1'] as const;
const RATIO_EDGES = [0, 2 ** -8, 2 ** -6, 2 ** -4, 2 ** -2, 2 ** -1, 1];

/**
 * What an element's deviation is set against: the accumulation bound ('bound'), or a
 * re-quantization flip that explains it ('flip', its own bin).
 */
export type RatioBasis = 'bound' | 'flip';

/** The histogram bin of a ratio. */
export function ratioBin(ratio: number, basis: RatioBasis): number {
  if (basis === 'flip') return 7;
  if (!(ratio <= 1)) return 8;
  for (let i = 0; i < RATIO_EDGES.length; i++) if (ratio <= RATIO_EDGES[i]!) return i;
  return 6;
}

/**
 * WITHIN_BOUND_BIN[e + n]: the bin of a ratio in [0, 1] whose float64 exponent field is e and
 * n = 1 when its mantissa is not zero (e + n − 1023 is then ⌈log2 ratio⌉ for a normal
 * ratio; every edge is a power of two, so the bin depends on nothing else): 0 for zero,
 * then ≤2^-8, ≤2^-6, ≤2^-4, ≤2^-2, ≤2^-1, ≤1 (subnormal ratios fall in ≤2^-8).
 */
export const WITHIN_BOUND_BIN = Uint8Array.from({ length: 1024 }, (_, i) => {
  if (i === 0) return 0;
  const c = i - 1023; // ⌈log2 ratio⌉
  return c <= -8 ? 1 : c <= -6 ? 2 : c <= -4 ? 3 : c <= -2 ? 4 : c <= -1 ? 5 : 6;
});
const RATIO_F64 = new Float64Array(1);
const RATIO_WORDS = new Uint32Array(RATIO_F64.buffer);
/** Index of the high word of a float64 in RATIO_WORDS (1 on little-endian hosts). */
const HIGH = new Uint8Array(Uint16Array.of(1).buffer)[0] === 1 ? 1 : 0;

/**
 * ratioBin(ratio, 'bound') for a ratio in [0, 1], from its float64 bits and a table, with no
 * branch: what the comparator's element loop does for every element within its bound, where
 * the ratios of a passing run spread over every bin and branching on the edges costs more
 * than the rest of the judgement (mispredictions). verdict.test.ts checks it against
 * ratioBin at, just below and just above every edge, and on random ratios.
 */
export function withinBoundBin(ratio: number): number {
  RATIO_F64[0] = ratio;
  const hi = RATIO_WORDS[HIGH]!;
  const mantissa = (hi & 0xfffff) | RATIO_WORDS[1 - HIGH]!;
  return WITHIN_BOUND_BIN[((hi >>> 20) & 0x7ff) + ((mantissa | -mantissa) >>> 31)]!;
}

export interface Verdict {
  readonly disposition: Disposition;
  readonly tactic: string;
  readonly counts: Readonly<Record<DiscrepancyKind, number>>;
  /** Largest |out - reference| / bound among judged elements (null when none was judged). */
  readonly worst: WorstElement | null;
  /** Findings (capped per kind), in the grammar above once formatted. */
  readonly findings: readonly Finding[];
  readonly lines: readonly string[];
  /** Counts per RATIO_BIN_LABELS. */
  readonly histogram: readonly number[];
}

export function zeroCounts(): Record<DiscrepancyKind, number> {
  return Object.fromEntries(DISCREPANCY_KINDS.map((k) => [k, 0])) as Record<DiscrepancyKind, number>;
}

/** A number as a finding shows it: 6 significant digits, NaN/Inf spelled out. */
export function fmtNum(x: number): string {
  if (Number.isNaN(x)) return 'NaN';
  if (x === Infinity) return 'Inf';
  if (x === -Infinity) return '-Inf';
  if (x === 0) return Object.is(x, -0) ? '-0' : '0';
  const a = Math.abs(x);
  const s = a >= 1e-4 && a < 1e6 ? x.toPrecision(6) : x.toExponential(5);
  return s.replace(/(\.\d*?)0+(e|$)/, '$1$2').replace(/\.(e|$)/, '$1');
}

/** One finding as one line of the grammar. */
export function formatFinding(f: Finding, ctx: FindingContext): string {
  const origin = ctx.fcSeed !== undefined ? `; fc-seed ${ctx.fcSeed}${ctx.fcPath !== undefined ? `; path "${ctx.fcPath}"` : ''}` : '';
  return `${f.where}=${f.observed}, reference ${f.reference} (${f.detail}; tactic ${ctx.tactic}; seed ${ctx.seed}${origin})`;
}

/** Kinds that are counted but are not failures: explained flips, elements the contract leaves undefined. */
export const COUNTED_APART: readonly DiscrepancyKind[] = ['flip_explained', 'overflow_undefined'];

/** The disposition the counts and findings imply (crash/refusal decided by the caller). */
export function dispositionOf(counts: Readonly<Record<DiscrepancyKind, number>>, findings: readonly Finding[]): Disposition {
  if (findings.some((f) => f.kind === 'harness_error')) return 'error';
  if (findings.some((f) => f.kind === 'crash')) return 'crashed';
  const bad = DISCREPANCY_KINDS.some((k) => !COUNTED_APART.includes(k) && counts[k] > 0) ||
    findings.some((f) => f.kind === 'refused' || f.kind === 'flip_budget' || f.kind === 'malformed');
  return bad ? 'incorrect' : 'passed';
}

/** "nonfinite 3, beyond_bound 12" (only kinds that occurred), or "none". */
export function describeCounts(counts: Readonly<Record<DiscrepancyKind, number>>): string {
  const parts = DISCREPANCY_KINDS.filter((k) => counts[k] > 0).map((k) => `${k} ${counts[k]}`);
  return parts.length ? parts.join(', ') : 'none';
}
