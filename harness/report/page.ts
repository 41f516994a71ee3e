/**
 * The report page: one self-contained HTML file (inline CSS, inline SVG and data: PNGs, no
 * script, nothing fetched), readable offline. Sections, in order: what ran; the run's
 * diagnosis; the case × tactic matrix (cells link to their finding group); the per-tactic
 * table and histograms; the finding groups, each with its diagnosis, finding lines, heat
 * maps, five worst elements with intermediates, and replay command.
 *
 * Size: the finding groups share a byte budget (PAGE_BUDGET_BYTES for the whole page, at
 * least MIN_GROUP_BUDGET_BYTES for the groups). Every group keeps its anchor; in order,
 * groups are drawn in full (pictures, five worst elements with intermediates: 2–5 KB),
 * then, once the budget would be exceeded, compact (diagnosis, first finding line, replay),
 * then as one line. Intermediates are recomputed for the first MAX_INTERMEDIATE_GROUPS
 * groups only (they regenerate the case). A 24-case run stays under 300 KB whatever fails
 * (report.test.ts measures it); report.json holds everything.
 */
import type { Case } from '../../reference/case.js';
import { generateCase } from '../../reference/generate.js';
import type { CampaignResult, CaseRecord } from '../campaign.js';
import type { ReportMeta, TacticSummary } from '../report.js';
import { describeCounts, fmtNum, RATIO_BIN_LABELS } from '../verdict.js';
import type { FindingGroup, Grouping } from './findingGroups.js';
import { expertMapHtml, heatLegendHtml, heatMapHtml } from './heatMap.js';
import { esc } from './html.js';
import { errorWhere } from './errorWhere.js';
import { buildMatrix, matrixHtml } from './matrix.js';
import { plural } from './plural.js';
import { histogramSvg } from './histogram.js';
import { INTERMEDIATES_MAX_WEIGHT_BYTES, localWeightBytes, worstElementsHtml } from './worstElements.js';

export const PAGE_BUDGET_BYTES = 280_000;
const MIN_GROUP_BUDGET_BYTES = 60_000;
const MAX_INTERMEDIATE_GROUPS = 24;

type BlockForm = 'full' | 'compact' | 'line';

const CSS = `body{font-family:system-ui,sans-serif;margin:2em;max-width:1300px;color:#222}
table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:2px 6px;text-align:right}
td:first-child,td.problem,td.l{text-align:left}.bad{background:#f6d0cc}
pre{background:#f4f4f4;padding:6px;overflow-x:auto;white-space:pre-wrap}.cmd{background:#eef;word-break:break-all}svg{margin:4px}
.diagnosis{font-size:1.1em;border-left:4px solid #c62828;padding:4px 10px;background:#fff4f2}.diagnosis.ok{border-color:#2f8a2f;background:#f2fbf0}
.matrix td,.matrix th{font-size:12px;padding:1px 4px;text-align:center}.matrix td.problem{text-align:left;white-space:nowrap}
.matrix a{color:inherit;text-decoration:none;display:block}.matrix .ok{background:#e3f4dc}.matrix .bad{background:#f4b4ab}
.matrix .crash{background:#b38ad9}.matrix .ns{background:#e6e6e6}.matrix .err{background:#f7d774}.matrix .none{background:#fafafa}
.group{border-top:2px solid #ddd;margin-top:1.2em}.group h3{margin:.4em 0}.heat img,.experts img{image-rendering:pixelated;border:1px solid #999}
figure{margin:.5em 0}figcaption{font-size:12px;color:#555}.expertgrid{display:flex;gap:6px}.elabels div{height:12px;font-size:10px;line-height:12px;text-align:right}
.legend{font-size:12px}.sw{white-space:nowrap;margin-right:6px}.sw i{display:inline-block;width:12px;height:12px;border:1px solid #999;vertical-align:middle;margin-right:2px}
.gline{margin:.2em 0;font-size:13px}.worst td,.worst th{font-size:12px}.worst tr.el{background:#f4f4f4}.worst tr.el td{text-align:left}.note{font-size:12px;color:#555}`;

