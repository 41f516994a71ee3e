/**
 * No result is lost inside a campaign: a case whose generation or reference fails becomes
 * that case's disposition 'error' and the campaign goes on; a child process that dies in a
 * phase of a case (regenerate, prepare, a tactic) is retried in a fresh child and the death
 * is attributed to that phase, with one record per tactic.
 */
import test from 'ava';
import type { Case, CaseSpec } from '../reference/case.js';
import type { Expected } from '../reference/expected.js';
import { generateCaseParallel } from '../reference/generate/parallel.js';
import { runCampaign, type CampaignCase, type CaseRecord } from './campaign.js';
import { caseMix } from './caseMix.js';
import type { Isolation } from './campaign.js';
import type { ReferenceCache } from './referenceFor.js';
import { emulatedTactics } from './kernels/emulatedTactics.js';

const SEED = Number(process.env.MOE_HARNESS_SEED ?? 1);
const [a, b] = caseMix({ runs: 2, seed: SEED }).map((spec) => ({ spec })) as [CampaignCase, CampaignCase];
const labelsOf = (cc: CampaignCase): string[] => emulatedTactics(cc.spec.problem).map((t) => t.label);
const summary = (rs: readonly CaseRecord[]): string[] => rs.map((r) => `${r.caseIndex} ${r.tactic} ${r.disposition}`);

/** A reference cache whose references for one case's data seed fail as a too-large case's would. */
class FailingReferences extends Map<string, Promise<Expected>> implements ReferenceCache {
  constructor(private readonly seed: number) {
    super();
  }

  override get(key: string): Promise<Expected> | undefined {
    if (key.includes(`"seed":${this.seed},`)) {
      const p = Promise.reject(new RangeError('Array buffer allocation failed (simulated: a case too large)'));
      p.catch(() => undefined);
      return p;
    }
    return super.get(key);
  }
}

for (const isolation of ['inline', 'child'] as const satisfies readonly Isolation[]) {
  test(`${isolation}: a case whose generation fails is disposition error with the message; the campaign goes on`, async (t) => {
    const bad: CampaignCase = { spec: { ...a.spec, problem: { ...a.spec.problem, H: 100 } } };
    const r = await runCampaign([bad, b], { kernel: { kind: 'emulated' }, isolation });
    t.deepEqual(summary(r.records.filter((x) => x.caseIndex === 0)), ['0 * error']);
    t.regex(r.records[0]!.verdict.lines[0]!, /harness error: generating case 0 \(T=\d+ H=100 .*\): BadArgumentError: spec\.problem\.H: expected a multiple of 16.*; tactic \*; seed \d+\)$/);
    const rest = r.records.filter((x) => x.caseIndex === 1);
    t.deepEqual(rest.map((x) => x.tactic), labelsOf(b));
    t.true(rest.every((x) => x.disposition === 'passed'));
  });

  test(`${isolation}: a case whose reference fails (RangeError) is disposition error per tactic; the campaign goes on`, async (t) => {
    const r = await runCampaign([a, b], { kernel: { kind: 'emulated' }, isolation, referenceCache: new FailingReferences(a.spec.seed) });
    const first = r.records.filter((x) => x.caseIndex === 0);
    t.deepEqual(first.map((x) => x.tactic), labelsOf(a), 'one record per tactic, none lost');
    t.true(first.every((x) => x.disposition === 'error'));
    t.regex(first[0]!.verdict.lines[0]!, /harness error: reference of case 0 .*: RangeError: Array buffer allocation failed/);
    const rest = r.records.filter((x) => x.caseIndex === 1);
    t.true(rest.length === labelsOf(b).length && rest.every((x) => x.disposition === 'passed'));
  });
}

