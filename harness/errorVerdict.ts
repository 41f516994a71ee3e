/**
 * The verdict of a (case, tactic) the harness could not judge: the case's generation or
 * its reference failed (e.g. a RangeError for a case too large). Disposition 'error': not
 * the kernel's fault, never a pass; the message says what failed and where.
 */
import { RATIO_BIN_LABELS, zeroCounts, type FindingContext, type Verdict } from './verdict.js';

export function errorVerdict(message: string, context: FindingContext): Verdict {
  return {
    disposition: 'error', tactic: context.tactic, counts: zeroCounts(), worst: null, findings: [],
    lines: [`harness error: ${message.replace(/\s+/g, ' ').trim()} (tactic ${context.tactic}; seed ${context.seed})`],
    histogram: new Array<number>(RATIO_BIN_LABELS.length).fill(0),
  };
}
