/**
 * When the errors of a record follow experts: the experts of its ErrorMap whose every
 * hidden cell has at least EXPERT_HINT_SHARE of their tokens beyond the bound, provided
 * they are fewer than half of the experts that received tokens (when every expert is
 * wrong, the map says nothing about experts). e.g. "errors follow expert 1: ≥ 90% of the
 * tokens routed to it are beyond the bound in every column, the other 7 experts only
 * partly (through tokens they share)".
 */
import type { ErrorMap } from './errorMap.js';

/** Tenths: a cell char '9' or 'a' (all). */
export const EXPERT_HINT_SHARE = 0.9;

export function expertHint(map: ErrorMap | undefined): string | null {
  if (map === undefined || map.experts.length < 2) return null;
  const min = Math.round(EXPERT_HINT_SHARE * 10);
  const hot = map.experts.filter((e) => [...e.cells].every((c) => parseInt(c, 36) >= min));
  const total = map.experts.length + map.expertsOmitted;
  if (hot.length === 0 || 2 * hot.length >= total) return null;
  const names = hot.map((e) => e.expert).join(', ');
  const one = hot.length === 1;
  return `errors follow expert${one ? '' : 's'} ${names}: ≥ ${EXPERT_HINT_SHARE * 100}% of the tokens routed to ${one ? 'it' : 'them'} are beyond the bound in every column, ` +
    `the other ${total - hot.length} experts only partly (through tokens they share)`;
}
