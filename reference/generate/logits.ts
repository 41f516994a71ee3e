/**
 * Routing logits [T, E] and bias [E] per LogitFamily (reference/case.ts). Values are made
 * as float32 numbers here; the caller converts to bf16 when the problem asks for it.
 * Every value set below is exactly representable in bf16 where a family promises exact
 * ties or equality, so the promise survives the conversion.
 */
import type { LogitFamily } from '../case.js';
import { pow2 } from '../formats/float.js';
import type { Problem } from '../problem.js';
import { streamRng, type Rng } from '../rng.js';
import { routingMethod } from '../routing/registry.js';

/** The candidate values of the `ties` family (all bf16-exact). */
const TIE_VALUES = [-2, -1, -0.5, 0, 0.25, 0.5, 1, 1.5, 2, 3] as const;

/** m·2^k with m uniform in [1, 2) and k uniform in [kLo, kHi]: a log-uniform magnitude without Math.pow. */
export function logUniform(rng: Rng, kLo: number, kHi: number): number {
  const m = 1 + rng.unit();
  return m * pow2(rng.intIn(kLo, kHi));
}

/**
 * Which experts of one row stay finite in the neg_inf family: at least topK per row and,
 * for deepseek_v3 with valid groups, at least max(2, ceil(topK/topkGroup)) per group (so
 * whatever groups are kept hold topK finite entries). One row in four keeps the minimum.
 */
function negInfRow(rng: Rng, row: Float32Array, p: Problem): void {
  const E = p.E;
  const r = p.routing;
  const nGroup = routingMethod(r.method).configFields.includes('nGroup') ? (r.nGroup ?? 1) : 1;
  const topkGroup = r.topkGroup ?? 1;
  const grouped = nGroup > 1 && E % nGroup === 0 && topkGroup >= 1 && topkGroup <= nGroup;
  const groups = grouped ? nGroup : 1;
  const size = E / groups;
  const need = grouped ? Math.min(size, Math.max(2, Math.ceil(p.topK / topkGroup))) : p.topK;
  const minimal = rng.below(4) === 0;
  const idx = new Int32Array(size);
  for (let g = 0; g < groups; g++) {
    const keep = minimal ? need : rng.intIn(need, size);
    for (let i = 0; i < size; i++) idx[i] = g * size + i;
    // Partial Fisher–Yates: the first `keep` entries of idx are the finite ones.
    for (let i = 0; i < keep; i++) {
      const j = i + rng.below(size - i);
      const t = idx[i]!; idx[i] = idx[j]!; idx[j] = t;
    }
    for (let i = keep; i < size; i++) row[idx[i]!] = -Infinity;
  }
}

/**
 * The block size of the `group_ties` family: the deepseek_v3 group size when the problem
 * groups its experts, else E/2 when E is even (copies then make exact expert ties), else E.
 */
function tieBlockSize(p: Problem): number {
  const r = p.routing;
  const nGroup = routingMethod(r.method).configFields.includes('nGroup') ? (r.nGroup ?? 1) : 1;
  if (nGroup > 1 && p.E % nGroup === 0) return p.E / nGroup;
  return p.E % 2 === 0 ? p.E / 2 : p.E;
}

/**
 * One row of the `group_ties` family: block 0 drawn from N(0, σ²); each later block copies
 * a random earlier block with probability 1/2, else is drawn afresh. With a bias that
 * repeats with the same period (generateBias), copied blocks are groups with identical
 * input multisets: exact group ties, which the SPEC breaks toward the lower group index.
 */
function groupTiesRow(rng: Rng, row: Float32Array, size: number, sigma: number): void {
  const blocks = row.length / size;
  for (let b = 0; b < blocks; b++) {
    if (b > 0 && rng.below(2) === 0) {
      const from = rng.below(b);
      row.copyWithin(b * size, from * size, (from + 1) * size);
      continue;
    }
    for (let i = b * size; i < (b + 1) * size; i++) row[i] = sigma * rng.normal();
  }
}

/** Logits [T, E] as float32 values. */
export function generateLogits(seed: number, p: Problem, family: LogitFamily): Float32Array {
  const { T, E } = p;
  const rng = streamRng(seed, 'logits');
  const out = new Float32Array(T * E);
  const sigma = pow2(rng.intIn(-1, 2)); // 0.5 … 4
  switch (family) {
    case 'normal':
    case 'neg_inf':
      for (let i = 0; i < out.length; i++) out[i] = sigma * rng.normal();
      break;
    case 'ties': {
      // Three distinct values per case, drawn from TIE_VALUES.
      const pool: number[] = [...TIE_VALUES];
      const set: number[] = [];
      for (let i = 0; i < 3; i++) set.push(pool.splice(rng.below(pool.length), 1)[0]!);
      for (let i = 0; i < out.length; i++) out[i] = set[rng.below(3)]!;
      break;
    }
    case 'all_negative':
      // Strictly negative: -(2^-6 + |z|·σ); every tenth row shifted far down as well.
      for (let t = 0; t < T; t++) {
        const shift = t % 10 === 9 ? 40 : 0;
        for (let e = 0; e < E; e++) out[t * E + e] = -(pow2(-6) + Math.abs(rng.normal()) * sigma + shift);
      }
      break;
    case 'huge':
      // ±m·2^k, k in [14, 99]: magnitudes 1.6e4 … 1.3e30, finite in float32 and bf16.
      for (let i = 0; i < out.length; i++) {
        const v = logUniform(rng, 14, 99);
        out[i] = rng.below(2) ? -v : v;
      }
      break;
    case 'tiny_sigmoid':
      // -25 … -18: sigmoid between 1.4e-11 and 1.5e-8.
      for (let i = 0; i < out.length; i++) out[i] = -18 - 7 * rng.unit();
      break;
    case 'uniform':
      for (let t = 0; t < T; t++) out.fill(Math.fround(sigma * rng.normal()), t * E, (t + 1) * E);
      break;
    case 'group_ties': {
      const size = tieBlockSize(p);
      for (let t = 0; t < T; t++) groupTiesRow(rng, out.subarray(t * E, (t + 1) * E), size, sigma);
      break;
    }
  }
  if (family === 'neg_inf') {
    for (let t = 0; t < T; t++) negInfRow(rng.derive(t), out.subarray(t * E, (t + 1) * E), p);
  }
  return out;
}

/** Bias [E] as float32 values (the caller decides whether a bias exists). */
export function generateBias(seed: number, p: Problem, family: LogitFamily): Float32Array {
  const rng = streamRng(seed, 'bias');
  const out = new Float32Array(p.E);
  switch (family) {
    case 'tiny_sigmoid': // large biases next to sigmoids of 1e-8 … 1e-11
      for (let e = 0; e < p.E; e++) out[e] = 5 + 7 * rng.unit();
      break;
    case 'ties':
      for (let e = 0; e < p.E; e++) out[e] = rng.below(2) ? 0.125 : 0;
      break;
    case 'uniform':
      out.fill(Math.fround(0.1 * rng.normal()));
      break;
    case 'group_ties': { // periodic over the blocks, so that copied blocks tie exactly
      const size = tieBlockSize(p);
      for (let e = 0; e < size; e++) out[e] = 0.1 * rng.normal();
      for (let e = size; e < p.E; e++) out[e] = out[e % size]!;
      break;
    }
    default:
      for (let e = 0; e < p.E; e++) out[e] = 0.1 * rng.normal();
  }
  return out;
}
