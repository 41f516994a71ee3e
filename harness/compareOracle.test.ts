/**
 * compare() (with its fast paths: later runs bitwise identical to run 1 read by one memcmp,
 * the element loop on tables) against compareOracle() (the comparator as first written, one
 * plain pass over every element of every run): the same Verdict, field for field, as JSON,
 * on the emulated kernel's real runs under every fault of harness/faults.ts and on runs
 * mutated to reach every branch (poison, nondeterminism in output/ids/weights of any run,
 * NaN/Inf outputs, beyond-bound and flip-explained elements, a convention bound, inputs
 * modified, 2 to 4 runs).
 */
import test from 'ava';
import type { Case } from '../reference/case.js';
import type { Expected } from '../reference/expected.js';
import { f32ToBf16 } from '../reference/formats/bf16.js';
import { runOracle64 } from '../reference/oracle64.js';
import { caseMix, SCENARIOS } from './caseMix.js';
import { POISON, type TacticOutcome } from './caseRunner.js';
import { compare, type CompareInput } from './compare.js';
import { compareOracle } from './compareOracle.js';
import { errorModel } from './errorModel.js';
import { FAULT_NAMES, type FaultName } from './faults.js';
import { InlineRunner } from './inlineRunner.js';
import type { Observed } from './kernels/kernel.js';
import { createKernel } from './kernels/select.js';
import { referenceFor } from './referenceFor.js';
import { forcedIdsFor, unusableRows } from './routingJudge.js';
import { fixture, perfectObserved, type Fixture } from './testing.js';

type Runs = CompareInput['runs'];

/** Both comparators on the same input: identical JSON (and both throw alike), returned for further checks. */
function same(t: { deepEqual: (a: unknown, b: unknown, m?: string) => void }, input: CompareInput, what: string): ReturnType<typeof compare> {
  const fast = compare(input);
  const slow = compareOracle(input);
  t.deepEqual(JSON.parse(JSON.stringify(fast)), JSON.parse(JSON.stringify(slow)), what);
  // JSON drops -0/NaN distinctions and undefined: compare those fields directly too.
  t.deepEqual(fast, slow, `${what} (structurally)`);
  return fast;
}

/** The reference compare() is given for the kernel's ids, as judge.ts computes it. */
async function referenceForRun(c: Case, expected: Expected, run: Observed): Promise<Expected | null> {
  const p = expected.problem;
  const forced = forcedIdsFor(expected.routing.ids, run.ids, unusableRows(run.ids, p.T, p.topK, p.E), p.topK);
  return forced === null ? null : referenceFor(c, errorModel(p), { forcedIds: forced });
}

/** Every scenario of the mix once (ties, groups, expert slices, each quant mode ...). */
const SPECS = caseMix({ runs: SCENARIOS.length, seed: 4242 });

/** Faults whose effect these cases must show (so that the incorrect paths are compared, not only passes). */
const MUST_SHOW: Partial<Record<FaultName, keyof ReturnType<typeof compare>['counts']>> = {
  gate_up_swapped: 'beyond_bound', nondeterministic_finalize: 'nondeterministic', last_row_unwritten: 'poison',
};

for (const fault of [undefined, ...FAULT_NAMES] as Array<FaultName | undefined>) {
  test(`the emulated kernel's runs${fault ? ` under fault ${fault}` : ''}: compare() and compareOracle() give the same verdicts`, async (t) => {
    const runner = new InlineRunner(await createKernel({ kind: 'emulated', ...(fault ? { fault } : {}) }), 3);
    let judged = 0;
    const seen = new Map<string, number>(); // disposition and count kinds met, for the log and MUST_SHOW
    try {
      for (const spec of SPECS) {
        const { generateCase } = await import('../reference/generate.js');
        const c = generateCase(spec);
        const model = errorModel(spec.problem);
        const expected = await referenceFor(c, model);
        const outcomes: TacticOutcome[] = [];
        await runner.runCase(c, ['*/0'], (o) => outcomes.push(o));
        for (const o of outcomes) {
          if (o.kind !== 'ran') continue;
          const referenceForIds = await referenceForRun(c, expected, o.runs[0]);
          const base: CompareInput = { reference: expected, referenceForIds, runs: o.runs, poison: POISON, digests: o.digests, model, context: { tactic: o.tactic.label, seed: spec.seed } };
          const v = same(t, base, `${spec.problem.name ?? 'mix'} seed ${spec.seed} tactic ${o.tactic.label}`);
          for (const key of [v.disposition, ...Object.entries(v.counts).filter(([, n]) => n > 0).map(([kind]) => kind)]) seen.set(key, (seen.get(key) ?? 0) + 1);
          // The same runs with only two of them, and with run 3 first (its differences then lead).
          same(t, { ...base, runs: [o.runs[0], o.runs[1]] }, 'two runs');
          if (o.runs.length > 2) same(t, { ...base, runs: [o.runs[2]!, o.runs[1], o.runs[0]] }, 'runs reversed');
          judged++;
        }
      }
    } finally {
      await runner.close();
    }
    t.true(judged > 0, 'some tactic ran');
    t.log(`${judged} tactic outcomes: ${[...seen].map(([k, n]) => `${k} ${n}`).join(', ')}`);
    const must = fault ? MUST_SHOW[fault] : undefined;
    if (must !== undefined) t.true((seen.get(must) ?? 0) > 0, `fault ${fault} shows ${must}`);
  });
}

