import test from 'ava';
import { POISON } from '../caseRunner.js';
import { compare } from '../compare.js';
import { unusableRows } from '../routingJudge.js';
import { fixture, perfectObserved } from '../testing.js';
import { f32ToBf16 } from '../../reference/formats/bf16.js';
import type { Observed } from '../kernels/kernel.js';
import { cellLevel, cellSpan, errorMapOf, ERROR_LEVELS, FIRST_BEYOND_LEVEL, followingExperts, levelOf, MAX_COLS, MAX_ROWS, POISON_LEVEL } from './errorMap.js';

const copy = (o: Observed): Observed => ({ output: Uint16Array.from(o.output), ids: Int32Array.from(o.ids), weights: Float32Array.from(o.weights), executedTactic: o.executedTactic });

test('levels follow the histogram bins and go on beyond the bound', (t) => {
  t.is(ERROR_LEVELS.length, 15);
  t.is(levelOf(0, 'within'), 1);
  t.is(levelOf(2 ** -8, 'within'), 2);
  t.is(levelOf(0.3, 'within'), 6);
  t.is(levelOf(1, 'within'), 7);
  t.is(levelOf(1.5, 'flip_explained'), 8);
  t.is(levelOf(1.5, 'beyond_bound'), FIRST_BEYOND_LEVEL);
  t.is(levelOf(3, 'beyond_bound'), 10);
  t.is(levelOf(16, 'beyond_bound'), 11);
  t.is(levelOf(17, 'beyond_bound'), 12);
  t.is(levelOf(Infinity, 'nonfinite'), 13);
  t.is(levelOf(Infinity, 'poison'), POISON_LEVEL);
});

test('cells are powers of two and the grid stays within its limits', (t) => {
  t.is(cellSpan(9, MAX_ROWS), 1);
  t.is(cellSpan(64, MAX_ROWS), 1);
  t.is(cellSpan(65, MAX_ROWS), 2);
  t.is(cellSpan(7168, MAX_COLS), 64);
  t.is(cellSpan(16384, MAX_ROWS), 256);
});

