/**
 * One line when the errors of a record follow experts (ErrorMap.follows: every token with
 * an element beyond its bound is routed to one of them, and every token routed to them has
 * one), e.g. "errors follow expert 1: every token routed to it has elements beyond the
 * bound, and every such token is routed to it (7 other experts received tokens)".
 */
import type { ErrorMap } from './errorMap.js';

export function expertHint(map: ErrorMap | undefined): string | null {
  if (map === undefined || map.follows.length === 0) return null;
  const one = map.follows.length === 1;
  const total = map.experts.length + map.expertsOmitted;
  return `errors follow expert${one ? '' : 's'} ${map.follows.join(', ')}: every token routed to ${one ? 'it' : 'them'} has elements beyond the bound, ` +
    `and every such token is routed to ${one ? 'it' : 'one of them'} (${total - map.follows.length} other experts received tokens)`;
}
