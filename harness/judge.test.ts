import test from 'ava';
import { runOracle64 } from '../reference/oracle64.js';
import { runCampaign } from './campaign.js';
import { POISON } from './caseRunner.js';
import { caseMix } from './caseMix.js';
import { judge, type JudgeInput, type ReferenceForIds } from './judge.js';
import { emulatedRouting } from './kernels/emulatedRouting.js';
import type { Observed } from './kernels/kernel.js';
import { fixture, perfectObserved, wrongExpertIds, type Fixture } from './testing.js';
import { testProblem } from '../reference/testing/testProblem.js';

const base = fixture();

function input(f: Fixture, o: Observed, referenceForIds: ReferenceForIds, over: Partial<JudgeInput> = {}): JudgeInput {
  return {
    kernel: 'test', expected: f.expected, runs: [o, o], poison: POISON, digests: ['d', 'd'], model: f.model,
    context: { tactic: '8/0', seed: f.c.spec.seed }, referenceForIds, ...over,
  };
}

const never: ReferenceForIds = () => Promise.reject(new Error('referenceForIds must not be called'));
const forcedOracle = (f: Fixture): ReferenceForIds => (ids) => Promise.resolve(runOracle64(f.c, { forcedIds: ids, fc1RelativeError: f.model.fc1RelativeError }));

test('a kernel that chose the reference\'s expert sets is judged from Expected alone (no recomputation)', async (t) => {
  const v = await judge(input(base, perfectObserved(base.expected), never));
  t.is(v.disposition, 'passed');
});

test('another expert set triggers exactly one recomputation, with the kernel\'s ids', async (t) => {
  const { topK: k } = base.c.spec.problem;
  const ids = wrongExpertIds(base);
  const forced = runOracle64(base.c, { forcedIds: ids, fc1RelativeError: base.model.fc1RelativeError });
  const o: Observed = { output: Uint16Array.from(forced.outputBf16), ids, weights: Float32Array.from(forced.routing.weights), executedTactic: '8/0' };
  const calls: Int32Array[] = [];
  const v = await judge(input(base, o, (x) => { calls.push(x); return Promise.resolve(forced); }));
  t.is(calls.length, 1);
  t.deepEqual(Array.from(calls[0]!.subarray(0, k)), Array.from(ids.subarray(0, k)));
  t.is(v.disposition, 'incorrect');
  t.is(v.counts.routing, 1);
  t.is(v.counts.beyond_bound, 0);
});

test('an exception inside judging is a harness error, never an incorrect verdict', async (t) => {
  const ids = Int32Array.from(base.expected.routing.ids);
  [ids[0], ids[2]] = [ids[2]!, ids[0]!]; // tokens 0 and 1 swap their first experts: another set
  const o: Observed = { ...perfectObserved(base.expected), ids };
  const v = await judge(input(base, o, () => Promise.reject(new Error('reference exploded'))));
  t.is(v.disposition, 'error');
  t.regex(v.lines[0]!, /^judge=no verdict, reference a verdict \(harness error: reference exploded; tactic 8\/0; seed \d+\)$/);
  // A reference without the full analysis cannot judge: also the harness's fault.
  const outputOnly = { ...base.expected, analysis: 'output' as const };
  const v2 = await judge(input(base, perfectObserved(base.expected), never, { expected: outputOnly }));
  t.is(v2.disposition, 'error');
  t.regex(v2.lines[0]!, /analysis 'output'/);
});

test('results of the wrong shape or type are the kernel\'s fault: incorrect (malformed)', async (t) => {
  const o = perfectObserved(base.expected);
  const short = await judge(input(base, { ...o, output: o.output.subarray(1) }, never));
  t.is(short.disposition, 'incorrect');
  t.regex(short.lines[0]!, /output has \d+ elements, expected \d+/);
  const typed = await judge(input(base, { ...o, weights: new Float64Array(o.weights) as unknown as Float32Array }, never));
  t.regex(typed.lines[0]!, /weights is Float64Array, expected Float32Array/);
});