function tacticTable(summary: readonly TacticSummary[]): string {
  const rows = summary.map((s) => `<tr><td>${esc(s.tactic)}</td><td>${s.cases}</td><td>${s.passed}</td><td class="${s.incorrect ? 'bad' : ''}">${s.incorrect}</td>` +
    `<td class="${s.crashed ? 'bad' : ''}">${s.crashed}</td><td>${s.notSupported}</td><td>${s.worstRatio === null ? '-' : fmtNum(s.worstRatio)}</td><td>${s.ms.toFixed(1)}</td>` +
    `<td class="l">${esc(describeCounts(s.counts))}</td></tr>`).join('\n');
  return `<table id="tactics"><tr><th>tactic</th><th>cases</th><th>passed</th><th>incorrect</th><th>crashed</th><th>not supported</th><th>worst / bound</th><th>time ms</th><th>discrepancies</th></tr>\n${rows}</table>`;
}

/** The case of a record, regenerated once per case, or why not. */
function caseSource(cache: Map<number, Case | string>, r: CaseRecord, groupIndex: number): Case | string {
  if (groupIndex >= MAX_INTERMEDIATE_GROUPS) {
    return `Intermediates are computed for the first ${MAX_INTERMEDIATE_GROUPS} finding groups only; replay this record to see them: ${r.replay}`;
  }
  const hit = cache.get(r.caseIndex);
  if (hit !== undefined) return hit;
  const bytes = localWeightBytes(r.spec.problem);
  const c = bytes > INTERMEDIATES_MAX_WEIGHT_BYTES
    ? `Intermediates not recomputed: the case's local weights take ${(bytes / 2 ** 20).toFixed(0)} MiB, more than the report's ${INTERMEDIATES_MAX_WEIGHT_BYTES / 2 ** 20} MiB; replay the record with a smaller --local-experts slice.`
    : generateCase(r.spec);
  cache.set(r.caseIndex, c);
  return c;
}

function groupBlock(g: FindingGroup, index: number, cases: Map<number, Case | string>, form: BlockForm): string {
  const r = g.records[0]!;
  const tactics = g.tactics.length > 1 ? `${g.tactics.length} tactics: ${g.tactics.join(', ')}` : `tactic ${g.tactics[0]}`;
  const title = `[${g.number}] ${esc(g.disposition.toUpperCase())} · case ${g.caseIndex} · ${esc(tactics)}`;
  const attrs = `id="${g.anchor}" data-case="${g.caseIndex}" data-tactics="${esc(g.tactics.join(' '))}" data-form="${form}"`;
  if (form === 'line') return `<p class="gline" ${attrs}>${title} — ${esc(g.diagnosis)}</p>`;
  const lines = form === 'full' ? r.verdict.lines : r.verdict.lines.slice(0, 1);
  const pictures = form === 'full' && r.errorMap
    ? `<p class="where">${esc(errorWhere(r.errorMap) ?? 'no element beyond the bound')}</p>` +
      heatMapHtml(r.errorMap, `|out − ref| / bound, tactic ${r.tactic}`) + expertMapHtml(r.errorMap) + worstElementsHtml(r, caseSource(cases, r, index))
    : '';
  return `<section class="group" ${attrs}><h3>${title}</h3>` +
    `<p class="gdiag"><b>${esc(g.diagnosis)}</b></p><p>${esc(g.problem)} · ${esc(describeCounts(r.verdict.counts))}</p>` +
    `<pre>${lines.map(esc).join('\n')}</pre>${pictures}<pre class="cmd">${esc(r.replay)}</pre></section>`;
}

