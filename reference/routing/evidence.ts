/**
 * RoutingEvidence: what the reference's routing hands the judge so that it can decide
 * whether a kernel's expert choice is valid without computing any score again (SPEC §3):
 *
 * - `scores` [T, E]: the float32 score each expert is ranked by, BEFORE group masking
 *   (the judge must consider other near-tied group choices than the reference's);
 * - `groups`: for grouped deepseek_v3, the group structure, the float32 group scores
 *   [T, nGroup] and the exact-tie classes of groups; null otherwise;
 * - `expertTieClass` [T, E]: for each expert, the lowest expert index of the same row
 *   whose routing inputs are bit-identical (logit, and bias when the method reads one);
 *   -1 for a masked expert (logit -inf, NaN or +inf). Two experts with the same class get
 *   the same score in EVERY arithmetic (a kernel's score is a function of its inputs), so
 *   the SPEC's "on an exact tie the lower index wins" is decidable between them.
 *
 * Exact group ties: a group's score is the sum of the two largest biased scores in the
 * group, a function of the MULTISET of its experts' inputs. Two groups of one row whose
 * input multisets are identical therefore tie in every arithmetic; their class is the
 * lowest such group index. (Groups whose scores merely round equal, or whose top two
 * agree while other members differ, are near ties: either choice is accepted.)
 */
import { BadArgumentError } from '../errors.js';
import type { GroupScores, RoutingInput, TokenScores } from './types.js';

export interface GroupEvidence {
  readonly count: number;
  readonly size: number;
  /** Groups kept per token (topkGroup). */
  readonly keep: number;
  /** [T, count] float32 group scores. */
  readonly scores: Float32Array;
  /** [T, count] lowest group index with an identical multiset of expert inputs. */
  readonly tieClass: Int32Array;
}

export interface RoutingEvidence {
  /** [T, E] float32 ranking scores before group masking (masked experts: -inf). */
  readonly scores: Float32Array;
  readonly groups: GroupEvidence | null;
  /** [T, E] lowest expert index with bit-identical routing inputs; -1 when masked. */
  readonly expertTieClass: Int32Array;
}

/** Largest E the tie keys can tell apart (logit bits · 2^20 + bias class stays an exact double). */
const MAX_E = 2 ** 20;

/** Collects the evidence token by token (defineMethod.route feeds it). */
export class EvidenceBuilder {
  private readonly scores: Float32Array;
  private readonly tieClass: Int32Array;
  private groups: GroupEvidence | null = null;
  private readonly logitBits: Uint32Array;
  private readonly biasClass: Int32Array;
  private readonly keys: Float64Array;
  /** Hash table of first occurrences (size a power of two >= 2E), valid where stampOf == stamp. */
  private readonly slotOf: Int32Array;
  private readonly stampOf: Int32Array;
  private stamp = 0;

  constructor(private readonly input: RoutingInput) {
    const { T, E, logits, bias } = input;
    if (E > MAX_E) throw new BadArgumentError('E', `at most ${MAX_E} (routing tie classes)`, String(E));
    this.scores = new Float32Array(T * E);
    this.tieClass = new Int32Array(T * E);
    this.logitBits = new Uint32Array(logits.buffer, logits.byteOffset, logits.length);
    this.biasClass = new Int32Array(E);
    this.keys = new Float64Array(E);
    let size = 1;
    while (size < 2 * E) size *= 2;
    this.slotOf = new Int32Array(size);
    this.stampOf = new Int32Array(size);
    if (bias !== null) {
      const bits = new Uint32Array(bias.buffer, bias.byteOffset, bias.length);
      const first = new Map<number, number>();
      for (let e = 0; e < E; e++) {
        const b = bits[e]!;
        const f = first.get(b);
        if (f === undefined) first.set(b, e);
        this.biasClass[e] = f ?? e;
      }
    }
  }

  /** Record token t's scores (before masking) and tie classes. */
  add(t: number, ts: TokenScores): void {
    const { E, logits } = this.input;
    const row = t * E;
    this.scores.set(ts.scores, row);
    const keys = this.keys;
    const cls = this.tieClass.subarray(row, row + E);
    // First occurrences by (logit bits, bias class): an open-addressing table stamped per row.
    const stamp = ++this.stamp;
    const grouped = ts.groups !== null;
    const { slotOf, stampOf, logitBits, biasClass } = this;
    const mask = slotOf.length - 1;
    for (let e = 0; e < E; e++) {
      const x = logits[row + e]!;
      if (!(x === x && x !== Infinity && x !== -Infinity)) { // masked (sanitizeLogit: -inf)
        if (grouped) keys[e] = -1;
        cls[e] = -1;
        continue;
      }
      const bits = logitBits[row + e]!;
      const bc = biasClass[e]!;
      if (grouped) keys[e] = bits * MAX_E + bc;
      let h = (Math.imul(bits ^ Math.imul(bc, 0x9e3779b1), 0x85ebca6b) >>> 0) & mask;
      for (;;) {
        if (stampOf[h] !== stamp) {
          stampOf[h] = stamp;
          slotOf[h] = e;
          cls[e] = e;
          break;
        }
        const f = slotOf[h]!;
        if (logitBits[row + f] === bits && biasClass[f] === bc) {
          cls[e] = f;
          break;
        }
        h = (h + 1) & mask;
      }
    }
    if (ts.groups !== null) this.addGroups(t, ts.groups);
  }

  /**
   * Group tie classes of token t: identical input multisets imply equal group scores (the
   * score is a function of the multiset), so only groups whose scores are equal are compared,
   * by their sorted keys.
   */
  private addGroups(t: number, g: GroupScores): void {
    const T = this.input.T;
    this.groups ??= {
      count: g.count, size: g.size, keep: g.keep,
      scores: new Float32Array(T * g.count), tieClass: new Int32Array(T * g.count),
    };
    const ge = this.groups;
    ge.scores.set(g.scores, t * g.count);
    const cls = ge.tieClass.subarray(t * g.count, (t + 1) * g.count);
    for (let gi = 0; gi < g.count; gi++) {
      cls[gi] = gi;
      for (let lower = 0; lower < gi; lower++) {
        if (cls[lower] !== lower || !Object.is(g.scores[lower], g.scores[gi])) continue;
        if (this.sameMultiset(lower, gi, g.size)) {
          cls[gi] = lower;
          break;
        }
      }
    }
  }

  private sameMultiset(a: number, b: number, size: number): boolean {
    const ka = Float64Array.from(this.keys.subarray(a * size, (a + 1) * size)).sort();
    const kb = Float64Array.from(this.keys.subarray(b * size, (b + 1) * size)).sort();
    for (let i = 0; i < size; i++) if (ka[i] !== kb[i]) return false;
    return true;
  }

  finish(): RoutingEvidence {
    return { scores: this.scores, groups: this.groups, expertTieClass: this.tieClass };
  }
}
