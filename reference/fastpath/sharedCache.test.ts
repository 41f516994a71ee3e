/**
 * State that cannot go stale: the float32 reference reuses its shared copy of a case's
 * arrays only while their contents are unchanged. A case edited in place must give the
 * answer of its new contents (the same as a fresh copy of the edited case), not the old one.
 */
import test from 'ava';
import type { Case } from '../case.js';
import { generateCase } from '../generate.js';
import { runReference, shutdownReference } from '../moe.js';
import type { Problem } from '../problem.js';
import { sharedCached } from './runFast.js';

test.after.always(() => shutdownReference());

const problem: Problem = {
  T: 8, H: 64, I: 64, E: 4, topK: 2, localOffset: 0, localExperts: 4,
  routing: { method: 'renormalize' }, logitsDtype: 'float32', biasDtype: 'none', quantMode: 'nvfp4', activation: { kind: 'swiglu' },
};

/** The same case with every array copied into new objects (no cache entry can match them). */
function fresh(c: Case): Case {
  const h = c.hidden;
  return {
    ...c,
    logits: c.logits.slice(),
    hidden: h.format === 'nvfp4' ? { ...h, packed: h.packed.slice(), scales: h.scales.slice() }
      : h.format === 'mxfp8' ? { ...h, data: h.data.slice(), scales: h.scales.slice() } : { ...h, data: h.data.slice() },
    fc1: { packed: c.fc1.packed.relayout(), scales: c.fc1.scales.relayout(), globalScale: c.fc1.globalScale.slice() },
    fc2: { packed: c.fc2.packed.relayout(), scales: c.fc2.scales.relayout(), globalScale: c.fc2.globalScale.slice() },
  };
}

test('editing the weights and hidden states in place gives the new answer, not the cached one', async (t) => {
  const c = generateCase({ problem, seed: 11, logitFamily: 'normal', scaleFamily: 'normal' });
  const before = await runReference(c);
  const again = await runReference(c);
  t.deepEqual(again.outputF32, before.outputF32, 'unchanged case: same answer (the cache is used)');

  // In place: every FC2 weight byte of expert 0 and 1 and the first token's hidden states.
  const half = c.fc2.packed.byteLength / 2;
  for (let i = 0; i < half; i++) c.fc2.packed.setAt(i, (c.fc2.packed.at(i) ^ 0x11) & 0xff);
  if (c.hidden.format === 'nvfp4') c.hidden.packed.fill(0x22, 0, problem.H / 2);
  const edited = await runReference(c);
  const truth = await runReference(fresh(c));
  t.notDeepEqual(edited.outputF32, before.outputF32, 'the edit changes the answer');
  t.deepEqual(edited.outputF32, truth.outputF32, 'the edited case gives the answer of its new contents');
});

test('sharedCached: a hit only while the bytes match; a change gets a new shared copy', (t) => {
  const a = new Uint8Array([1, 2, 3, 4]);
  const s1 = sharedCached(a);
  t.true(s1.buffer instanceof SharedArrayBuffer);
  t.is(sharedCached(a), s1, 'unchanged: the same shared copy');
  a[2] = 9;
  const s2 = sharedCached(a);
  t.not(s2, s1, 'changed: a new copy');
  t.deepEqual([...s2], [1, 2, 9, 4]);
  t.deepEqual([...s1], [1, 2, 3, 4], 'the old copy is not rewritten (a worker may hold it)');
  const onShared = new Uint8Array(new SharedArrayBuffer(2));
  t.is(sharedCached(onShared), onShared, 'an array already in shared memory is used as it is');
});
