/**
 * Compare a recomputed reference result with a stored golden under a GoldenTolerance
 * (see tolerance.ts for the rules and why).
 */
import type { GoldenTolerance } from './tolerance.js';
import type { StoredExpected } from './expectedTensors.js';

export interface GoldenMismatch {
  readonly tensor: string;
  /** Flat element index and its token (row). */
  readonly index: number;
  readonly token: number;
  readonly stored: number;
  readonly recomputed: number;
  /** What was allowed (ulps for ulp rules, an absolute bound otherwise). */
  readonly allowed: number;
  readonly unit: 'exact' | 'ulps' | 'abs';
}

export interface GoldenComparison {
  readonly ok: boolean;
  /** Mismatches per tensor (counts). */
  readonly counts: Readonly<Record<string, number>>;
  /** The first mismatches, at most 20. */
  readonly first: readonly GoldenMismatch[];
  /** Largest |stored − recomputed| of the float32 output (0 when identical). */
  readonly maxAbsDiffF32: number;
  /** Elements of the bf16 output whose bits differ. */
  readonly bf16BitsDiffering: number;
}

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** Monotonic integer of a float32 (…, -0 and +0 both 0, …); NaN → NaN. */
function orderedF32(x: number): number {
  if (Number.isNaN(x)) return Number.NaN;
  f32[0] = x;
  const b = u32[0]!;
  return b & 0x80000000 ? -(b & 0x7fffffff) : b;
}

/** Distance in float32 ulps (0 for identical values, both NaN included; Infinity if one is NaN). */
export function ulpDistanceF32(a: number, b: number): number {
  if (Number.isNaN(a) || Number.isNaN(b)) return Number.isNaN(a) && Number.isNaN(b) ? 0 : Infinity;
  return Math.abs(orderedF32(a) - orderedF32(b));
}

export function bf16BitsToNumber(bits: number): number {
  u32[0] = (bits & 0xffff) << 16;
  return f32[0]!;
}

/** The spacing of bf16 values at |x| (8 significant bits; subnormal spacing below 2^-126). */
export function ulpBf16(x: number): number {
  const a = Math.abs(x);
  if (!Number.isFinite(a)) return Infinity;
  if (a < 2 ** -126) return 2 ** -133;
  return 2 ** (Math.floor(Math.log2(a)) - 7);
}

