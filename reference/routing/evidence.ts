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
import { sanitizeLogit } from './float32.js';
import type { RoutingInput, TokenScores } from './types.js';

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
  private readonly firstOfKey = new Map<number, number>();
  private readonly firstOfGroup = new Map<string, number>();

  constructor(private readonly input: RoutingInput) {
    const { T, E, logits, bias } = input;
    if (E > MAX_E) throw new BadArgumentError('E', `at most ${MAX_E} (routing tie classes)`, String(E));
    this.scores = new Float32Array(T * E);
    this.tieClass = new Int32Array(T * E);
    this.logitBits = new Uint32Array(logits.buffer, logits.byteOffset, logits.length);
    this.biasClass = new Int32Array(E);
    this.keys = new Float64Array(E);
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
    const { T, E, logits } = this.input;
    const row = t * E;
    this.scores.set(ts.scores, row);
    this.firstOfKey.clear();
    for (let e = 0; e < E; e++) {
      if (sanitizeLogit(logits[row + e]!) === -Infinity) {
        this.tieClass[row + e] = -1;
        this.keys[e] = -1;
        continue;
      }
      const key = this.logitBits[row + e]! * MAX_E + this.biasClass[e]!;
      this.keys[e] = key;
      const f = this.firstOfKey.get(key);
      if (f === undefined) this.firstOfKey.set(key, e);
      this.tieClass[row + e] = f ?? e;
    }
    const g = ts.groups;
    if (g === null) return;
    this.groups ??= {
      count: g.count, size: g.size, keep: g.keep,
      scores: new Float32Array(T * g.count), tieClass: new Int32Array(T * g.count),
    };
    const ge = this.groups;
    ge.scores.set(g.scores, t * g.count);
    this.firstOfGroup.clear();
    for (let gi = 0; gi < g.count; gi++) {
      const members = Array.from(this.keys.subarray(gi * g.size, (gi + 1) * g.size)).sort((a, b) => a - b).join(',');
      const f = this.firstOfGroup.get(members);
      if (f === undefined) this.firstOfGroup.set(members, gi);
      ge.tieClass[t * g.count + gi] = f ?? gi;
    }
  }

  finish(): RoutingEvidence {
    return { scores: this.scores, groups: this.groups, expertTieClass: this.tieClass };
  }
}
