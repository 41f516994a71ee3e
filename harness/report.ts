/**
 * Campaign reports: a table per tactic for the terminal, and a report folder with
 * report.json (every record) and report.html (the table, per-tactic histograms of
 * |out - reference| / bound as inline SVG, and every finding with its replay command).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { CampaignResult, CaseRecord } from './campaign.js';
import { DISCREPANCY_KINDS, RATIO_BIN_LABELS, describeCounts, fmtNum, type DiscrepancyKind } from './verdict.js';

export interface TacticSummary {
  readonly tactic: string;
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

function tacticOrder(a: string, b: string): number {
  const [a1, a2] = a.split('/').map(Number);
  const [b1, b2] = b.split('/').map(Number);
  if (Number.isNaN(a1!) || Number.isNaN(b1!)) return a.localeCompare(b);
  return a1! - b1! || a2! - b2!;
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
    return { tactic, cases: rs.length, passed: count('passed'), incorrect: count('incorrect'), crashed: count('crashed'), notSupported: count('not_supported'), worstRatio: worst, ms, histogram, counts };
  });
}

/** The per-tactic table as aligned text. */
export function formatTable(rows: readonly TacticSummary[]): string {
  const head = ['tactic', 'cases', 'passed', 'incorrect', 'crashed', 'not_supp', 'worst/bound', 'time ms'];
  const body = rows.map((r) => [r.tactic, r.cases, r.passed, r.incorrect, r.crashed, r.notSupported, r.worstRatio === null ? '-' : fmtNum(r.worstRatio), r.ms.toFixed(1)].map(String));
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i]!.length)));
  const line = (cells: string[]): string => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  return [line(head), line(widths.map((w) => '-'.repeat(w))), ...body.map(line)].join('\n');
}

/** Totals over records: dispositions. */
export function totals(records: readonly CaseRecord[]): Record<'passed' | 'incorrect' | 'crashed' | 'not_supported', number> {
  const t = { passed: 0, incorrect: 0, crashed: 0, not_supported: 0 };
  for (const r of records) t[r.disposition]++;
  return t;
}

const esc = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

/** A bar chart of one tactic's ratio histogram (log-scaled counts) as inline SVG. */
export function histogramSvg(h: readonly number[], title: string): string {
  const W = 420;
  const H = 150;
  const left = 8;
  const barW = (W - 2 * left) / h.length;
  const max = Math.max(1, ...h);
  const scale = (v: number): number => (v === 0 ? 0 : (Math.log10(1 + v) / Math.log10(1 + max)) * (H - 50));
  const bars = h.map((v, i) => {
    const bh = scale(v);
    const x = left + i * barW;
    const color = i <= 6 ? '#3a8a3a' : i === 7 ? '#d08a1a' : '#c0392b';
    return `<rect x="${x + 2}" y="${H - 30 - bh}" width="${barW - 4}" height="${bh}" fill="${color}"><title>${esc(RATIO_BIN_LABELS[i]!)}: ${v}</title></rect>` +
      `<text x="${x + barW / 2}" y="${H - 16}" font-size="9" text-anchor="middle">${esc(RATIO_BIN_LABELS[i]!)}</text>` +
      `<text x="${x + barW / 2}" y="${H - 34 - bh}" font-size="8" text-anchor="middle">${v}</text>`;
  }).join('');
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" role="img" aria-label="${esc(title)}">` +
    `<text x="${left}" y="12" font-size="11" font-weight="bold">${esc(title)}</text>${bars}` +
    `<text x="${W / 2}" y="${H - 3}" font-size="9" text-anchor="middle">|out - reference| / bound (elements, log-scaled bars)</text></svg>`;
}