export function compareToGolden(
  stored: StoredExpected,
  recomputed: Pick<StoredExpected, 'routing' | 'outputF32' | 'outputBf16'> &
    Partial<Pick<StoredExpected, 'absAccum' | 'flipAllowance' | 'fragileTokens' | 'requant'>>,
  tol: GoldenTolerance,
  dims: { readonly H: number; readonly topK: number; readonly E: number },
): GoldenComparison {
  const counts: Record<string, number> = {};
  const first: GoldenMismatch[] = [];
  const miss = (m: GoldenMismatch): void => {
    counts[m.tensor] = (counts[m.tensor] ?? 0) + 1;
    if (first.length < 20) first.push(m);
  };
  const sameLength = (name: string, a: ArrayLike<number>, b: ArrayLike<number>): boolean => {
    if (a.length === b.length) return true;
    miss({ tensor: name, index: -1, token: -1, stored: a.length, recomputed: b.length, allowed: 0, unit: 'exact' });
    return false;
  };

  const ids = stored.routing.ids, ids2 = recomputed.routing.ids;
  if (sameLength('routing.ids', ids, ids2)) {
    for (let i = 0; i < ids.length; i++) {
      if (ids[i] !== ids2[i]) miss({ tensor: 'routing.ids', index: i, token: Math.floor(i / dims.topK), stored: ids[i]!, recomputed: ids2[i]!, allowed: 0, unit: 'exact' });
    }
  }
  const ulpRule = (name: string, a: Float32Array, b: Float32Array, width: number): void => {
    if (!sameLength(name, a, b)) return;
    for (let i = 0; i < a.length; i++) {
      if (ulpDistanceF32(a[i]!, b[i]!) > tol.routingWeightUlps) {
        miss({ tensor: name, index: i, token: Math.floor(i / width), stored: a[i]!, recomputed: b[i]!, allowed: tol.routingWeightUlps, unit: 'ulps' });
      }
    }
  };
  ulpRule('routing.weights', stored.routing.weights, recomputed.routing.weights, dims.topK);
  ulpRule('routing.selection_scores', stored.routing.selectionScores, recomputed.routing.selectionScores, dims.E);

  let maxAbsDiffF32 = 0;
  let bf16BitsDiffering = 0;
  const out = stored.outputF32, out2 = recomputed.outputF32;
  const okLengths = sameLength('output_f32', out, out2) && sameLength('output', stored.outputBf16, recomputed.outputBf16) &&
    sameLength('abs_accum', out, stored.absAccum) && sameLength('flip_allowance', out, stored.flipAllowance);
  if (okLengths) {
    for (let i = 0; i < out.length; i++) {
      const bound = tol.outputAbsAccumFactor * stored.absAccum[i]! + stored.flipAllowance[i]!;
      const a = out[i]!, b = out2[i]!;
      const d = Math.abs(a - b);
      if (!(d <= bound) && !Object.is(a, b) && !(Number.isNaN(a) && Number.isNaN(b))) {
        miss({ tensor: 'output_f32', index: i, token: Math.floor(i / dims.H), stored: a, recomputed: b, allowed: bound, unit: 'abs' });
      }
      if (d > maxAbsDiffF32) maxAbsDiffF32 = d;
      const ba = stored.outputBf16[i]!, bb = recomputed.outputBf16[i]!;
      if (ba !== bb) {
        bf16BitsDiffering++;
        const x = bf16BitsToNumber(ba), y = bf16BitsToNumber(bb);
        const allowed = bound + tol.outputBf16Ulps * ulpBf16(Math.max(Math.abs(x), Math.abs(y)));
        if (!(Math.abs(x - y) <= allowed)) {
          miss({ tensor: 'output', index: i, token: Math.floor(i / dims.H), stored: x, recomputed: y, allowed, unit: 'abs' });
        }
      }
    }
  }
  // Error-model tensors, when the recomputation carries them.
  const relRule = (name: string, a: Float32Array, b: Float32Array | undefined): void => {
    if (b === undefined || !sameLength(name, a, b)) return;
    for (let i = 0; i < a.length; i++) {
      const x = a[i]!, y = b[i]!;
      const allowed = tol.diagnosticsRelative * Math.max(Math.abs(x), Math.abs(y));
      if (!(Math.abs(x - y) <= allowed) && !Object.is(x, y)) {
        miss({ tensor: name, index: i, token: Math.floor(i / dims.H), stored: x, recomputed: y, allowed, unit: 'abs' });
      }
    }
  };
  relRule('abs_accum', stored.absAccum, recomputed.absAccum);
  relRule('flip_allowance', stored.flipAllowance, recomputed.flipAllowance);
  const ft = recomputed.fragileTokens;
  if (ft !== undefined && sameLength('fragile_tokens', stored.fragileTokens, ft)) {
    for (let i = 0; i < ft.length; i++) {
      if (ft[i] !== stored.fragileTokens[i]) miss({ tensor: 'fragile_tokens', index: i, token: i, stored: stored.fragileTokens[i]!, recomputed: ft[i]!, allowed: 0, unit: 'exact' });
    }
  }
  if (recomputed.requant !== undefined && recomputed.requant.elements !== stored.requant.elements) {
    miss({ tensor: 'requant.elements', index: -1, token: -1, stored: stored.requant.elements, recomputed: recomputed.requant.elements, allowed: 0, unit: 'exact' });
  }
  return { ok: Object.keys(counts).length === 0, counts, first, maxAbsDiffF32, bf16BitsDiffering };
}

/** A few lines saying what differs, for assertion messages. */
export function describeComparison(name: string, c: GoldenComparison): string {
  if (c.ok) return `${name}: ok`;
  const lines = [`${name}: ${Object.entries(c.counts).map(([t, n]) => `${t} ${n} mismatches`).join(', ')}`];
  for (const m of c.first.slice(0, 8)) {
    lines.push(`  ${m.tensor}[${m.index}] (token ${m.token}): stored ${m.stored}, recomputed ${m.recomputed}, allowed ${m.allowed}${m.unit === 'abs' ? '' : ' ' + m.unit}`);
  }
  return lines.join('\n');
}