test('deepseek_v3: keeping the higher of two groups with identical inputs is a routing finding (group_ties_high_index)', async (t) => {
  for (let seed = 1; seed < 60; seed++) {
    const f = fixture({
      seed, logitFamily: 'group_ties',
      problem: { E: 16, localExperts: 16, topK: 4, T: 4, biasDtype: 'float32', routing: { method: 'deepseek_v3', nGroup: 4, topkGroup: 2, routedScalingFactor: 2.5 } },
    });
    const faulty = emulatedRouting(f.input, 'group_ties_high_index');
    const ref = f.expected.routing.ids;
    if (faulty.ids.every((id, i) => id === ref[i])) continue;
    const forced = runOracle64(f.c, { forcedIds: faulty.ids, fc1RelativeError: f.model.fc1RelativeError });
    const o: Observed = { output: Uint16Array.from(forced.outputBf16), ids: faulty.ids, weights: Float32Array.from(forced.routing.weights), executedTactic: '8/0' };
    const v = await judge(input(f, o, () => Promise.resolve(forced)));
    t.is(v.disposition, 'incorrect');
    t.true(v.counts.routing >= 1);
    t.regex(v.lines[0]!, /^ids\[t=\d+\]=.*exact group tie/);
    // The correct kernel's choice on the same case passes.
    t.is((await judge(input(f, perfectObserved(f.expected), never))).disposition, 'passed');
    return;
  }
  t.fail('no group_ties case where the fault changes the choice');
});

test('huge topk logits with decades scales (outputs overflowing to Inf) raise no false alarm on the correct kernel', async (t) => {
  // `moe-harness check --kernel emulated --routing topk --logits huge --scales decades --runs 20`
  const cases = caseMix({ runs: 20, seed: 1, routing: ['topk'], logitFamilies: ['huge'], scaleFamilies: ['decades'] }).map((spec) => ({ spec }));
  const r = await runCampaign(cases, { kernel: { kind: 'emulated' }, isolation: 'inline' });
  t.deepEqual(r.records.filter((x) => x.disposition !== 'passed').map((x) => `${x.problem} ${x.tactic}: ${x.verdict.lines[0]}`), []);
});

test('a reference that is NaN (slot terms overflowing float32 in both directions) is counted apart, not blamed on a correct kernel', async (t) => {
  // Found by the 10,000-case huge × decades run (mix seed 2, case 481).
  const spec = {
    problem: testProblem({ T: 13, I: 128, topK: 3, routing: { method: 'topk' } }),
    seed: 1580701088, logitFamily: 'huge' as const, scaleFamily: 'decades' as const,
  };
  const r = await runCampaign([{ spec }], { kernel: { kind: 'emulated' }, isolation: 'inline' });
  t.true(r.records.length > 0);
  t.deepEqual(r.records.filter((x) => x.disposition !== 'passed').map((x) => `${x.tactic}: ${x.verdict.lines[0]}`), []);
  t.true(r.records.every((x) => x.verdict.counts.overflow_undefined > 0));
});

test('a reference that overflowed to -Inf while a truncating tactic stayed finite is counted apart, not blamed on a correct kernel', async (t) => {
  // Found by the 10,000-case huge × decades run (mix seed 3, case 641: tactics x/2 gave -2.63e38).
  const spec = {
    problem: testProblem({ T: 64, I: 128, topK: 3, routing: { method: 'topk' } }),
    seed: 811779229, logitFamily: 'huge' as const, scaleFamily: 'decades' as const,
  };
  const r = await runCampaign([{ spec }], { kernel: { kind: 'emulated' }, isolation: 'inline' });
  t.deepEqual(r.records.filter((x) => x.disposition !== 'passed').map((x) => `${x.tactic}: ${x.verdict.lines[0]}`), []);
  t.true(r.records.some((x) => x.verdict.counts.overflow_undefined > 0));
});

test('the tactic echo and the provider\'s violations are judged first: incorrect, naming the kernel, never compared', async (t) => {
  const o = perfectObserved(base.expected);
  const fellBack = await judge(input(base, o, never, { runs: [o, { ...o, executedTactic: '16/1' }] }));
  t.is(fellBack.disposition, 'incorrect');
  t.is(fellBack.findings.length, 1);
  t.regex(fellBack.lines[0]!, /^tactic=run 2: kernel test was forced to tactic 8\/0 but reports executing "16\/1"/);
  const silent = await judge(input(base, { ...o, executedTactic: 'none' }, never));
  t.regex(silent.lines[0]!, /run 1: kernel test was forced to tactic 8\/0 but executed no tactic it would name/);
  // What the provider saw comes before the shape checks (its arrays may be partial).
  const seen = await judge(input(base, { ...o, output: new Uint16Array(0), violations: ['adapter x returned output as F32[2, 4], expected BF16[2, 4]'] }, never));
  t.is(seen.disposition, 'incorrect');
  t.regex(seen.lines[0]!, /^results=run 1: adapter x returned output as F32/);
});
