/**
 * Relabel the experts of a full-range case: expert e becomes perm[e]. Logit columns,
 * bias entries and every per-expert tensor move together, so (absent routing ties) the
 * same experts are chosen under new names and the output must not change.
 */
import type { Case, Fp4Weights } from '../../reference/case.js';
import { BadArgumentError } from '../../reference/errors.js';
import { ExpertBytes } from '../../reference/expertBytes.js';
import { perExpertSizes } from './caseSlices.js';

type Typed = Uint8Array | Uint16Array | Float32Array;

/** out[perm[e]·size .. +size) = a[e·size .. +size) for every e. */
function moveBlocks<T extends Typed>(a: T, perm: ArrayLike<number>, size: number): T {
  const out = a.slice() as T;
  for (let e = 0; e < perm.length; e++) out.set(a.subarray(e * size, (e + 1) * size), perm[e]! * size);
  return out;
}

/** Expert e's bytes become expert perm[e]'s (a copy in the same layout). */
function moveExperts(x: ExpertBytes, perm: ArrayLike<number>): ExpertBytes {
  const out = x.relayout({ chunkBytes: x.expertsPerChunk * Math.max(1, x.bytesPerExpert) });
  for (let e = 0; e < perm.length; e++) out.expert(perm[e]!).set(x.expert(e));
  return out;
}

function moveWeights(w: Fp4Weights, perm: ArrayLike<number>, _packed: number, _scales: number): Fp4Weights {
  return {
    packed: moveExperts(w.packed, perm),
    scales: moveExperts(w.scales, perm),
    globalScale: moveBlocks(w.globalScale, perm, 1),
  };
}

export function permuteExperts(c: Case, perm: ArrayLike<number>): Case {
  const p = c.spec.problem;
  const { T, E } = p;
  if (p.localOffset !== 0 || p.localExperts !== E) {
    throw new BadArgumentError('case', 'a full-range case (localOffset 0, localExperts E)', `[${p.localOffset}, +${p.localExperts}) of ${E}`);
  }
  const seen = new Uint8Array(E);
  for (let e = 0; e < perm.length && perm.length === E; e++) if (perm[e]! >= 0 && perm[e]! < E) seen[perm[e]!] = 1;
  if (perm.length !== E || seen.some((v) => v === 0)) {
    throw new BadArgumentError('perm', `a permutation of 0..${E - 1}`, Array.from(perm).join(','));
  }
  const logits = c.logits.slice();
  for (let t = 0; t < T; t++) {
    for (let e = 0; e < E; e++) logits[t * E + perm[e]!] = c.logits[t * E + e]!;
  }
  const s = perExpertSizes(p);
  const per = (a: Float32Array) => moveBlocks(a, perm, 1);
  return {
    ...c,
    logits,
    bias: c.bias === null ? null : moveBlocks(c.bias, perm, 1),
    fc1: moveWeights(c.fc1, perm, s.fc1Packed, s.fc1Scales),
    fc2: moveWeights(c.fc2, perm, s.fc2Packed, s.fc2Scales),
    out1Scale: per(c.out1Scale),
    out1GateScale: per(c.out1GateScale),
    out2Scale: per(c.out2Scale),
    swiglu: c.swiglu === null ? null : { alpha: per(c.swiglu.alpha), beta: per(c.swiglu.beta), limit: per(c.swiglu.limit) },
  };
}
