/**
 * The emulated kernel's tactic table and what each config means for its arithmetic.
 *
 * tileTokens ∈ {8, 16, 32, 64, 128} × config ∈ {0, 1, 2}. Validity rules:
 *   - a tile may hold at most twice the problem's tokens (min 8): tileTokens <= 2·max(T, 8);
 *   - config 1 (split-K in two halves) needs H and I multiples of 64 (each half a whole
 *     number of 32-wide blocks);
 *   - config 2 (the MMA-like chain) runs with tileTokens <= 64.
 * Accumulation order of every dot product (float32, Math.fround after every add; products
 * of dequantized values are exact):
 *   config 0: K tiles of 64, each summed sequentially, added to the running sum in order;
 *   config 1: split-K = 2: each half summed sequentially, then half0 + half1;
 *   config 2: like a tensor-core MMA chain: blocks of 16 products summed exactly, added to
 *             the accumulator and truncated to float32 (round toward zero), block by block.
 * The token tiling does not change a token's arithmetic (as in a real kernel); it decides
 * which rows the tile-level faults touch.
 */
import type { Problem } from '../../reference/problem.js';
import { makeTactic, type Tactic, type UnavailableTactic } from './provider.js';

const EMULATED_TILE_TOKENS = [8, 16, 32, 64, 128] as const;
export const EMULATED_CONFIGS = [0, 1, 2] as const;

/** Why a tactic is invalid for the problem, or null when valid. */
export function emulatedTacticInvalidity(p: Problem, tileTokens: number, config: number): string | null {
  if (!(EMULATED_TILE_TOKENS as readonly number[]).includes(tileTokens)) return `tileTokens ${tileTokens} not in {${EMULATED_TILE_TOKENS.join(', ')}}`;
  if (!(EMULATED_CONFIGS as readonly number[]).includes(config)) return `config ${config} not in {${EMULATED_CONFIGS.join(', ')}}`;
  if (tileTokens > 2 * Math.max(p.T, 8)) return `tileTokens ${tileTokens} > 2·max(T=${p.T}, 8)`;
  if (config === 1 && (p.H % 64 !== 0 || p.I % 64 !== 0)) return `config 1 (split-K) needs H and I multiples of 64, got H=${p.H}, I=${p.I}`;
  if (config === 2 && tileTokens > 64) return `config 2 needs tileTokens <= 64, got ${tileTokens}`;
  return null;
}

/** Every (tileTokens, config) of the table that cannot run for the problem, with the reason. */
export function emulatedUnavailableTactics(p: Problem): UnavailableTactic[] {
  const out: UnavailableTactic[] = [];
  for (const tt of EMULATED_TILE_TOKENS) {
    for (const cfg of EMULATED_CONFIGS) {
      const why = emulatedTacticInvalidity(p, tt, cfg);
      if (why !== null) out.push({ label: makeTactic(tt, cfg).label, reason: why });
    }
  }
  return out;
}

export function emulatedTactics(p: Problem): Tactic[] {
  const out: Tactic[] = [];
  for (const tt of EMULATED_TILE_TOKENS) {
    for (const cfg of EMULATED_CONFIGS) if (emulatedTacticInvalidity(p, tt, cfg) === null) out.push(makeTactic(tt, cfg));
  }
  return out;
}

/** The accumulation schedule of a config: K-tile width and how tile sums are combined. */
export interface Schedule {
  readonly kTile: number | 'half';
  /** sequential: tile sums added in order (round to nearest); mma: exact 16-term blocks, truncated accumulation. */
  readonly combine: 'sequential' | 'mma';
}

export function scheduleOf(config: number): Schedule {
  return config === 1 ? { kTile: 'half', combine: 'sequential' } : config === 2 ? { kTile: 16, combine: 'mma' } : { kTile: 64, combine: 'sequential' };
}

const F = new Float32Array(1);
const B = new Uint32Array(F.buffer);

/** x rounded to float32 toward zero. */
export function froundTowardZero(x: number): number {
  F[0] = x;
  const r = F[0]!;
  if (Math.abs(r) <= Math.abs(x) || !Number.isFinite(r)) return r;
  B[0] = B[0]! - 1; // one ulp toward zero (same sign, smaller magnitude)
  return F[0]!;
}

const fr = Math.fround;

/** The K tiles a dot product sums: 'all', or all but the last (the tactic_skips_last_k_block fault). */
export type KTiles = 'all' | 'skip_last';

/** Σ a[ao+i]·b[bo+i] for i < n under the schedule, in float32, over the `kTiles` K tiles. */
export function scheduledDot(
  a: Float32Array, ao: number, b: Float32Array, bo: number, n: number, s: Schedule, kTiles: KTiles = 'all',
): number {
  const tile = s.kTile === 'half' ? Math.max(1, Math.ceil(n / 2)) : s.kTile;
  const tiles = Math.ceil(n / tile);
  const used = kTiles === 'skip_last' && tiles > 1 ? tiles - 1 : tiles;
  if (s.combine === 'sequential') {
    let acc = 0;
    for (let k = 0; k < used; k++) {
      const end = Math.min(n, (k + 1) * tile);
      let part = 0;
      for (let i = k * tile; i < end; i++) part = fr(part + a[ao + i]! * b[bo + i]!);
      acc = fr(acc + part);
    }
    return acc;
  }
  let acc = 0;
  for (let k = 0; k < used; k++) {
    const end = Math.min(n, (k + 1) * tile);
    let block = acc;
    for (let i = k * tile; i < end; i++) block += a[ao + i]! * b[bo + i]!;
    acc = froundTowardZero(block);
  }
  return acc;
}