test('child: the campaign\'s own copy fails to generate while the child\'s succeeds: the one generation error, none of the child\'s outcomes judged', async (t) => {
  // The child starts regenerating from the spec before the campaign's copy exists; here only the campaign's fails.
  const generate = (spec: CaseSpec): Promise<Case> => spec.seed === a.spec.seed
    ? Promise.reject(new RangeError('Array buffer allocation failed (simulated: the campaign\'s copy only)'))
    : generateCaseParallel(spec);
  const r = await runCampaign([a, b], { kernel: { kind: 'emulated' }, isolation: 'child', generate });
  t.deepEqual(summary(r.records.filter((x) => x.caseIndex === 0)), ['0 * error'], 'no record of a tactic the child ran');
  t.regex(r.records[0]!.verdict.lines[0]!, /harness error: generating case 0 .*: RangeError: Array buffer allocation failed \(simulated: the campaign's copy only\)/);
  const rest = r.records.filter((x) => x.caseIndex === 1);
  t.deepEqual(rest.map((x) => x.tactic), labelsOf(b));
  t.true(rest.every((x) => x.disposition === 'passed'));
});

for (const phase of ['regenerate', 'prepare'] as const) {
  test(`child: a death while in ${phase} is retried in a fresh child, which finishes the case`, async (t) => {
    const r = await runCampaign([a, b], { kernel: { kind: 'emulated', crashPhase: phase, crashAttempts: 1 }, isolation: 'child' });
    t.deepEqual(summary(r.records), [...labelsOf(a).map((l) => `0 ${l} passed`), ...labelsOf(b).map((l) => `1 ${l} passed`)]);
    t.is(r.childStarts, 3, 'the first child and one fresh child per case');
  });

  test(`child: a death in ${phase} in every child is attributed to ${phase}, one crashed record per tactic`, async (t) => {
    const r = await runCampaign([a, b], { kernel: { kind: 'emulated', crashPhase: phase }, isolation: 'child' });
    for (const [i, cc] of [a, b].entries()) {
      const rs = r.records.filter((x) => x.caseIndex === i);
      t.deepEqual(rs.map((x) => x.tactic), labelsOf(cc), 'per-tactic records, not one * record');
      t.true(rs.every((x) => x.disposition === 'crashed'));
      for (const x of rs) {
        t.regex(x.verdict.lines[0]!, new RegExp(`^tactic=crashed, reference a completed run \\(${phase}: child process died while ${phase} .*in 2 children: child process died \\(exit code 134\\)`));
      }
      t.regex(rs[0]!.replay, new RegExp(`--tactic ${rs[0]!.tactic.replace('/', '\\/')} --kernel emulated$`));
    }
    t.is(r.childStarts, 4, 'two children per case');
  });
}

test('child: a death in a tactic crashes that tactic only; a fresh child runs the others', async (t) => {
  const victim = labelsOf(a)[1]!;
  const r = await runCampaign([a], { kernel: { kind: 'emulated', crashTactic: victim }, isolation: 'child' });
  t.deepEqual(summary(r.records), labelsOf(a).map((l) => `0 ${l} ${l === victim ? 'crashed' : 'passed'}`));
  t.regex(r.records.find((x) => x.tactic === victim)!.verdict.lines[0]!, new RegExp(`child process died \\(exit code 134\\).*tactic ${victim.replace('/', '\\/')};`));
  t.is(r.childStarts, 2);
});

test('an aborted campaign stops, keeps what finished and says which case was in flight', async (t) => {
  for (const isolation of ['inline', 'child'] as const) {
    const ac = new AbortController();
    const cases = caseMix({ runs: 4, seed: SEED + 7 }).map((spec) => ({ spec }));
    let seen = 0;
    const r = await runCampaign(cases, {
      kernel: { kind: 'emulated' }, isolation, signal: ac.signal,
      onEvent: (e) => {
        if (e.type === 'record' && ++seen === 3) ac.abort();
      },
    });
    t.truthy(r.interrupted, isolation);
    const total = cases.reduce((n, cc) => n + labelsOf(cc).length, 0);
    t.true(r.records.length >= 3 && r.records.length < total, `${isolation}: ${r.records.length} of ${total} records`);
    t.true(r.records.every((x) => x.caseIndex <= r.interrupted!.caseIndex), 'nothing after the case in flight');
    t.true(r.records.every((x) => x.disposition === 'passed'), 'an interrupted tactic is never recorded as crashed');
  }
});