export interface ReportMeta {
  readonly command?: string;
  readonly seed?: number;
  readonly notice?: string;
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

/** Write report.json and report.html into `dir`; returns their paths. */
export function writeReport(result: CampaignResult, dir: string, meta: ReportMeta = {}): { json: string; html: string } {
  const out = resolve(dir);
  mkdirSync(out, { recursive: true });
  const summary = summarize(result.records);
  const tot = totals(result.records);
  const json = join(out, 'report.json');
  writeFileSync(json, JSON.stringify({
    kernel: result.kernel, cases: result.cases, elapsedMs: result.elapsedMs, childStarts: result.childStarts,
    generatedAt: new Date().toISOString(), ...meta, totals: tot, histogramBins: RATIO_BIN_LABELS,
    tactics: summary,
    records: result.records.map((r) => ({
      caseIndex: r.caseIndex, problem: r.problem, spec: r.spec, origin: r.origin, tactic: r.tactic, disposition: r.disposition,
      counts: r.verdict.counts, worst: r.verdict.worst, findings: r.verdict.lines, replay: r.replay, ms: r.ms,
      histogram: r.verdict.histogram,
    })),
  }, null, 1));
  const bad = result.records.filter((r) => r.disposition !== 'passed');
  const html = join(out, 'report.html');
  const rows = summary.map((s) => `<tr><td>${esc(s.tactic)}</td><td>${s.cases}</td><td>${s.passed}</td><td class="${s.incorrect ? 'bad' : ''}">${s.incorrect}</td>` +
    `<td class="${s.crashed ? 'bad' : ''}">${s.crashed}</td><td>${s.notSupported}</td><td>${s.worstRatio === null ? '-' : fmtNum(s.worstRatio)}</td><td>${s.ms.toFixed(1)}</td>` +
    `<td>${esc(describeCounts(s.counts))}</td></tr>`).join('\n');
  const charts = summary.filter((s) => s.tactic !== '*').map((s) => histogramSvg(s.histogram, `tactic ${s.tactic}`)).join('\n');
  const findings = bad.slice(0, 200).map((r) => `<section><h3>case ${r.caseIndex} · tactic ${esc(r.tactic)} · ${esc(r.disposition)}</h3>` +
    `<p>${esc(r.problem)} · ${esc(describeCounts(r.verdict.counts))}</p><pre>${r.verdict.lines.map(esc).join('\n')}</pre>` +
    `<pre class="cmd">${esc(r.replay)}</pre></section>`).join('\n');
  writeFileSync(html, `<!doctype html><html><head><meta charset="utf-8"><title>moe-harness report: ${esc(result.kernel)}</title>
<style>body{font-family:system-ui,sans-serif;margin:2em;max-width:1100px}table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:3px 8px;text-align:right}
td:first-child,td:last-child{text-align:left}.bad{background:#f6d0cc}pre{background:#f4f4f4;padding:6px;overflow-x:auto;white-space:pre-wrap}.cmd{background:#eef}svg{margin:4px}</style></head><body>
<h1>moe-harness report</h1>
<p>kernel <b>${esc(result.kernel)}</b> · ${result.cases} cases · ${result.records.length} (case, tactic) records · ${(result.elapsedMs / 1000).toFixed(1)} s
${meta.seed !== undefined ? ` · seed ${meta.seed}` : ''}</p>
${meta.notice ? `<p><b>${esc(meta.notice)}</b></p>` : ''}${meta.command ? `<pre class="cmd">${esc(meta.command)}</pre>` : ''}
<p>passed ${tot.passed} · incorrect ${tot.incorrect} · crashed ${tot.crashed} · not supported ${tot.not_supported}</p>
${meta.counterexample ? `<h2>Shrunk counterexample</h2><p>${esc(meta.counterexample.problem)} · fast-check seed ${meta.counterexample.fcSeed} path "${esc(meta.counterexample.fcPath)}" · ${meta.counterexample.shrinks} shrink steps</p>` +
  `<pre>${meta.counterexample.findings.map(esc).join('\n')}</pre><pre class="cmd">${esc(meta.counterexample.replay)}</pre>` : ''}
<h2>Per tactic</h2><table><tr><th>tactic</th><th>cases</th><th>passed</th><th>incorrect</th><th>crashed</th><th>not supported</th><th>worst / bound</th><th>time ms</th><th>discrepancies</th></tr>
${rows}</table>
<h2>Error relative to bound, per tactic</h2><p>Green: within the bound; orange: beyond it but explained by a re-quantization flip; red: beyond the bound.</p>
${charts}
<h2>Findings (${bad.length} records not passed${bad.length > 200 ? ', first 200 shown' : ''})</h2>
${findings || '<p>none</p>'}
</body></html>
`);
  return { json, html };
}
