/**
 * Campaign reports: what the terminal prints after a campaign (report/terminal.ts) and a
 * report folder with report.json (every record, its error map, the finding groups) and
 * report.html (report/page.ts: one self-contained page — matrix, grouped findings, heat
 * maps, intermediates). docs/report.md describes both.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { CampaignResult, CaseRecord } from './campaign.js';
import { DISCREPANCY_KINDS, RATIO_BIN_LABELS, fmtNum, type DiscrepancyKind, type Disposition } from './verdict.js';
import { groupFindings } from './report/findingGroups.js';
import { renderPage } from './report/page.js';
import { tacticOrder } from './report/tacticOrder.js';

export { histogramSvg } from './report/histogram.js';
export { formatTerminalReport } from './report/terminal.js';

export interface TacticSummary {
  readonly tactic: string;
  /** Distinct cases this tactic ran on ('*': cases no tactic ran on). */
  readonly cases: number;
  readonly passed: number;
  readonly incorrect: number;
  readonly crashed: number;
  readonly notSupported: number;
  /** Largest |out - reference| / bound over judged elements (flip-explained excluded); null if none. */
  readonly worstRatio: number | null;
  readonly ms: number;
  readonly histogram: number[];
  readonly counts: Record<DiscrepancyKind, number>;
}

export function summarize(records: readonly CaseRecord[]): TacticSummary[] {
  const by = new Map<string, CaseRecord[]>();
  for (const r of records) (by.get(r.tactic) ?? by.set(r.tactic, []).get(r.tactic)!).push(r);
  return [...by.keys()].sort(tacticOrder).map((tactic) => {
    const rs = by.get(tactic)!;
    const count = (d: string): number => rs.filter((r) => r.disposition === d).length;
    const histogram = new Array<number>(RATIO_BIN_LABELS.length).fill(0);
    const counts = Object.fromEntries(DISCREPANCY_KINDS.map((k) => [k, 0])) as Record<DiscrepancyKind, number>;
    let worst: number | null = null;
    let ms = 0;
    for (const r of rs) {
      r.verdict.histogram.forEach((v, i) => { histogram[i]! += v; });
      for (const k of DISCREPANCY_KINDS) counts[k] += r.verdict.counts[k];
      if (r.verdict.worst && (worst === null || r.verdict.worst.ratio > worst)) worst = r.verdict.worst.ratio;
      ms += r.ms ?? 0;
    }
    return { tactic, cases: new Set(rs.map((r) => r.caseIndex)).size, passed: count('passed'), incorrect: count('incorrect'), crashed: count('crashed'), notSupported: count('not_supported'), worstRatio: worst, ms, histogram, counts };
  });
}

/**
 * The per-tactic table as aligned text. With `records`, a last row "all" sums the table:
 * its cases are the distinct cases of the records (what the summary line counts), its
 * other columns the totals over every tactic.
 */
export function formatTable(rows: readonly TacticSummary[], records?: readonly CaseRecord[]): string {
  const head = ['tactic', 'cases', 'passed', 'incorrect', 'crashed', 'not_supp', 'worst/bound', 'time ms'];
  const cell = (r: TacticSummary): string[] => [r.tactic, r.cases, r.passed, r.incorrect, r.crashed, r.notSupported, r.worstRatio === null ? '-' : fmtNum(r.worstRatio), r.ms.toFixed(1)].map(String);
  const body = rows.map(cell);
  if (records !== undefined && rows.length > 1) {
    const worsts = rows.map((r) => r.worstRatio).filter((x): x is number => x !== null);
    body.push(cell({
      tactic: 'all', cases: new Set(records.map((r) => r.caseIndex)).size,
      passed: rows.reduce((a, r) => a + r.passed, 0), incorrect: rows.reduce((a, r) => a + r.incorrect, 0),
      crashed: rows.reduce((a, r) => a + r.crashed, 0), notSupported: rows.reduce((a, r) => a + r.notSupported, 0),
      worstRatio: worsts.length ? Math.max(...worsts) : null, ms: rows.reduce((a, r) => a + r.ms, 0), histogram: [], counts: rows[0]!.counts,
    }));
  }
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i]!.length)));
  const line = (cells: string[]): string => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  return [line(head), line(widths.map((w) => '-'.repeat(w))), ...body.map(line)].join('\n');
}

/** Totals over records: dispositions. */
export function totals(records: readonly CaseRecord[]): Record<Disposition, number> {
  const t: Record<Disposition, number> = { passed: 0, incorrect: 0, crashed: 0, not_supported: 0, error: 0 };
  for (const r of records) t[r.disposition]++;
  return t;
}

export interface ReportMeta {
  readonly command?: string;
  readonly seed?: number;
  readonly notice?: string;
  /** The campaign was interrupted (SIGINT/SIGTERM): the records are what finished (cli.ts, --resume). */
  readonly partial?: boolean;
  readonly interrupted?: { readonly signal: string; readonly case?: number; readonly problem?: string; readonly resume: string };
  /** The shard this report covers (harness/shard.ts), and the unsharded case count. */
  readonly shard?: { readonly index: number; readonly total: number; readonly casesTotal: number };
  /** A property campaign's shrunk counterexample (check --generator property). */
  readonly counterexample?: {
    readonly problem: string;
    readonly spec: unknown;
    readonly fcSeed: number;
    readonly fcPath: string;
    readonly shrinks: number;
    readonly findings: readonly string[];
    readonly replay: string;
  };
}

/**
 * Write report.json and report.html into `dir`; returns their paths. In report.json a
 * record whose error map equals an earlier record's (tactics that computed the same wrong
 * output) holds `errorMapSameAs: <index of that record>` instead of a copy.
 */
export function writeReport(result: CampaignResult, dir: string, meta: ReportMeta = {}): { json: string; html: string } {
  const out = resolve(dir);
  mkdirSync(out, { recursive: true });
  const summary = summarize(result.records);
  const tot = totals(result.records);
  const grouping = groupFindings(result.records, result.kernel);
  const seen = new Map<string, number>();
  const errorMapField = (r: CaseRecord, i: number): object => {
    if (!r.errorMap) return {};
    const text = JSON.stringify(r.errorMap);
    const first = seen.get(text);
    if (first !== undefined) return { errorMapSameAs: first };
    seen.set(text, i);
    return { errorMap: r.errorMap };
  };
  const json = join(out, 'report.json');
  writeFileSync(json, JSON.stringify({
    kernel: result.kernel, cases: result.cases, elapsedMs: result.elapsedMs, childStarts: result.childStarts,
    generatedAt: new Date().toISOString(), ...meta, totals: tot, histogramBins: RATIO_BIN_LABELS,
    tactics: summary, diagnosis: grouping.runDiagnosis,
    groups: grouping.groups.map((g) => ({
      group: g.number, caseIndex: g.caseIndex, problem: g.problem, disposition: g.disposition, tactics: g.tactics, pattern: g.pattern.kind, diagnosis: g.diagnosis,
    })),
    records: result.records.map((r, i) => ({
      caseIndex: r.caseIndex, problem: r.problem, spec: r.spec, origin: r.origin, tactic: r.tactic, disposition: r.disposition,
      counts: r.verdict.counts, worst: r.verdict.worst, findings: r.verdict.lines, replay: r.replay, ms: r.ms,
      ...errorMapField(r, i),
      histogram: r.verdict.histogram,
    })),
  }, null, 1));
  const html = join(out, 'report.html');
  writeFileSync(html, renderPage({ result, meta, summary, totals: tot, grouping }));
  return { json, html };
}
