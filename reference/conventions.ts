/**
 * Conventions: the arithmetic a kernel under test declares where it legitimately deviates
 * from the default contract (docs/semantics.md §7, docs/conventions.md). One enum per point,
 * never a boolean. The reference computes WITH the declared conventions and the error model
 * derives its bound for that computation; nothing widens a bound for a convention that was
 * not declared (an undeclared deviation is a bug).
 *
 * Which points the reference implements is stated by REFERENCE_SUPPORT: a provider that
 * declares a convention no reference precision computes is refused (not judged loosely), and
 * one the fast path does not compute makes the campaign use the float64 oracle
 * (referencePrecisionFor).
 */
import { BadArgumentError, describeValue } from './errors.js';

/** Per point, the default (SPEC §4) first, then the known alternatives. */
const CONVENTION_POINTS = {
  /** FC1's accumulators (up and gate, before the out1 scales): float32, or rounded to bf16 (a GEMM with bf16 output, e.g. torch._grouped_mm). */
  fc1Output: ['float32', 'bf16'],
  /** FC1's activation before FC2-input quantization: float32 quantized directly, or rounded to bf16 first (FlashInfer's reference). */
  fc1Activation: ['float32', 'bf16'],
  /** Routing weight in finalize: float32, or rounded to bf16 before it multiplies. */
  routingWeights: ['float32', 'bf16'],
  /** The k-slot sum of finalize: float32 in slot order, or accumulated in bf16 (each partial sum rounded). */
  slotSum: ['float32', 'bf16'],
  /** FC2's per-slot accumulator: float32, or rounded to bf16 before out2Scale multiplies it (a GEMM with bf16 output). */
  fc2Output: ['float32', 'bf16'],
  /** MX block-scale exponent: rounded up (SPEC §2), or the OCP floor rule. */
  mxScale: ['round_up', 'ocp_floor'],
} as const;

export type ConventionPoint = keyof typeof CONVENTION_POINTS;
export type Conventions = { readonly [P in ConventionPoint]: (typeof CONVENTION_POINTS)[P][number] };

/** The default contract (SPEC §4): every point at its first value. */
export const DEFAULT_CONVENTIONS: Conventions = Object.freeze({
  fc1Output: 'float32', fc1Activation: 'float32', routingWeights: 'float32', slotSum: 'float32', fc2Output: 'float32', mxScale: 'round_up',
});

/** What the reference computes, per point and value: which precisions implement it. */
export const REFERENCE_SUPPORT: { readonly [P in ConventionPoint]: Readonly<Record<Conventions[P], readonly ('float32' | 'float64')[]>> } = {
  fc1Output: { float32: ['float32', 'float64'], bf16: ['float64'] },
  fc1Activation: { float32: ['float32', 'float64'], bf16: ['float64'] },
  routingWeights: { float32: ['float32', 'float64'], bf16: [] },
  slotSum: { float32: ['float32', 'float64'], bf16: [] },
  fc2Output: { float32: ['float32', 'float64'], bf16: ['float64'] },
  mxScale: { round_up: ['float32', 'float64'], ocp_floor: [] },
};

export const CONVENTION_NAMES = Object.keys(CONVENTION_POINTS) as ConventionPoint[];

/**
 * Conventions from a partial JSON object (a kernel config, an adapter's handshake): unknown
 * points or values are a BadArgumentError naming `argument.point`; absent points take the default.
 */
export function parseConventions(raw: unknown, argument: string): Conventions {
  if (raw === undefined || raw === null) return DEFAULT_CONVENTIONS;
  if (typeof raw !== 'object' || Array.isArray(raw)) {
    throw new BadArgumentError(argument, `an object with some of ${CONVENTION_NAMES.join(', ')}`, describeValue(raw));
  }
  const out: Record<string, string> = { ...DEFAULT_CONVENTIONS };
  for (const [point, value] of Object.entries(raw as Record<string, unknown>)) {
    if (!(CONVENTION_NAMES as string[]).includes(point)) {
      throw new BadArgumentError(`${argument}.${point}`, `a convention point: one of ${CONVENTION_NAMES.join(', ')}`, JSON.stringify(point));
    }
    const allowed = CONVENTION_POINTS[point as ConventionPoint] as readonly string[];
    if (typeof value !== 'string' || !allowed.includes(value)) {
      throw new BadArgumentError(`${argument}.${point}`, `one of ${allowed.join(', ')}`, describeValue(value));
    }
    out[point] = value;
  }
  return Object.freeze(out) as unknown as Conventions;
}

/** The points that differ from the default, e.g. "fc1Activation=bf16" ("default" when none). */
export function describeConventions(c: Conventions): string {
  const diff = CONVENTION_NAMES.filter((p) => c[p] !== DEFAULT_CONVENTIONS[p]).map((p) => `${p}=${c[p]}`);
  return diff.length === 0 ? 'default' : diff.join(',');
}

/**
 * The reference precision to judge a provider with these conventions: the requested one when
 * it implements them all, else float64 when that does; a convention neither implements is an
 * UnsupportedProblemError-free BadArgumentError (the provider cannot be judged tightly, so it
 * is not judged at all).
 */
export function referencePrecisionFor(c: Conventions, requested: 'float32' | 'float64'): 'float32' | 'float64' {
  const ok = (prec: 'float32' | 'float64'): boolean =>
    CONVENTION_NAMES.every((p) => (REFERENCE_SUPPORT[p] as Record<string, readonly string[]>)[c[p]]!.includes(prec));
  if (ok(requested)) return requested;
  if (ok('float64')) return 'float64';
  const missing = CONVENTION_NAMES.filter((p) => (REFERENCE_SUPPORT[p] as Record<string, readonly string[]>)[c[p]]!.length === 0)
    .map((p) => `${p}=${c[p]}`);
  throw new BadArgumentError('conventions', `conventions the reference computes (see docs/conventions.md)`, missing.join(', '),
    'the reference does not compute these yet; a kernel with them cannot be judged tightly, so it is not judged');
}
