/**
 * The heat map in words, for the terminal: which tokens and which hidden columns hold
 * elements beyond the bound (non-finite and never-written ones included), as ranges in
 * element units, e.g. "errors in tokens 12, 40–47 (9 of 64) × hidden 0–127 (all 128)".
 * At ErrorMap resolution: a cell of several tokens or columns counts whole.
 */
import { cellLevel, FIRST_BEYOND_LEVEL, type ErrorMap } from './errorMap.js';

/** "0–3, 8, 12–15" from sorted integers; at most `max` ranges, then "…". */
export function rangesText(xs: readonly number[], max = 6): string {
  const ranges: Array<[number, number]> = [];
  for (const x of xs) {
    const last = ranges[ranges.length - 1];
    if (last && x === last[1] + 1) last[1] = x;
    else ranges.push([x, x]);
  }
  const words = ranges.slice(0, max).map(([a, b]) => (a === b ? `${a}` : `${a}–${b}`));
  return words.join(', ') + (ranges.length > max ? ', …' : '');
}

function expand(cells: readonly number[], span: number, n: number): number[] {
  return cells.flatMap((c) => Array.from({ length: Math.min(span, n - c * span) }, (_, i) => c * span + i));
}

/** null when no element is beyond the bound. */
export function errorWhere(map: ErrorMap): string | null {
  const rows = new Set<number>();
  const cols = new Set<number>();
  for (let r = 0; r < map.rows; r++) {
    for (let c = 0; c < map.cols; c++) {
      if (cellLevel(map, r, c) >= FIRST_BEYOND_LEVEL) {
        rows.add(r);
        cols.add(c);
      }
    }
  }
  if (rows.size === 0) return null;
  const tokens = expand([...rows].sort((a, b) => a - b), map.tokensPerCell, map.T);
  const hidden = expand([...cols].sort((a, b) => a - b), map.hiddenPerCell, map.H);
  const count = (k: number, n: number): string => (k === n ? `all ${n}` : `${k} of ${n}`);
  return `errors in tokens ${rangesText(tokens)} (${count(tokens.length, map.T)}) × hidden ${rangesText(hidden)} (${count(hidden.length, map.H)})`;
}
