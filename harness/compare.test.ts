import test from 'ava';
import { bf16ToF32, f32ToBf16 } from '../reference/formats/bf16.js';
import { runOracle64 } from '../reference/oracle64.js';
import { compare, type CompareInput } from './compare.js';
import { POISON } from './caseRunner.js';
import { elementBound } from './errorModel.js';
import type { Observed } from './kernels/kernel.js';
import { fixture, perfectObserved, wrongExpertIds, type Fixture } from './testing.js';

const base = fixture();
const GRAMMAR = /^\S+=.+, reference .+ \(.+; tactic 8\/0; seed \d+\)$/;

function input(f: Fixture, o1: Observed, o2: Observed = o1, over: Partial<CompareInput> = {}): CompareInput {
  return {
    reference: f.expected, referenceForIds: null, runs: [o1, o2], poison: POISON,
    digests: ['d', 'd'], model: f.model, context: { tactic: '8/0', seed: f.c.spec.seed }, ...over,
  };
}

/** The bf16 value `m` ulps above bits b (same sign direction). */
const stepBits = (b: number, m: number): number => b + m;

test('a perfect kernel passes with every count zero and the worst element within its bound', (t) => {
  const v = compare(input(base, perfectObserved(base.expected)));
  t.is(v.disposition, 'passed');
  t.true(Object.values(v.counts).every((n) => n === 0));
  t.truthy(v.worst);
  t.true(v.worst!.ratio <= 1);
  t.is(v.histogram.reduce((a, b) => a + b, 0), base.c.spec.problem.T * base.c.spec.problem.H);
});

test('an element a few ulps off is beyond_bound, reported in the grammar with the worst element first', (t) => {
  const o = perfectObserved(base.expected);
  const { H } = base.c.spec.problem;
  const i = 3 * H + 17;
  o.output[i] = stepBits(o.output[i]!, 4);
  const j = 5 * H + 2;
  o.output[j] = stepBits(o.output[j]!, 40);
  const v = compare(input(base, o));
  t.is(v.disposition, 'incorrect');
  t.is(v.counts.beyond_bound, 2);
  const first = v.lines.find((l) => l.startsWith('out['))!;
  t.regex(first, /^out\[t=5,h=2\]=/);
  t.regex(first, GRAMMAR);
  t.regex(first, /bound [\d.e-]+/);
  t.is(v.worst!.t, 5);
  t.true(v.worst!.ratio > 1);
});

test('many elements beyond the bound: counts complete, five findings kept, the worst one first even when found after the first five', (t) => {
  const o = perfectObserved(base.expected);
  const { T, H } = base.c.spec.problem;
  // Every element of rows 0..3 off by 8 ulps, and one element of the last row off by 60: the
  // worst, found after the kept five.
  for (let i = 0; i < 4 * H; i++) o.output[i] = stepBits(o.output[i]!, 8);
  const w = (T - 1) * H + 3;
  o.output[w] = stepBits(o.output[w]!, 60);
  const v = compare(input(base, o));
  t.is(v.counts.beyond_bound + v.counts.flip_explained, 4 * H + 1);
  const beyond = v.lines.filter((l) => l.startsWith('out['));
  t.is(beyond.length, 5);
  t.regex(beyond[0]!, new RegExp(`^out\\[t=${T - 1},h=3\\]=`));
  t.true(beyond.every((l) => GRAMMAR.test(l)));
  t.is(v.worst!.t, T - 1);
  t.is(v.worst!.h, 3);
  // The other four are the first ones found, in element order.
  t.deepEqual(beyond.slice(1).map((l) => /^out\[t=(\d+),h=(\d+)\]/.exec(l)!.slice(1).map(Number)), [[0, 0], [0, 1], [0, 2], [0, 3]].slice(0, 4));
});

test('the bound admits exactly the bf16 neighbours its derivation allows', (t) => {
  const o = perfectObserved(base.expected);
  const i = 11;
  const ref = base.expected.outputF32[i]!;
  // The largest bf16 step that stays within the bound passes; one more step fails.
  let m = 0;
  while (Math.abs(bf16ToF32(stepBits(o.output[i]!, m + 1)) - ref) <= elementBound(base.model, base.expected.absAccum[i]!, bf16ToF32(stepBits(o.output[i]!, m + 1)))) m++;
  o.output[i] = stepBits(base.expected.outputBf16[i]!, m);
  t.is(compare(input(base, o)).disposition, 'passed');
  o.output[i] = stepBits(base.expected.outputBf16[i]!, m + 1);
  t.is(compare(input(base, o)).counts.beyond_bound, 1);
});

