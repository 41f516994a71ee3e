/**
 * Merging shard reports into one: `moe-harness merge DIR... --report OUT [--junit FILE]`
 * reads each DIR/report.json (written by `check`, one per shard or per GPU worker) and
 * writes one report folder (report.json + report.html, the same shape `check` writes) and
 * optionally one JUnit file.
 *
 * What is checked before anything is written (each a BadArgumentError naming the folder):
 *   - every folder holds a report.json with per-record histograms (reports from this version);
 *   - every report comes from the same kernel;
 *   - sharded reports (report.json "shard") agree on the shard total, the unsharded case
 *     count and the seed, and cover every shard exactly once (a missing shard is an error:
 *     a merged report must not silently lack a runner's results);
 *   - no (case index, tactic) appears twice.
 * Records are ordered by case index (each case's tactics in their recorded order), so the
 * merge of the shards of a campaign has the records of the unsharded run in its order.
 * elapsedMs of the merge is the longest shard's (shards run side by side).
 */
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { ErrorMap } from './report/errorMap.js';
import type { CaseSpec } from '../reference/case.js';
import { BadArgumentError } from '../reference/errors.js';
import type { CampaignResult, CaseRecord } from './campaign.js';
import type { CaseOrigin } from './replayCommand.js';
import type { ReportMeta } from './report.js';
import { RATIO_BIN_LABELS, type DiscrepancyKind, type Disposition, type Verdict, type WorstElement } from './verdict.js';

/** One record of report.json, as `writeReport` stores it. */
export interface ReportRecordJson {
  readonly caseIndex: number;
  readonly problem: string;
  readonly spec: CaseSpec;
  readonly origin?: CaseOrigin;
  readonly tactic: string;
  readonly disposition: string;
  readonly counts: Record<DiscrepancyKind, number>;
  readonly worst: WorstElement | null;
  readonly findings: string[];
  readonly replay: string;
  readonly ms?: number;
  readonly histogram?: number[];
  /** Where the errors sit (incorrect records), or the index of an earlier record holding the same map (report.ts). */
  readonly errorMap?: ErrorMap;
  readonly errorMapSameAs?: number;
}

/** report.json: the fields merging reads. */
export interface ReportJson {
  readonly kernel: string;
  readonly cases: number;
  readonly elapsedMs: number;
  readonly childStarts: number;
  readonly seed?: number;
  readonly command?: string;
  readonly notice?: string;
  readonly shard?: { readonly index: number; readonly total: number; readonly casesTotal: number };
  readonly records: ReportRecordJson[];
}

/** Read DIR/report.json (or a report.json path). */
export function readReport(dirOrFile: string): ReportJson {
  const file = dirOrFile.endsWith('.json') ? resolve(dirOrFile) : join(resolve(dirOrFile), 'report.json');
  if (!existsSync(file)) throw new BadArgumentError('DIR', 'a report folder holding report.json (written by moe-harness check --report)', `${dirOrFile} (no ${file})`);
  let r: ReportJson;
  try {
    r = JSON.parse(readFileSync(file, 'utf8')) as ReportJson;
  } catch (e) {
    throw new BadArgumentError('DIR', 'a report.json that parses as JSON', `${file}: ${(e as Error).message}`);
  }
  if (typeof r.kernel !== 'string' || !Array.isArray(r.records) || typeof r.cases !== 'number') {
    throw new BadArgumentError('DIR', 'a moe-harness report.json (kernel, cases, records)', file);
  }
  const bad = r.records.findIndex((x) => !Array.isArray(x.histogram) || x.histogram.length !== RATIO_BIN_LABELS.length);
  if (bad >= 0) throw new BadArgumentError('DIR', `report.json records with a ${RATIO_BIN_LABELS.length}-bin histogram (rerun check with this version)`, `${file}: record ${bad} has none`);
  // Shared error maps written once (errorMapSameAs) are expanded back into each record.
  const records = r.records.map((x) => (x.errorMapSameAs !== undefined ? { ...x, errorMap: r.records[x.errorMapSameAs]?.errorMap } : x));
  return { ...r, records: records as ReportRecordJson[] };
}

/** A report.json record back as a CaseRecord (the verdict's structured findings are not stored; its lines are). */
function caseRecordOf(x: ReportRecordJson): CaseRecord {
  const verdict: Verdict = {
    disposition: x.disposition as Disposition, tactic: x.tactic, counts: x.counts, worst: x.worst,
    findings: [], lines: x.findings, histogram: x.histogram!,
  };
  return {
    caseIndex: x.caseIndex, spec: x.spec, ...(x.origin ? { origin: x.origin } : {}), problem: x.problem, tactic: x.tactic,
    disposition: x.disposition as Disposition, verdict, replay: x.replay, ...(x.ms !== undefined ? { ms: x.ms } : {}),
    ...(x.errorMap !== undefined ? { errorMap: x.errorMap } : {}),
  };
}

