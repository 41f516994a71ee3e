/**
 * Does any token's routing depend on the tie rule? True when two of the k + 1 best
 * (group-masked) expert scores of a token are equal, or two group scores are equal.
 * Metamorphic properties that relabel experts need tie-free rows.
 */
import type { Case } from '../../reference/case.js';
import { applyGroupMask } from '../../reference/routing/groups.js';
import { routingMethod } from '../../reference/routing/registry.js';
import { routingInputFromCase } from '../../reference/routing/routingInput.js';

function hasDuplicate(values: number[]): boolean {
  return new Set(values).size !== values.length;
}

export function hasRoutingTies(c: Case): boolean {
  const input = routingInputFromCase(c);
  const method = routingMethod(input.config.method);
  const k = Math.min(input.topK + 1, input.E);
  for (let t = 0; t < input.T; t++) {
    const ts = method.tokenScores(input, t);
    if (ts.groups !== null && hasDuplicate(Array.from(ts.groups.scores))) return true;
    const masked = Array.from(applyGroupMask(ts.scores, ts.groups)).sort((a, b) => b - a);
    if (hasDuplicate(masked.slice(0, k))) return true;
  }
  return false;
}