test('an unwritten row shows as poison (both patterns), not as non-finite', (t) => {
  const { T, H } = base.c.spec.problem;
  const o1 = perfectObserved(base.expected);
  const o2 = perfectObserved(base.expected);
  o1.output.fill(POISON[0], (T - 1) * H);
  o2.output.fill(POISON[1], (T - 1) * H);
  const v = compare(input(base, o1, o2));
  t.is(v.disposition, 'incorrect');
  t.is(v.counts.poison, H);
  t.is(v.counts.nonfinite, 0);
  t.regex(v.lines.find((l) => l.includes('poison'))!, new RegExp(`^out\\[t=${T - 1},h=\\*\\]=poison 0x7fa5 \\(run 1\\) / 0xffc3 \\(run 2\\) in ${H} of ${H} elements`));
});

test('NaN and Inf outputs are rejected outright, whatever the bound', (t) => {
  const o = perfectObserved(base.expected);
  o.output[0] = 0x7fc0;
  o.output[1] = 0xff80;
  const v = compare(input(base, o));
  t.is(v.counts.nonfinite, 2);
  t.is(v.disposition, 'incorrect');
  t.regex(v.lines.find((l) => l.startsWith('out[t=0,h=1]'))!, /=-Inf \(0xff80\), reference/);
});

test('two runs that differ bitwise are nondeterministic, even within the bound', (t) => {
  const o1 = perfectObserved(base.expected);
  const o2 = perfectObserved(base.expected);
  o2.output[5] = f32ToBf16(bf16ToF32(o2.output[5]!)); // same value: still deterministic
  t.is(compare(input(base, o1, o2)).disposition, 'passed');
  o2.output[5] = o2.output[5]! ^ 1;
  const v = compare(input(base, o1, o2));
  t.is(v.counts.nondeterministic, 1);
  t.is(v.disposition, 'incorrect');
  const w = Float32Array.from(o1.weights);
  w[0] = Math.fround(w[0]! * (1 + 2 ** -22));
  t.is(compare(input(base, o1, { ...o1, weights: w })).counts.nondeterministic, 1);
});

