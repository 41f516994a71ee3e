/**
 * What `moe-harness check` prints after a campaign: the per-tactic table (with its "all"
 * row), the case × tactic matrix when the run is small, one summary line, the run's
 * diagnosis, and the finding groups — one block per distinct finding, naming every tactic
 * it holds for, with its diagnosis, where the errors sit (the heat map in words), its
 * first finding lines and one replay command.
 */
import type { CampaignResult } from '../campaign.js';
import { describeCounts, fmtNum } from '../verdict.js';
import { formatTable, summarize, totals } from '../report.js';
import { groupFindings } from './findingGroups.js';
import { buildMatrix, matrixText } from './matrix.js';
import { plural } from './plural.js';
import { errorWhere } from './errorWhere.js';

/** Finding groups printed in full; the rest are counted (all are in the report). */
const TERMINAL_GROUPS = 8;
/** Finding lines printed per group. */
const TERMINAL_LINES = 4;

/** The summary line: cases and records in the units the progress line uses. */
function summaryLine(result: CampaignResult): string {
  const t = totals(result.records);
  return `${result.kernel}: ${plural(result.cases, 'case')}, ${plural(result.records.length, '(case, tactic) record')}: passed ${t.passed}, incorrect ${t.incorrect}, ` +
    `crashed ${t.crashed}, not supported ${t.not_supported}, error ${t.error} (${(result.elapsedMs / 1000).toFixed(1)} s)`;
}

export function formatTerminalReport(result: CampaignResult, maxGroups = TERMINAL_GROUPS): string {
  const grouping = groupFindings(result.records, result.kernel);
  const out: string[] = [formatTable(summarize(result.records), result.records)];
  const matrix = matrixText(buildMatrix(result.records), grouping);
  if (matrix !== null) out.push('', matrix);
  out.push('', summaryLine(result), `diagnosis: ${grouping.runDiagnosis}`);
  for (const g of grouping.groups.slice(0, maxGroups)) {
    const r = g.records[0]!;
    // "INCORRECT: case 0 (problem) tactic 8/0" as before grouping, then the other tactics of the group.
    const more = g.tactics.length > 1 ? ` + ${g.tactics.length - 1} more with identical findings (${g.tactics.slice(1).join(' ')})` : '';
    out.push('', `[${g.number}] ${g.disposition.toUpperCase()}: case ${g.caseIndex} (${g.problem}) tactic ${g.tactics[0]}${more}`);
    out.push(`    ${g.diagnosis}`);
    const worst = r.verdict.worst;
    out.push(`    ${describeCounts(r.verdict.counts)}${worst && worst.ratio > 1 ? `; worst ${fmtNum(worst.ratio)}× bound at out[t=${worst.t},h=${worst.h}]` : ''}`);
    const where = r.errorMap ? errorWhere(r.errorMap) : null;
    if (where !== null) out.push(`    ${where}`);
    for (const l of r.verdict.lines.slice(0, TERMINAL_LINES)) out.push(`    ${l}`);
    if (r.verdict.lines.length > TERMINAL_LINES) out.push(`    … ${plural(r.verdict.lines.length - TERMINAL_LINES, 'more finding line')}`);
    out.push(`    replay: ${r.replay}`);
  }
  if (grouping.groups.length > maxGroups) {
    const rest = grouping.groups.slice(maxGroups);
    out.push('', `… and ${plural(rest.length, 'more finding group')} (${plural(rest.reduce((a, g) => a + g.records.length, 0), 'record')}) not shown: see the report`);
  }
  return out.join('\n');
}