export interface Merged {
  readonly result: CampaignResult;
  readonly meta: ReportMeta;
}

/** Merge reports (labels name them in errors: usually their folders). */
export function mergeReports(
  reports: readonly ReportJson[],
  labels: readonly string[] = reports.map((_, i) => `report ${i}`),
  /** Shard indices expected, each exactly once (default: every shard of the total). */
  opts: { readonly shards?: readonly number[] } = {},
): Merged {
  if (reports.length === 0) throw new BadArgumentError('DIR...', 'one or more report folders', 'none');
  const first = reports[0]!;
  reports.forEach((r, i) => {
    if (r.kernel !== first.kernel) throw new BadArgumentError('DIR', `reports of one kernel (${first.kernel}, from ${labels[0]})`, `${r.kernel} in ${labels[i]}`);
  });
  const sharded = reports.filter((r) => r.shard !== undefined);
  if (sharded.length > 0) {
    if (sharded.length !== reports.length) {
      const i = reports.findIndex((r) => r.shard === undefined);
      throw new BadArgumentError('DIR', 'shard reports only (every report.json with "shard"), or unsharded reports only', `${labels[i]} is unsharded`);
    }
    const s0 = first.shard!;
    const seen = new Map<number, string>();
    reports.forEach((r, i) => {
      const s = r.shard!;
      if (s.total !== s0.total || s.casesTotal !== s0.casesTotal) {
        throw new BadArgumentError('DIR', `shards of one campaign (${s0.total} shards of ${s0.casesTotal} cases, from ${labels[0]})`, `${s.total} shards of ${s.casesTotal} cases in ${labels[i]}`);
      }
      if (r.seed !== first.seed) throw new BadArgumentError('DIR', `shards of one campaign (seed ${first.seed}, from ${labels[0]})`, `seed ${r.seed} in ${labels[i]}`);
      const prev = seen.get(s.index);
      if (prev !== undefined) throw new BadArgumentError('DIR', `each shard once`, `shard ${s.index}/${s.total} in ${prev} and in ${labels[i]}`);
      seen.set(s.index, labels[i]!);
    });
    const expected = opts.shards ?? Array.from({ length: s0.total }, (_, i) => i);
    const missing = expected.filter((i) => !seen.has(i));
    const extra = [...seen.keys()].filter((i) => !expected.includes(i));
    if (extra.length > 0) throw new BadArgumentError('DIR...', `shards ${expected.join(', ')}`, `also shard ${extra.join(', ')}`);
    if (missing.length > 0) {
      throw new BadArgumentError('DIR...', `all ${s0.total} shards of the campaign`, `shard${missing.length > 1 ? 's' : ''} ${missing.join(', ')} missing (given: ${[...seen.keys()].sort((a, b) => a - b).join(', ')})`);
    }
  }
  const where = new Map<string, string>();
  const records: Array<{ rec: ReportRecordJson; order: number }> = [];
  let order = 0;
  reports.forEach((r, i) => {
    for (const x of r.records) {
      const key = `${x.caseIndex}\u0000${x.tactic}`;
      const prev = where.get(key);
      if (prev !== undefined) throw new BadArgumentError('DIR', 'reports with disjoint cases', `case ${x.caseIndex} tactic ${x.tactic} in ${prev} and in ${labels[i]}`);
      where.set(key, labels[i]!);
      records.push({ rec: x, order: order++ });
    }
  });
  records.sort((a, b) => a.rec.caseIndex - b.rec.caseIndex || a.order - b.order);
  const cases = reports.reduce((a, r) => a + r.cases, 0);
  if (sharded.length > 0 && opts.shards === undefined && cases !== first.shard!.casesTotal) {
    throw new BadArgumentError('DIR...', `shards adding up to ${first.shard!.casesTotal} cases`, `${cases} cases`);
  }
  const notices = [...new Set(reports.map((r) => r.notice).filter((n): n is string => n !== undefined))];
  const result: CampaignResult = {
    kernel: first.kernel, cases, records: records.map((x) => caseRecordOf(x.rec)),
    elapsedMs: Math.max(...reports.map((r) => r.elapsedMs)), childStarts: reports.reduce((a, r) => a + r.childStarts, 0),
  };
  // The merge is unsharded (a caller merging part of a campaign sets its own shard).
  const meta: ReportMeta = {
    ...(first.command !== undefined ? { command: first.command } : {}), ...(first.seed !== undefined ? { seed: first.seed } : {}),
    ...(notices.length > 0 ? { notice: notices.join(' ') } : {}),
  };
  return { result, meta };
}
