/**
 * FindingGroup: records that are not passed, grouped by signature — the same case with the
 * same findings (kind, element, observed and reference values, detail) and the same
 * counts, whichever tactic produced them. A fault that breaks every tactic identically is
 * one group naming every tactic, not one block per tactic. Within a case, groups holding
 * more tactics come first, tactic-specific ones after; cases in order.
 *
 * Each group carries its case's tactic pattern (tacticPattern.ts over the case's failing
 * tactics among those that ran), and the run as a whole gets one line summing the patterns
 * of its failing cases, with what the failing cases' shapes share (shapePattern.ts).
 */
import type { CaseRecord } from '../campaign.js';
import { configTraitsOf } from './configTraits.js';
import { tacticOrder } from './tacticOrder.js';
import { tacticPattern, type PatternKind, type TacticPattern } from './tacticPattern.js';
import { plural } from './plural.js';
import { expertHint } from './expertHint.js';
import { shapePattern } from './shapePattern.js';

export interface FindingGroup {
  /** 1-based, in display order; the terminal matrix names groups by it. */
  readonly number: number;
  /** HTML anchor of the group's block. */
  readonly anchor: string;
  readonly caseIndex: number;
  readonly problem: string;
  readonly disposition: CaseRecord['disposition'];
  /** Records of the group, in tactic order; the first is the representative. */
  readonly records: readonly CaseRecord[];
  readonly tactics: readonly string[];
  /** Tactics that ran on the case (not '*'), and those of them not passed. */
  readonly caseTactics: readonly string[];
  readonly caseFailing: readonly string[];
  /** The pattern of the case's failing tactics. */
  readonly pattern: TacticPattern;
  /** One line for the group's block. */
  readonly diagnosis: string;
}

export interface Grouping {
  readonly groups: readonly FindingGroup[];
  /** The group of each record not passed. */
  readonly groupOf: ReadonlyMap<CaseRecord, FindingGroup>;
  /** One line over the run: the patterns of the failing cases, most frequent first. */
  readonly runDiagnosis: string;
}

/** The signature of a record: what must be equal for two records to share a block. */
export function signatureOf(r: CaseRecord): string {
  const v = r.verdict;
  return JSON.stringify([
    r.caseIndex, r.disposition, v.counts,
    v.findings.map((f) => [f.kind, f.where, f.observed, f.reference, f.detail]),
    v.findings.length === 0 ? v.lines.map((l) => l.replace(/; tactic [^;)]*/, '')) : [],
  ]);
}

export function groupFindings(records: readonly CaseRecord[], kernel: string): Grouping {
  const traits = configTraitsOf(kernel);
  const byCase = new Map<number, CaseRecord[]>();
  for (const r of records) (byCase.get(r.caseIndex) ?? byCase.set(r.caseIndex, []).get(r.caseIndex)!).push(r);
  const groups: FindingGroup[] = [];
  const groupOf = new Map<CaseRecord, FindingGroup>();
  const patterns = new Map<string, { kind: PatternKind; cases: number[] }>(); // by TacticPattern.key
  for (const caseIndex of [...byCase.keys()].sort((a, b) => a - b)) {
    const rs = byCase.get(caseIndex)!;
    const bad = rs.filter((r) => r.disposition !== 'passed');
    if (bad.length === 0) continue;
    const caseTactics = rs.map((r) => r.tactic).filter((x) => x !== '*').sort(tacticOrder);
    const caseFailing = bad.map((r) => r.tactic).filter((x) => x !== '*').sort(tacticOrder);
    const pattern: TacticPattern = caseFailing.length === 0
      ? { kind: 'one_ran', text: 'no tactic ran: the whole case was refused or its preparation failed', key: 'no tactic ran (case refused or its preparation failed)' }
      : tacticPattern(caseFailing, caseTactics, traits);
    const key = pattern.key;
    const entry = patterns.get(key) ?? { kind: pattern.kind, cases: [] };
    entry.cases.push(caseIndex);
    patterns.set(key, entry);
    const bySig = new Map<string, CaseRecord[]>();
    for (const r of bad) (bySig.get(signatureOf(r)) ?? bySig.set(signatureOf(r), []).get(signatureOf(r))!).push(r);
    const sets = [...bySig.values()].map((g) => g.sort((a, b) => tacticOrder(a.tactic, b.tactic)));
    sets.sort((a, b) => b.length - a.length || tacticOrder(a[0]!.tactic, b[0]!.tactic));
    for (const g of sets) {
      const tactics = g.map((r) => r.tactic);
      const whole = tactics.length === caseFailing.length;
      const hint = expertHint(g[0]!.errorMap);
      const diagnosis = (tactics.length > 1
        ? `${whole ? 'identical findings on every failing tactic' : `identical findings on ${tactics.length} of the ${caseFailing.length} failing tactics`}; case: ${pattern.text}`
        : `case: ${pattern.text}`) + (hint ? `; ${hint}` : '');
      const number = groups.length + 1;
      const group: FindingGroup = {
        number, anchor: `g${number}`, caseIndex, problem: g[0]!.problem, disposition: g[0]!.disposition,
        records: g, tactics, caseTactics, caseFailing, pattern, diagnosis,
      };
      groups.push(group);
      for (const r of g) groupOf.set(r, group);
    }
  }
  const failingCases = [...patterns.values()].reduce((a, p) => a + p.cases.length, 0);
  const caseCount = byCase.size;
  let runDiagnosis: string;
  if (failingCases === 0) runDiagnosis = `no finding: every record of ${plural(caseCount, 'case')} passed`;
  else {
    const parts = [...patterns.entries()].sort((a, b) => b[1].cases.length - a[1].cases.length)
      .map(([key, p]) => `${p.cases.length === caseCount ? 'every case' : `${plural(p.cases.length, 'case')} (${p.cases.slice(0, 8).join(', ')}${p.cases.length > 8 ? ', …' : ''})`}: ${key}`);
    const specs = new Map([...byCase].map(([i, rs]) => [i, rs[0]!.spec]));
    const shapes = shapePattern(specs, new Set([...patterns.values()].flatMap((p) => p.cases)));
    runDiagnosis = `${failingCases} of ${plural(caseCount, 'case')} not passed — ${parts.join('; ')}${shapes.length ? `. Shapes: ${shapes.map((x) => x.text).join('; ')}` : ''}`;
  }
  return { groups, groupOf, runDiagnosis };
}
