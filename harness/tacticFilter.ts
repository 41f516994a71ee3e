/**
 * Tactic filters: comma-separated patterns over labels "tileTokens/config", where either
 * side may be a star: "32/STAR", "STAR/2", "64/1" (STAR = the character *), or "all".
 * Kernels that label their tactics otherwise (out-of-process kernels: "blas", "grouped_mm")
 * are filtered by their exact labels.
 */
import { BadArgumentError } from '../reference/errors.js';

const PATTERN = /^(\d+|\*)\/(\d+|\*)$/;
/** Another kernel's own label: holds a letter (so "32" or "32-2" stay typos of "32/2"); no comma, blank or star. */
const LABEL = /^(?=.*[A-Za-z])[^,\s*]+$/;

/** Parse a comma-separated filter into patterns (BadArgumentError naming the bad one); "all" gives undefined. */
export function parseTacticFilter(text: string, argument = '--tactic'): string[] | undefined {
  const parts = text.split(',').map((s) => s.trim()).filter((s) => s.length > 0);
  if (parts.length === 0 || parts.includes('all')) return undefined;
  for (const p of parts) {
    if (!PATTERN.test(p) && !LABEL.test(p)) {
      throw new BadArgumentError(argument, 'tactic labels "tileTokens/config" (either side may be *) or a kernel\'s own labels, comma-separated, or "all"', JSON.stringify(p));
    }
  }
  return parts;
}

/** Whether a tactic label matches any pattern (no patterns: everything matches). */
export function matchesTactic(label: string, patterns: readonly string[] | undefined): boolean {
  if (patterns === undefined) return true;
  const [tt, cfg] = label.split('/');
  return patterns.some((p) => {
    if (p === label) return true;
    if (!PATTERN.test(p)) return false;
    const [ptt, pcfg] = p.split('/');
    return (ptt === '*' || ptt === tt) && (pcfg === '*' || pcfg === cfg);
  });
}
