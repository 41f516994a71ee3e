/**
 * The order of tactic labels on every view: "tileTokens/config" by tile size, then config;
 * anything else ('*', a kernel's own labels) after them, alphabetically.
 */
export function tacticOrder(a: string, b: string): number {
  const pa = /^(\d+)\/(\d+)$/.exec(a);
  const pb = /^(\d+)\/(\d+)$/.exec(b);
  if (pa && pb) return Number(pa[1]) - Number(pb[1]) || Number(pa[2]) - Number(pb[2]);
  if (pa) return -1;
  if (pb) return 1;
  return a.localeCompare(b);
}
