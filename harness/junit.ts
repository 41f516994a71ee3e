/**
 * JUnit XML for CI systems: one <testcase> per (case, tactic) record of a campaign.
 *
 *   classname  "case <index> <problem short form>"   (e.g. "case 3 T=37 H=256 I=128 E=8 k=2 renormalize nvfp4")
 *   name       the tactic label ("tileTokens/config", or "*" for a whole-case record)
 *   time       seconds of the tactic's two runs (kernel time when measured, else wall time)
 *
 * What each disposition becomes is one table (JUNIT_OUTCOMES), keyed by name:
 *   passed → plain testcase; incorrect, crashed → <failure>; not_supported → <skipped>;
 *   error (the harness could not produce a verdict) → <error>.
 * A disposition missing from the table is written as <error> naming it, never dropped.
 * The failure/error text is every finding line in the project's grammar (harness/verdict.ts)
 * followed by the replay command; its message attribute is the first finding.
 *
 * The XML is built with xmlbuilder2 (escaping, declaration); characters XML 1.0 cannot
 * carry (control characters from a kernel's message) are replaced by U+FFFD first.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { create } from 'xmlbuilder2';
import type { CampaignResult } from './campaign.js';
import type { ReportMeta } from './report.js';

/** One (case, tactic) record as report.json stores it (and as CaseRecord maps to). */
export interface JunitRecord {
  readonly caseIndex: number;
  readonly problem: string;
  readonly tactic: string;
  readonly disposition: string;
  readonly findings: readonly string[];
  readonly replay: string;
  readonly ms?: number;
}

/** One <testsuite>: a campaign (or the merge of its shards). */
export interface JunitSuite {
  readonly name: string;
  readonly records: readonly JunitRecord[];
  /** Shown as <properties> (kernel, seed, command, notice, shards …). */
  readonly properties?: Readonly<Record<string, string | number | undefined>>;
  /** Extra <testcase>s that are not (case, tactic) records, e.g. a worker process that died. */
  readonly extraErrors?: ReadonlyArray<{ readonly classname: string; readonly name: string; readonly message: string; readonly text: string }>;
  readonly elapsedMs?: number;
  readonly timestamp?: string;
}

/** What a disposition is in JUnit terms. */
export type JunitOutcome = 'pass' | 'failure' | 'skipped' | 'error';

const JUNIT_OUTCOMES: Readonly<Record<string, JunitOutcome>> = {
  passed: 'pass',
  incorrect: 'failure',
  crashed: 'failure',
  not_supported: 'skipped',
  error: 'error',
};

function junitOutcome(disposition: string): JunitOutcome {
  return JUNIT_OUTCOMES[disposition] ?? 'error';
}

// XML 1.0 Char production: tab, LF, CR, U+0020–U+D7FF, U+E000–U+FFFD, supplementary planes.
// eslint-disable-next-line no-control-regex
const NOT_XML_CHAR = /[^\t\n\r\u0020-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/gu;
const xmlText = (s: string): string => s.replace(NOT_XML_CHAR, '\uFFFD');

function junitClassname(r: Pick<JunitRecord, 'caseIndex' | 'problem'>): string {
  return `case ${r.caseIndex} ${r.problem}`;
}

export interface JunitCounts {
  readonly tests: number;
  readonly failures: number;
  readonly errors: number;
  readonly skipped: number;
}

function junitCounts(suite: JunitSuite): JunitCounts {
  let failures = 0;
  let errors = suite.extraErrors?.length ?? 0;
  let skipped = 0;
  for (const r of suite.records) {
    const o = junitOutcome(r.disposition);
    if (o === 'failure') failures++;
    else if (o === 'error') errors++;
    else if (o === 'skipped') skipped++;
  }
  return { tests: suite.records.length + (suite.extraErrors?.length ?? 0), failures, errors, skipped };
}

const seconds = (ms: number | undefined): string => ((ms ?? 0) / 1000).toFixed(3);

/** The JUnit XML document for one or more suites. */
export function junitXml(suites: readonly JunitSuite[]): string {
  const root = create({ version: '1.0', encoding: 'UTF-8' }).ele('testsuites', { name: 'moe-harness' });
  const all = { tests: 0, failures: 0, errors: 0, skipped: 0, ms: 0 };
  for (const s of suites) {
    const c = junitCounts(s);
    const ms = s.elapsedMs ?? s.records.reduce((a, r) => a + (r.ms ?? 0), 0);
    all.tests += c.tests; all.failures += c.failures; all.errors += c.errors; all.skipped += c.skipped; all.ms += ms;
    const suite = root.ele('testsuite', {
      name: xmlText(s.name), tests: c.tests, failures: c.failures, errors: c.errors, skipped: c.skipped,
      time: seconds(ms), timestamp: s.timestamp ?? new Date().toISOString(),
    });
    const props = Object.entries(s.properties ?? {}).filter(([, v]) => v !== undefined);
    if (props.length > 0) {
      const p = suite.ele('properties');
      for (const [name, value] of props) p.ele('property', { name, value: xmlText(String(value)) });
    }
    for (const r of s.records) {
      const tc = suite.ele('testcase', { classname: xmlText(junitClassname(r)), name: xmlText(r.tactic), time: seconds(r.ms) });
      const outcome = junitOutcome(r.disposition);
      if (outcome === 'pass') continue;
      const known = JUNIT_OUTCOMES[r.disposition] !== undefined;
      const first = r.findings[0] ?? `${r.disposition} (no finding recorded)`;
      const message = known ? first : `unknown disposition ${JSON.stringify(r.disposition)}: ${first}`;
      if (outcome === 'skipped') {
        tc.ele('skipped', { message: xmlText(message) });
        continue;
      }
      const text = [...r.findings, `replay: ${r.replay}`].join('\n');
      tc.ele(outcome, { message: xmlText(message), type: xmlText(r.disposition) }).txt(xmlText(text));
    }
    for (const e of s.extraErrors ?? []) {
      suite.ele('testcase', { classname: xmlText(e.classname), name: xmlText(e.name), time: '0.000' })
        .ele('error', { message: xmlText(e.message), type: 'error' }).txt(xmlText(e.text));
    }
  }
  root.att({ tests: String(all.tests), failures: String(all.failures), errors: String(all.errors), skipped: String(all.skipped), time: seconds(all.ms) });
  return root.end({ prettyPrint: true });
}

/** Write the JUnit XML to `file` (folders created); returns the absolute path. */
export function writeJunit(file: string, suites: readonly JunitSuite[]): string {
  const path = resolve(file);
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, junitXml(suites));
  return path;
}

/** The suite of one campaign (or merged campaign) result. */
export function junitSuite(result: CampaignResult, meta: ReportMeta = {}, extraErrors: JunitSuite['extraErrors'] = []): JunitSuite {
  return {
    name: `moe-harness check ${result.kernel}`,
    records: result.records.map((r) => ({
      caseIndex: r.caseIndex, problem: r.problem, tactic: r.tactic, disposition: r.disposition,
      findings: r.verdict.lines, replay: r.replay, ...(r.ms !== undefined ? { ms: r.ms } : {}),
    })),
    properties: {
      kernel: result.kernel, cases: result.cases, seed: meta.seed, command: meta.command, notice: meta.notice,
      shard: meta.shard ? `${meta.shard.index}/${meta.shard.total} of ${meta.shard.casesTotal} cases` : undefined,
    },
    extraErrors, elapsedMs: result.elapsedMs,
  };
}