test('the map of a perfect kernel is all within the bound; of a broken element, it sits where the element is', (t) => {
  const f = fixture();
  const { T, H, topK: k, E } = f.expected.problem;
  const good = perfectObserved(f.expected);
  const input = (o: Observed, o2 = o) => ({ expected: f.expected, runs: [o, o2] as const, poison: POISON, model: f.model, unjudged: unusableRows(o.ids, T, k, E) });
  const clean = errorMapOf(input(good));
  t.is(clean.rows, T);
  t.is(clean.cols, H);
  t.is(clean.classes.beyond_bound + clean.classes.nonfinite + clean.classes.poison, 0);
  t.true([...clean.cells].every((c) => parseInt(c, 36) >= 1 && parseInt(c, 36) <= 8));
  t.deepEqual(clean.follows, []);

  // One element far off, one NaN, one row never written (poison in both runs).
  const bad = copy(good);
  bad.output[3 * H + 17] = f32ToBf16(f.expected.outputF32[3 * H + 17]! + 100);
  bad.output[5 * H + 2] = 0x7fc0;
  const bad2 = copy(bad);
  for (let h = 0; h < H; h++) {
    bad.output[(T - 1) * H + h] = POISON[0];
    bad2.output[(T - 1) * H + h] = POISON[1];
  }
  const m = errorMapOf(input(bad, bad2));
  t.is(cellLevel(m, 3, 17), 12);
  t.is(cellLevel(m, 5, 2), 13);
  t.is(cellLevel(m, T - 1, 0), POISON_LEVEL);
  t.is(m.classes.beyond_bound, 1);
  t.is(m.classes.nonfinite, 1);
  t.is(m.classes.poison, H);
  // Never-written and non-finite elements lead the worst list, then the largest ratio.
  t.deepEqual(m.worst.map((w) => w.class), ['poison', 'poison', 'poison', 'poison', 'poison']);
  const noPoison = copy(good);
  noPoison.output[3 * H + 17] = bad.output[3 * H + 17]!;
  noPoison.output[5 * H + 2] = 0x7fc0;
  t.deepEqual(errorMapOf(input(noPoison)).worst.slice(0, 2).map((w) => [w.class, w.t, w.h]), [['nonfinite', 5, 2], ['beyond_bound', 3, 17]]);
  const v = compare({ reference: f.expected, referenceForIds: null, runs: [bad, bad2], poison: POISON, digests: ['a', 'a'], model: f.model, context: { tactic: '8/0', seed: 7 } });
  t.is(v.counts.beyond_bound, m.classes.beyond_bound, 'the same classification as the comparator');
  t.is(v.counts.nonfinite, m.classes.nonfinite);
  t.is(v.counts.poison, m.classes.poison);
  const onlyOne = copy(good);
  onlyOne.output[3 * H + 17] = f32ToBf16(f.expected.outputF32[3 * H + 17]! + 100);
  const m1 = errorMapOf(input(onlyOne));
  t.deepEqual({ t: m1.worst[0]!.t, h: m1.worst[0]!.h, cls: m1.worst[0]!.class }, { t: 3, h: 17, cls: 'beyond_bound' });
  t.deepEqual(m1.worst[0]!.ids, Array.from(good.ids.subarray(3 * k, 4 * k)));
  t.is(m1.worst[0]!.ratio, v.worst === null ? null : compare({ reference: f.expected, referenceForIds: null, runs: [onlyOne, onlyOne], poison: POISON, digests: ['a', 'a'], model: f.model, context: { tactic: '8/0', seed: 7 } }).worst!.ratio);
  // Rows with unusable ids are not judged (level 0), as the comparator skips their values.
  const dup = copy(good);
  dup.ids[2 * k + 1] = dup.ids[2 * k]!;
  const md = errorMapOf(input(dup));
  t.is(cellLevel(md, 2, 0), 0);
  t.is(md.classes.unjudged, H);
  t.throws(() => errorMapOf({ ...input(good), runs: [{ ...good, output: good.output.subarray(1) }, good] }), { message: /wrong size/ });
});

test('expert rows: shares of tokens beyond the bound; the errors follow an expert only with evidence both ways', (t) => {
  const f = fixture({ problem: { T: 16 } });
  const { T, H, topK: k, E } = f.expected.problem;
  const good = perfectObserved(f.expected);
  const target = good.ids[0]!;
  const broken = copy(good);
  for (let tt = 0; tt < T; tt++) {
    if (![...good.ids.subarray(tt * k, (tt + 1) * k)].includes(target)) continue;
    for (let h = 0; h < H; h++) broken.output[tt * H + h] = f32ToBf16(f.expected.outputF32[tt * H + h]! * 2 + 10);
  }
  const m = errorMapOf({ expected: f.expected, runs: [broken, broken], poison: POISON, model: f.model, unjudged: unusableRows(good.ids, T, k, E) });
  const row = m.experts.find((e) => e.expert === target)!;
  t.is(row.cells, 'a'.repeat(m.cols), 'every token of the broken expert, every column');
  t.deepEqual(m.follows, [target]);
  // Every token wrong: nothing points at an expert.
  const all = copy(good);
  for (let i = 0; i < T * H; i++) all.output[i] = f32ToBf16(f.expected.outputF32[i]! * 2 + 10);
  t.deepEqual(errorMapOf({ expected: f.expected, runs: [all, all], poison: POISON, model: f.model, unjudged: new Uint8Array(T) }).follows, []);
  // A token of no local expert being wrong: not an expert's doing.
  t.deepEqual(followingExperts(Int32Array.from([0, 1, 2, 3]), 2, [1], new Uint8Array(2), (e) => e < 2), []);
  t.deepEqual(followingExperts(Int32Array.from([0, 1, 2, 3, 0, 3]), 2, [0, 2], new Uint8Array(3), () => true), [0]);
});