/** The groups' blocks within the budget: full while it lasts, then compact, then one line each. */
function groupBlocks(groups: readonly FindingGroup[], budget: number): { html: string; forms: Record<BlockForm, number> } {
  const cases = new Map<number, Case | string>();
  const bytes = (x: string): number => Buffer.byteLength(x, 'utf8') + 1;
  const lines = groups.map((g, i) => groupBlock(g, i, cases, 'line'));
  let reserve = lines.reduce((a, l) => a + bytes(l), 0);
  let used = 0;
  let form: BlockForm = 'full';
  const forms: Record<BlockForm, number> = { full: 0, compact: 0, line: 0 };
  const out: string[] = [];
  groups.forEach((g, i) => {
    reserve -= bytes(lines[i]!);
    let block = lines[i]!;
    while (form !== 'line') {
      const candidate = groupBlock(g, i, cases, form);
      if (used + bytes(candidate) + reserve <= budget) {
        block = candidate;
        break;
      }
      form = form === 'full' ? 'compact' : 'line';
    }
    forms[form === 'line' ? 'line' : form]++;
    used += bytes(block);
    out.push(block);
  });
  return { html: out.join('\n'), forms };
}

export interface PageInput {
  readonly result: CampaignResult;
  readonly meta: ReportMeta;
  readonly summary: readonly TacticSummary[];
  readonly totals: Readonly<Record<string, number>>;
  readonly grouping: Grouping;
}

export function renderPage({ result, meta, summary, totals: tot, grouping }: PageInput): string {
  const bad = result.records.filter((r) => r.disposition !== 'passed');
  const charts = summary.filter((s) => s.tactic !== '*').map((s) => histogramSvg(s.histogram, `tactic ${s.tactic}`)).join('\n');
  const cx = meta.counterexample;
  const partial = (meta as { partial?: unknown }).partial === true;
  const head = `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>moe-harness report: ${esc(result.kernel)}</title>
<style>${CSS}</style></head><body>
<h1>moe-harness report</h1>
<p id="run">kernel <b>${esc(result.kernel)}</b> · <span id="case-count">${plural(result.cases, 'case')}</span> · ${plural(result.records.length, '(case, tactic) record')} · ${(result.elapsedMs / 1000).toFixed(1)} s${meta.seed !== undefined ? ` · seed ${meta.seed}` : ''}${partial ? ' · <b>partial: the run was interrupted</b>' : ''}</p>
${meta.notice ? `<p><b>${esc(meta.notice)}</b></p>` : ''}${meta.command ? `<pre class="cmd">${esc(meta.command)}</pre>` : ''}
<p id="totals">passed ${tot.passed ?? 0} · incorrect ${tot.incorrect ?? 0} · crashed ${tot.crashed ?? 0} · not supported ${tot.not_supported ?? 0}</p>
<p id="diagnosis" class="diagnosis${bad.length === 0 ? ' ok' : ''}">${esc(grouping.runDiagnosis)}</p>
${cx ? `<h2>Shrunk counterexample</h2><p>${esc(cx.problem)} · fast-check seed ${cx.fcSeed} path "${esc(cx.fcPath)}" · ${cx.shrinks} shrink steps</p>` +
  `<pre>${cx.findings.map(esc).join('\n')}</pre><pre class="cmd">${esc(cx.replay)}</pre>` : ''}
<h2>Case × tactic</h2><p class="note">A cell: the record's disposition and worst |out − ref| / bound; a failing cell links to its finding group. Empty: the kernel does not enumerate that tactic for the case.</p>
${matrixHtml(buildMatrix(result.records), grouping)}
<h2>Per tactic</h2>${tacticTable(summary)}
<h2>Error relative to bound, per tactic</h2><p>Green: within the bound (${RATIO_BIN_LABELS.slice(0, 7).join(', ')}); orange: beyond it but explained by a re-quantization flip; red: beyond the bound.</p>
${charts}
`;
  const budget = Math.max(MIN_GROUP_BUDGET_BYTES, PAGE_BUDGET_BYTES - Buffer.byteLength(head, 'utf8') - 4_000);
  const { html: groups, forms } = groupBlocks(grouping.groups, budget);
  const drawn = forms.compact + forms.line > 0
    ? ` (${forms.full} in full, ${forms.compact} compact, ${forms.line} as one line to keep the page small; report.json holds every record)` : '';
  return `${head}<h2 id="findings">Findings: ${plural(grouping.groups.length, 'group')} over ${plural(bad.length, 'record')} not passed${drawn}</h2>
${grouping.groups.length ? heatLegendHtml() : ''}
${groups || '<p id="no-findings">none</p>'}
</body></html>
`;
}