/** n copies of a run. */
const copies = (o: Observed, n: number): Runs => Array.from({ length: n }, () => ({
  ...o, output: Uint16Array.from(o.output), ids: Int32Array.from(o.ids), weights: Float32Array.from(o.weights),
})) as unknown as Runs;

function input(f: Fixture, runs: Runs, over: Partial<CompareInput> = {}): CompareInput {
  return { reference: f.expected, referenceForIds: null, runs, poison: POISON, digests: ['d', 'd'], model: f.model, context: { tactic: '8/0', seed: f.c.spec.seed }, ...over };
}

test('mutated runs reach every branch alike: poison, nondeterminism in any run, non-finite, beyond bound, inputs modified', (t) => {
  const f = fixture({ problem: { T: 6 } });
  const { H, topK: k } = f.c.spec.problem;
  const perfect = perfectObserved(f.expected);
  const n = f.expected.outputBf16.length;
  const kinds = new Set<string>();
  const check = (runs: Runs, what: string, over: Partial<CompareInput> = {}): void => {
    const v = same(t, input(f, runs, over), what);
    for (const [kind, count] of Object.entries(v.counts)) if (count > 0) kinds.add(kind);
  };
  check(copies(perfect, 2), 'identical, 2 runs');
  check(copies(perfect, 4), 'identical, 4 runs');
  check(copies(perfect, 3), 'poison equal in both patterns', { poison: [0x7fa5, 0x7fa5] });
  {
    const r = copies(perfect, 3);
    r[0].output.fill(POISON[0], H, 2 * H - 3); r[1].output.fill(POISON[1], H, 2 * H - 3); r[2]!.output.fill(POISON[0], H, 2 * H - 3);
    check(r, 'a row left unwritten');
  }
  for (const which of [1, 2, 3]) {
    const r = copies(perfect, 4);
    r[which]!.output[which * 5] ^= 1;
    r[which]!.output[n - 1] ^= 0x40;
    check(r, `run ${which + 1} differs in two outputs`);
    const ids = copies(perfect, 4);
    [ids[which]!.ids[k], ids[which]!.ids[k + 1]] = [ids[which]!.ids[k + 1]!, ids[which]!.ids[k]!];
    check(ids, `run ${which + 1} differs in ids`);
    const w = copies(perfect, 4);
    w[which]!.weights[2 * k] = Math.fround(w[which]!.weights[2 * k]! * (1 + 2 ** -20));
    check(w, `run ${which + 1} differs in weights`);
  }
  {
    const r = copies(perfect, 3);
    for (const o of r) { o.output[0] = 0x7fc0; o.output[1] = 0x7f80; o.output[2] = 0xff80; o.output[3] = 0x7fa1; }
    check(r, 'NaN, +Inf, -Inf, a NaN payload');
  }
  {
    // Beyond bound in many elements (more than the findings kept), by growing amounts; flips and 0.
    const r = copies(perfect, 3);
    for (let i = 0; i < n; i += 3) {
      const bumped = f32ToBf16(f.expected.outputF32[i]! * (1 + (i % 7) / 4) + (i % 5) * 0.01);
      for (const o of r) o.output[i] = bumped;
    }
    for (const o of r) o.output[4] = 0x0000;
    check(r, 'beyond bound, many elements');
    check(r, 'beyond bound, inputs modified', { digests: ['a', 'b'] });
    check(r, 'with a convention bound', { reference: { ...f.expected, conventionBound: Float32Array.from(f.expected.absAccum, (x, i) => (i % 2 === 0 ? x * 2 ** -6 : 0)) } });
    // A fragile row: some differences explained by a flip allowance.
    const fragile = { ...f.expected, fragileTokens: Uint8Array.from(f.expected.fragileTokens, (_, tk) => (tk % 2 === 0 ? 1 : 0)), flipAllowance: Float32Array.from(f.expected.outputF32, (x) => Math.abs(x) * 0.5) };
    check(r, 'flip-explained elements in fragile rows', { reference: fragile });
  }
  for (const kind of ['poison', 'nondeterministic', 'nonfinite', 'beyond_bound', 'flip_explained', 'inputs_modified']) t.true(kinds.has(kind), `some case counted ${kind}`);
});

test('a reference recomputed for other ids, with unusable rows: the same verdicts', (t) => {
  const f = fixture({ problem: { T: 5 } });
  const { topK: k, E } = f.c.spec.problem;
  const perfect = perfectObserved(f.expected);
  const ids = Int32Array.from(f.expected.routing.ids);
  ids[0] = E + 3; // unusable row 0
  ids[k + 1] = ids[k]!; // duplicated in row 1: unusable
  const forced = forcedIdsFor(f.expected.routing.ids, ids, unusableRows(ids, 5, k, E), k);
  const other = runOracle64(f.c, { forcedIds: forced ?? f.expected.routing.ids, fc1RelativeError: f.model.fc1RelativeError });
  const runs = copies({ ...perfect, ids }, 3);
  same(t, input(f, runs, { referenceForIds: other }), 'unusable rows, recomputed reference');
  same(t, input(f, runs), 'unusable rows');
});
