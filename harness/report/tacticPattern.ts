/**
 * TacticPattern: which of a case's tactics fail, said the way a kernel engineer reads it —
 * "all tactics: not a tiling bug", "only split-K tactics", "only tileTokens 128",
 * "only tileTokens ≥ 64", "only tactic 128/0". A tactic is "tileTokens/config".
 *
 * The rules, first match wins (F: failing tactics, A: tactics that ran on the case):
 *   one tactic ran → no pattern; F = A → all; F = A's tactics of some configs → those
 *   configs (split-K when every one of them is a split-K config of the kernel); F = A's
 *   tactics of some tile sizes → those tile sizes (a threshold when they are the largest
 *   or smallest ones); F one tactic → that tactic; F = A's tactics of some configs and
 *   some tile sizes together → both; otherwise tactic-specific, listed.
 */
import type { ConfigTrait } from './configTraits.js';

const PATTERN_KINDS = ['one_ran', 'all', 'split_k', 'config', 'tile', 'config_and_tile', 'single', 'some'] as const;
export type PatternKind = (typeof PATTERN_KINDS)[number];

export interface TacticPattern {
  readonly kind: PatternKind;
  /** One line: the pattern and what it suggests. */
  readonly text: string;
  /**
   * The pattern in words that hold across cases (no counts, "the largest tileTokens"
   * instead of a number that differs by case): the run's diagnosis sums cases by it.
   */
  readonly key: string;
}

const ALL_TEXT = "not a tiling bug (look at routing, FC1 and the activation, re-quantization, the epilogue or the weights' layout)";

interface Parsed {
  readonly label: string;
  readonly tile: number;
  readonly config: number;
}

function parse(label: string): Parsed | null {
  const m = /^(\d+)\/(\d+)$/.exec(label);
  return m ? { label, tile: Number(m[1]), config: Number(m[2]) } : null;
}

const uniqSorted = (xs: readonly number[]): number[] => [...new Set(xs)].sort((a, b) => a - b);
const sameSet = (a: readonly string[], b: readonly string[]): boolean => a.length === b.length && a.every((x) => b.includes(x));

/** "tileTokens 128", "tileTokens ≥ 64", "tileTokens 8, 32" for a set of tile sizes among those that ran. */
function tileWords(tiles: readonly number[], ranTiles: readonly number[]): string {
  if (tiles.length === 1) return `tileTokens ${tiles[0]}`;
  const above = ranTiles.filter((x) => x >= tiles[0]!);
  if (sameSet(above.map(String), tiles.map(String))) return `tileTokens ≥ ${tiles[0]}`;
  const below = ranTiles.filter((x) => x <= tiles[tiles.length - 1]!);
  if (sameSet(below.map(String), tiles.map(String))) return `tileTokens ≤ ${tiles[tiles.length - 1]}`;
  return `tileTokens ${tiles.join(', ')}`;
}

function configWords(configs: readonly number[], traits: Readonly<Record<number, ConfigTrait>> | null): string {
  const named = configs.map((c) => (traits?.[c] ? `${c} (${traits[c]!.name})` : String(c)));
  return `config${configs.length > 1 ? 's' : ''} ${named.join(', ')}`;
}

/** The pattern of `failing` among `ran` (tactic labels), with the kernel's config traits when known. */
export function tacticPattern(failing: readonly string[], ran: readonly string[], traits: Readonly<Record<number, ConfigTrait>> | null): TacticPattern {
  const F = [...new Set(failing)];
  const A = [...new Set(ran)];
  if (A.length <= 1) return { kind: 'one_ran', text: `one tactic ran (${A[0] ?? 'none'}): no pattern across tactics`, key: 'one tactic ran: no pattern across tactics' };
  if (sameSet(F, A)) return { kind: 'all', text: `all ${A.length} tactics: ${ALL_TEXT}`, key: `all tactics: ${ALL_TEXT}` };
  const pa = A.map(parse);
  const pf = F.map(parse);
  const some: TacticPattern = { kind: 'some', text: `tactic-specific: ${F.length} of ${A.length} tactics (${F.join(', ')})`, key: 'tactic-specific, no pattern' };
  if (pa.some((x) => x === null) || pf.some((x) => x === null)) return some;
  const ranP = pa as Parsed[];
  const failP = pf as Parsed[];
  const configs = uniqSorted(failP.map((x) => x.config));
  const tiles = uniqSorted(failP.map((x) => x.tile));
  const ranTiles = uniqSorted(ranP.map((x) => x.tile));
  const select = (pred: (x: Parsed) => boolean): string[] => ranP.filter(pred).map((x) => x.label);
  const largest = tiles.length === 1 && tiles[0] === ranTiles[ranTiles.length - 1];
  const smallest = tiles.length === 1 && tiles[0] === ranTiles[0];
  const tileKey = largest ? 'the largest tileTokens of the case' : smallest ? 'the smallest tileTokens of the case' : null;
  const keyed = (kind: PatternKind, text: string, key = text): TacticPattern => ({ kind, text, key });
  if (sameSet(F, select((x) => configs.includes(x.config)))) {
    const splitConfigs = traits ? uniqSorted(ranP.filter((x) => traits[x.config]?.splitK).map((x) => x.config)) : [];
    if (splitConfigs.length > 0 && sameSet(configs.map(String), splitConfigs.map(String))) {
      return keyed('split_k', `only split-K tactics (${configWords(configs, traits)}): look at the K split and the reduction of its partial sums`);
    }
    return keyed('config', `only ${configWords(configs, traits)} tactics, every tile size: look at that GEMM code path`);
  }
  const tiling = 'look at the token tiling (partial tiles, row tables, tile-size-dependent indexing)';
  if (sameSet(F, select((x) => tiles.includes(x.tile)))) {
    const words = tileWords(tiles, ranTiles);
    const every = uniqSorted(ranP.map((x) => x.config)).length > 1 ? ', every config' : '';
    return keyed('tile', `only ${words}${tileKey ? ` (${tileKey})` : ''}${every}: ${tiling}`, `only ${tileKey ?? words}${every}: ${tiling}`);
  }
  if (F.length === 1) {
    const f = failP[0]!;
    const cw = configWords([f.config], traits);
    return keyed('single', `only tactic ${f.label} (tileTokens ${f.tile}${tileKey ? `, ${tileKey}` : ''}, ${cw}): a bug of that one tactic`,
      tileKey ? `only ${tileKey} with ${cw}: a bug of that one tactic per case` : `only tactic ${f.label} (tileTokens ${f.tile}, ${cw}): a bug of that one tactic`);
  }
  if (sameSet(F, select((x) => configs.includes(x.config) && tiles.includes(x.tile)))) {
    const tilesOfConfigs = uniqSorted(ranP.filter((x) => configs.includes(x.config)).map((x) => x.tile));
    const words = tileWords(tiles, tilesOfConfigs);
    return keyed('config_and_tile', `only ${configWords(configs, traits)} with ${words}${tileKey ? ` (${tileKey})` : ''}: look at that code path at those tile sizes`,
      `only ${configWords(configs, traits)} with ${tileKey ?? words}: look at that code path at those tile sizes`);
  }
  return some;
}