test('a third run that differs from run 1 (runs 1 and 2 equal) is nondeterministic and named', (t) => {
  const o1 = perfectObserved(base.expected);
  const o3 = perfectObserved(base.expected);
  t.is(compare(input(base, o1, o1, { runs: [o1, o1, o3] })).disposition, 'passed');
  o3.output[7] = o3.output[7]! ^ 1;
  const v = compare(input(base, o1, o1, { runs: [o1, o1, o1, o3] }));
  t.is(v.counts.nondeterministic, 1);
  t.is(v.disposition, 'incorrect');
  t.regex(v.lines.find((l) => l.startsWith('out[t=0,h=7]'))!, /in run 4, reference .* in run 1 \(output differs between runs on identical inputs \(4 runs\)/);
  const ids = Int32Array.from(o1.ids);
  [ids[0], ids[1]] = [ids[1]!, ids[0]!];
  const r = compare(input(base, o1, o1, { runs: [o1, o1, { ...o1, ids }] }));
  t.true(r.counts.nondeterministic >= 1);
  t.true(r.lines.some((l) => /^ids\/weights\[t=0\]=run 3 ids/.test(l)));
});

test('changed inputs are reported', (t) => {
  const v = compare(input(base, perfectObserved(base.expected), undefined, { digests: ['aaaa', 'bbbb'] }));
  t.is(v.counts.inputs_modified, 1);
  t.regex(v.lines[0]!, /^inputs=digest bbbb, reference digest aaaa/);
});

test('a wrong expert choice is a routing finding; the output is then judged against the reference for those ids', (t) => {
  const ids = wrongExpertIds(base);
  const forced = runOracle64(base.c, { forcedIds: ids, fc1RelativeError: base.model.fc1RelativeError });
  const o: Observed = { output: Uint16Array.from(forced.outputBf16), ids, weights: Float32Array.from(forced.routing.weights), executedTactic: 'test' };
  const v = compare(input(base, o, o, { referenceForIds: forced }));
  t.is(v.counts.routing, 1);
  t.is(v.counts.beyond_bound, 0);
  t.regex(v.lines[0]!, /^ids\[t=0\]=\[\d+,\d+\], reference \[\d+,\d+\] \(token 0: .*beyond tolerance/);
  // Judged against the case's own reference instead, the same output is far off.
  t.true(compare(input(base, o, o, { referenceForIds: null })).counts.routing >= 1);
});

test('ids outside [0, E) are routing findings and their rows are not value-judged', (t) => {
  const o = perfectObserved(base.expected);
  o.ids[0] = -1;
  const v = compare(input(base, o));
  t.is(v.counts.routing, 1);
  t.regex(v.lines[0]!, /outside \[0, E=8\)/);
});

test('wrong routing weights are routing findings', (t) => {
  const o = perfectObserved(base.expected);
  o.weights[3] = Math.fround(o.weights[3]! * (1 + 1e-4));
  const v = compare(input(base, o));
  t.is(v.counts.routing, 1);
  t.regex(v.lines[0]!, /^weights\[t=1,j=1\]=/);
  const ok = perfectObserved(base.expected);
  ok.weights[3] = Math.fround(ok.weights[3]! * (1 + 2 ** -22)); // a few ulps: within tolerance
  t.is(compare(input(base, ok)).disposition, 'passed');
});

test('slot order alone is not a routing difference', (t) => {
  const { T, topK: k } = base.c.spec.problem;
  const o = perfectObserved(base.expected);
  for (let r = 0; r < T; r++) {
    [o.ids[r * k], o.ids[r * k + 1]] = [o.ids[r * k + 1]!, o.ids[r * k]!];
    [o.weights[r * k], o.weights[r * k + 1]] = [o.weights[r * k + 1]!, o.weights[r * k]!];
  }
  t.is(compare(input(base, o)).disposition, 'passed');
});

test('an exact tie between identical inputs must go to the lower index', (t) => {
  // Find a ties case where a chosen expert has an unchosen twin (same logit) of higher index.
  for (let seed = 1; seed < 40; seed++) {
    const f = fixture({ seed, logitFamily: 'ties', problem: { topK: 3, T: 5 } });
    const { T, E, topK: k } = f.c.spec.problem;
    for (let r = 0; r < T; r++) {
      const chosen = Array.from(f.expected.routing.ids.subarray(r * k, (r + 1) * k));
      for (const [j, a] of chosen.entries()) {
        for (let b = a + 1; b < E; b++) {
          if (chosen.includes(b) || f.input.logits[r * E + b] !== f.input.logits[r * E + a]) continue;
          const ids = Int32Array.from(f.expected.routing.ids);
          ids[r * k + j] = b;
          const forced = runOracle64(f.c, { forcedIds: ids, fc1RelativeError: f.model.fc1RelativeError });
          const o: Observed = { output: Uint16Array.from(forced.outputBf16), ids, weights: Float32Array.from(forced.routing.weights), executedTactic: 'test' };
          const v = compare(input(f, o, o, { referenceForIds: forced }));
          t.is(v.counts.routing, 1);
          t.regex(v.lines[0]!, new RegExp(`expert ${b} chosen over expert ${a} with identical inputs .*the lower index must win`));
          return;
        }
      }
    }
  }
  t.fail('no tie found');
});

test('a difference explained by a re-quantization flip is counted apart and passes; too many flipped rows fail', (t) => {
  // bf16 re-quantization (mxfp4_bf16) makes fragile elements common.
  for (let seed = 1; seed < 30; seed++) {
    const f = fixture({ seed, problem: { quantMode: 'mxfp4_bf16', T: 16, H: 64, I: 64 } });
    const { T, H } = f.c.spec.problem;
    const e = f.expected;
    const flipRows: number[] = [];
    const o = perfectObserved(e);
    for (let r = 0; r < T; r++) {
      if (!e.fragileTokens[r]) continue;
      for (let h = 0; h < H; h++) {
        const i = r * H + h;
        for (let m = 1; m < 64; m++) {
          const bits = stepBits(e.outputBf16[i]!, m);
          const v = bf16ToF32(bits);
          const d = Math.abs(v - e.outputF32[i]!);
          const b = elementBound(f.model, e.absAccum[i]!, v);
          if (d > b && d <= b + e.flipAllowance[i]!) {
            o.output[i] = bits;
            flipRows.push(r);
            break;
          }
          if (d > b + e.flipAllowance[i]!) break;
        }
        if (flipRows.at(-1) === r) break;
      }
    }
    const budget = Math.ceil(f.model.flipRowFraction * T);
    if (flipRows.length <= budget) continue;
    // Within the budget: passed, with flip_explained counted.
    const within = perfectObserved(e);
    for (const r of flipRows.slice(0, budget)) for (let h = 0; h < H; h++) within.output[r * H + h] = o.output[r * H + h]!;
    const v1 = compare(input(f, within));
    t.is(v1.disposition, 'passed');
    t.is(v1.counts.flip_explained, budget);
    t.is(v1.counts.beyond_bound, 0);
    // Beyond the budget: a flip_budget finding.
    const v2 = compare(input(f, o));
    t.is(v2.disposition, 'incorrect');
    t.is(v2.counts.flip_explained, flipRows.length);
    t.truthy(v2.lines.find((l) => l.startsWith('rows=') && l.includes('flip-explained')));
    return;
  }
  t.fail('no case with enough fragile rows found');
});

test('results of the wrong shape or type are rejected with a message', (t) => {
  const o = perfectObserved(base.expected);
  t.throws(() => compare(input(base, { ...o, output: o.output.subarray(1) })), { message: /output has \d+ elements, expected \d+/ });
  t.throws(() => compare(input(base, { ...o, weights: new Float64Array(o.weights) as unknown as Float32Array })), { message: /weights is Float64Array, expected Float32Array/ });
});

/** base with element i's reference value and absAccum replaced (everything else as computed). */
function withReference(i: number, ref: number, absAccum: number): Fixture {
  const outputF32 = Float32Array.from(base.expected.outputF32);
  const abs = Float32Array.from(base.expected.absAccum);
  outputF32[i] = ref;
  abs[i] = absAccum;
  return { ...base, expected: { ...base.expected, outputF32, absAccum: abs } };
}

test('overflow: an infinite output where the reference overflows bf16 the same way is correct; every other non-finite value is rejected', (t) => {
  const i = 7;
  const POS_INF = 0x7f80;
  const NEG_INF = 0xff80;
  const judgeOut = (f: Fixture, bits: number) => {
    const o = perfectObserved(f.expected);
    o.output[i] = bits;
    return compare(input(f, o));
  };
  // The reference's float32 value is beyond the threshold (3.5e38 > 3.396e38) or itself overflowed.
  for (const [ref, abs] of [[3.5e38, 1e36], [Infinity, Infinity]] as const) {
    const f = withReference(i, ref, abs);
    const v = judgeOut(f, POS_INF);
    t.is(v.disposition, 'passed', `ref ${ref}: ${v.lines.join(' | ')}`);
    t.is(v.counts.nonfinite, 0);
    // The opposite infinity and NaN stay wrong.
    t.is(judgeOut(f, NEG_INF).counts.nonfinite, 1);
    t.is(judgeOut(f, 0x7fc0).counts.nonfinite, 1);
  }
  // A finite reference inside the threshold by more than its bound: Inf is wrong.
  const inside = withReference(i, 1e38, 1e36);
  const v = judgeOut(inside, POS_INF);
  t.is(v.counts.nonfinite, 1);
  t.regex(v.lines[0]!, /^out\[t=0,h=7\]=Inf \(0x7f80\), reference 1e\+38 \(non-finite output: the reference does not overflow bf16 this way within its bound/);
  // A negative reference beyond the threshold accepts -Inf only.
  const neg = withReference(i, -3.5e38, 1e36);
  t.is(judgeOut(neg, NEG_INF).disposition, 'passed');
  t.is(judgeOut(neg, POS_INF).counts.nonfinite, 1);
});

test('where the reference itself is NaN (its float32 arithmetic met Inf − Inf) the element is counted apart as overflow_undefined, whatever the output', (t) => {
  const i = 9;
  const f = withReference(i, NaN, Infinity);
  for (const bits of [0x7fc0, 0x7f80, 0xff80, base.expected.outputBf16[i]!]) {
    const o = perfectObserved(f.expected);
    o.output[i] = bits;
    const v = compare(input(f, o));
    t.is(v.disposition, 'passed');
    t.is(v.counts.overflow_undefined, 1);
    t.is(v.counts.nonfinite + v.counts.beyond_bound, 0);
  }
  // A NaN output where the reference is finite stays wrong.
  const o = perfectObserved(base.expected);
  o.output[i] = 0x7fc0;
  t.is(compare(input(base, o)).counts.nonfinite, 1);
});

test('a reference that overflowed float32 (±Inf, absAccum Inf) cannot judge a finite output of the same sign: counted apart; the other sign fails', (t) => {
  const i = 10;
  const f = withReference(i, -Infinity, Infinity);
  const judgeOut = (bits: number) => {
    const o = perfectObserved(f.expected);
    o.output[i] = bits;
    return compare(input(f, o));
  };
  const saturated = judgeOut(0xff46); // -2.63e38: a truncating accumulator stayed finite
  t.is(saturated.disposition, 'passed');
  t.is(saturated.counts.overflow_undefined, 1);
  t.is(judgeOut(0x7f46).counts.beyond_bound, 1, 'opposite sign');
  t.is(judgeOut(0xff80).counts.overflow_undefined + judgeOut(0xff80).counts.nonfinite, 0, 'the same infinity: judged correct');
  t.is(judgeOut(0x7fc0).counts.nonfinite, 1, 'NaN');
  // With a finite absAccum the reference's infinity still judges a finite output (beyond bound).
  t.is(compare(input(withReference(i, -Infinity, 1), perfectObserved(withReference(i, -Infinity, 1).expected))).counts.beyond_bound, 1);
});

test('later runs: identical ones add nothing; one that differs is still read in full (nondeterminism named with its run, poison left by run 2)', (t) => {
  const { H } = base.c.spec.problem;
  const copy = (o: Observed): Observed => ({ ...o, output: Uint16Array.from(o.output), ids: Int32Array.from(o.ids), weights: Float32Array.from(o.weights) });
  const o = perfectObserved(base.expected);
  const three = (r2: Observed, r3: Observed): CompareInput => ({ ...input(base, o, r2), runs: [o, r2, r3] });
  const same = compare(three(copy(o), copy(o)));
  t.deepEqual(same, compare(input(base, o)), 'two identical later runs judge as run 1 alone');
  // Run 3 differs in one element (run 2 identical): counted once, named "in run 3".
  const r3 = copy(o);
  r3.output[2 * H + 1] = r3.output[2 * H + 1]! ^ 1;
  const v = compare(three(copy(o), r3));
  t.is(v.counts.nondeterministic, 1);
  t.regex(v.lines.find((l) => l.startsWith('out[t=2,h=1]'))!, /in run 3, reference .* in run 1 \(output differs between runs on identical inputs \(3 runs\)/);
  // Run 1 and run 2 both left row 1 unwritten (each its own pattern), run 3 identical to run 2 there.
  const p1 = copy(o); const p2 = copy(o); const p3 = copy(o);
  p1.output.fill(POISON[0], H, 2 * H); p2.output.fill(POISON[1], H, 2 * H); p3.output.fill(POISON[1], H, 2 * H);
  const pv = compare({ ...input(base, p1, p2), runs: [p1, p2, p3] });
  t.is(pv.counts.poison, H);
  t.true(pv.lines.some((l) => l.startsWith('out[t=1,h=*]=poison')));
  // Run 3 differs from run 1 only in weights: a nondeterministic routing row.
  const w3 = copy(o);
  w3.weights[0] = Math.fround(w3.weights[0]! * 1.5);
  const wv = compare(three(copy(o), w3));
  t.is(wv.counts.nondeterministic, 1);
  t.regex(wv.lines[0]!, /^ids\/weights\[t=0\]=run 3 ids/);
});
