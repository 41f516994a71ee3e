/**
 * The case × tactic matrix: rows are cases (index and problem in short form), columns the
 * tactics of the run (tactic order), a cell is one record — its disposition and its worst
 * |out − ref| / bound — linked to its finding group. A tactic the kernel did not enumerate
 * for a case is an empty cell; a case with no tactic at all (a '*' record: not supported,
 * preparation crashed) says so across its row.
 *
 * Two renderings: text for the terminal (small runs only: at most MATRIX_TEXT_MAX_CASES
 * rows and MATRIX_TEXT_MAX_TACTICS columns; groups named [n] as in the findings below it),
 * and an HTML table for the page (always).
 */
import type { CaseRecord } from '../campaign.js';
import { fmtNum } from '../verdict.js';
import type { Grouping } from './findingGroups.js';
import { esc } from './html.js';
import { tacticOrder } from './tacticOrder.js';

const MATRIX_TEXT_MAX_CASES = 40;
const MATRIX_TEXT_MAX_TACTICS = 16;

export interface MatrixRow {
  readonly caseIndex: number;
  readonly problem: string;
  /** Records by tactic label ('*' for a case-level record). */
  readonly cells: ReadonlyMap<string, CaseRecord>;
}

export interface Matrix {
  readonly tactics: readonly string[];
  readonly rows: readonly MatrixRow[];
}

export function buildMatrix(records: readonly CaseRecord[]): Matrix {
  const rows = new Map<number, { problem: string; cells: Map<string, CaseRecord> }>();
  const tactics = new Set<string>();
  for (const r of records) {
    const row = rows.get(r.caseIndex) ?? rows.set(r.caseIndex, { problem: r.problem, cells: new Map() }).get(r.caseIndex)!;
    row.cells.set(r.tactic, r);
    if (r.tactic !== '*') tactics.add(r.tactic);
  }
  return {
    tactics: [...tactics].sort(tacticOrder),
    rows: [...rows.entries()].sort((a, b) => a[0] - b[0]).map(([caseIndex, v]) => ({ caseIndex, ...v })),
  };
}

const DISPOSITION_TEXT: Readonly<Record<string, string>> = {
  passed: 'ok', incorrect: 'FAIL', crashed: 'CRASH', not_supported: 'n/s', error: 'ERROR',
};

/** The worst ratio in two significant digits, as a cell shows it. */
function ratioShort(r: CaseRecord): string {
  const w = r.verdict.worst;
  if (w === null) return '';
  if (!Number.isFinite(w.ratio)) return 'inf';
  return w.ratio < 0.01 ? '<.01' : w.ratio < 1 ? w.ratio.toFixed(2).replace(/^0/, '') : w.ratio < 100 ? w.ratio.toPrecision(2) : w.ratio.toExponential(0);
}

function textCell(r: CaseRecord | undefined, g: Grouping): string {
  if (r === undefined) return '·';
  if (r.disposition === 'passed') return ratioShort(r) || 'ok';
  const grp = g.groupOf.get(r);
  const mark = r.disposition === 'incorrect' ? 'x' : r.disposition === 'crashed' ? 'C' : r.disposition === 'not_supported' ? 'n/s' : 'E';
  return `${mark}${grp ? grp.number : ''}`;
}

/** The matrix as text, or null when the run is too large for a terminal. */
export function matrixText(m: Matrix, g: Grouping): string | null {
  if (m.rows.length > MATRIX_TEXT_MAX_CASES || m.tactics.length > MATRIX_TEXT_MAX_TACTICS) return null;
  const head = ['case', ...m.tactics];
  const body = m.rows.map((row) => {
    const star = row.cells.get('*');
    const cells = m.tactics.map((t) => textCell(row.cells.get(t), g));
    return { cells: [`#${row.caseIndex}`, ...cells], tail: star ? `${row.problem} — ${DISPOSITION_TEXT[star.disposition] ?? star.disposition}${g.groupOf.get(star) ? ` [${g.groupOf.get(star)!.number}]` : ''}, no tactic ran` : row.problem };
  });
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => b.cells[i]!.length)));
  const line = (cells: readonly string[], tail: string): string => `${cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ')}  ${tail}`;
  return [
    'case × tactic: worst |out - ref|/bound of passed records; xN incorrect, CN crashed (N: the finding group below); · not enumerated',
    line(head, 'problem'), ...body.map((b) => line(b.cells, b.tail)),
  ].join('\n');
}

/** Cell classes by disposition (short: a 24-case run has hundreds of cells). */
const CELL_CLASS: Readonly<Record<string, string>> = {
  passed: 'ok', incorrect: 'bad', crashed: 'crash', not_supported: 'ns', error: 'err',
};

function htmlCell(r: CaseRecord | undefined, g: Grouping): string {
  if (r === undefined) return '<td class="none">';
  const grp = g.groupOf.get(r);
  const w = r.verdict.worst;
  const title = `${r.tactic} ${r.disposition}${w ? ` ${fmtNum(w.ratio)}×bound out[${w.t},${w.h}]` : ''}`;
  const text = r.disposition === 'passed' ? esc(ratioShort(r) || 'ok') : `${esc(DISPOSITION_TEXT[r.disposition] ?? r.disposition)}${w && r.disposition === 'incorrect' ? ` ${esc(ratioShort(r))}` : ''}`;
  const inner = grp ? `<a href="#${grp.anchor}">${text}</a>` : text;
  return `<td class="${CELL_CLASS[r.disposition] ?? 'err'}" title="${esc(title)}">${inner}`;
}

export function matrixHtml(m: Matrix, g: Grouping): string {
  const head = `<tr><th>case</th><th class="problem">problem</th>${m.tactics.map((t) => `<th>${esc(t)}</th>`).join('')}</tr>`;
  const rows = m.rows.map((row) => {
    const star = row.cells.get('*');
    const cells = star && row.cells.size === 1
      ? `<td class="${CELL_CLASS[star.disposition] ?? 'err'}" colspan="${Math.max(1, m.tactics.length)}">${g.groupOf.get(star) ? `<a href="#${g.groupOf.get(star)!.anchor}">` : ''}${esc(DISPOSITION_TEXT[star.disposition] ?? star.disposition)}: no tactic ran${g.groupOf.get(star) ? '</a>' : ''}</td>`
      : m.tactics.map((t) => htmlCell(row.cells.get(t), g)).join('');
    return `<tr data-case="${row.caseIndex}"><th>${row.caseIndex}</th><td class="problem">${esc(row.problem)}</td>${cells}</tr>`; // cells' end tags are optional
  }).join('\n');
  return `<table class="matrix" id="matrix">${head}\n${rows}</table>`;
}
