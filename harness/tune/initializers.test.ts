import test from 'ava';
import { configProblem } from '../../reference/configs.js';
import { generateCase } from '../../reference/generate.js';
import { f32ToBf16 } from '../../reference/formats/bf16.js';
import { INITIALIZERS, parseInitializers, tensorBuffers, tuningCase, TUNE_TENSORS, warmTuningWeights, type TuneTensor } from './initializers.js';
import { caseDigest } from '../../reference/caseDigest.js';
import { testProblem } from '../../reference/testing/testProblem.js';

const isZero = (b: ArrayBufferView): boolean => new Uint8Array(b.buffer, b.byteOffset, b.byteLength).every((x) => x === 0);

test('default initializers: every tensor non-zero, bytes exactly the replayable generateCase(spec)', (t) => {
  const p = configProblem('deepseek-v3', 2, { E: 16, localExperts: 16, H: 256, I: 128, routing: { method: 'deepseek_v3', nGroup: 4, topkGroup: 2, routedScalingFactor: 2.5 } });
  const tc = tuningCase(p, 7);
  t.true(tc.replayable);
  for (const name of TUNE_TENSORS) {
    const bufs = tensorBuffers(tc.case, name);
    t.true(bufs.length > 0, `${name} exists for deepseek_v3`);
    for (const b of bufs) t.false(isZero(b), `${name} is not zero`);
  }
  const again = generateCase(tc.spec);
  t.true(again.fc1.packed.equals(tc.case.fc1.packed));
});

test('logits are generated in the declared dtype, never cast: float32 stays float32 (values not bf16-exact)', (t) => {
  const p = configProblem('deepseek-v3', 4, { E: 16, localExperts: 16, H: 256, I: 128, routing: { method: 'deepseek_v3', nGroup: 4, topkGroup: 2, routedScalingFactor: 2.5 } });
  const tc = tuningCase(p, 3);
  t.true(tc.case.logits instanceof Float32Array);
  const l = tc.case.logits as Float32Array;
  const notBf16 = Array.from(l).filter((x) => {
    const b = f32ToBf16(x);
    const back = new Float32Array(new Uint32Array([b << 16]).buffer)[0];
    return back !== x;
  });
  t.true(notBf16.length > l.length / 2, 'most float32 logits carry bits a bf16 cast would drop');
  const pb = { ...p, logitsDtype: 'bfloat16' as const };
  t.true(tuningCase(pb, 3).case.logits instanceof Uint16Array);
});

test('a zero tensor only by name: hidden=zero zeroes hidden and nothing else, and is not replayable', (t) => {
  const tc = tuningCase(testProblem({ T: 4, H: 128 }), 5, parseInitializers('hidden=zero'));
  t.false(tc.replayable);
  t.is(tc.initializers.hidden, 'zero');
  for (const name of TUNE_TENSORS as readonly TuneTensor[]) {
    for (const b of tensorBuffers(tc.case, name)) t.is(isZero(b), name === 'hidden', name);
  }
});

test('an initializer that yields all zeros without being named zero is refused (never silently zero)', (t) => {
  // A regressed initializer: called 'random', declares itself non-zero, but zero-fills.
  const broken = { ...INITIALIZERS, random: { help: 'broken', zero: false, apply: INITIALIZERS.zero!.apply } };
  t.throws(() => tuningCase(testProblem({ T: 4, H: 128 }), 1, {}, broken), { name: 'ZeroTensorError', message: /tuning tensor logits .* is all zero under initializer 'random'/ });
  t.notThrows(() => tuningCase(testProblem({ T: 4, H: 128 }), 1, { logits: 'zero', hidden: 'zero', fc1: 'zero', fc2: 'zero' }, INITIALIZERS));
});

test('bad --init text is refused naming the option, expected and actual', (t) => {
  t.throws(() => parseInitializers('hidden=zeros'), { name: 'BadArgumentError', message: /--init: expected an initializer among random, zero, got "zeros"/ });
  t.throws(() => parseInitializers('activations=zero'), { name: 'BadArgumentError', message: /--init: expected a tensor among logits, bias, hidden, fc1, fc2/ });
  t.throws(() => parseInitializers('hidden'), { name: 'BadArgumentError', message: /TENSOR=INITIALIZER/ });
});

test('bucket inputs (weights generated once, shared) are byte-identical to generateCase at every T, for each quant mode', (t) => {
  const problems = [
    testProblem({ T: 1, H: 128 }), testProblem({ T: 5, H: 128, quantMode: 'mxfp4_mxfp8' }), testProblem({ T: 3, H: 128, quantMode: 'mxfp4_bf16', logitsDtype: 'bfloat16' }),
    configProblem('deepseek-v3', 6, { E: 16, localOffset: 4, localExperts: 8, H: 256, I: 128, routing: { method: 'deepseek_v3', nGroup: 4, topkGroup: 2, routedScalingFactor: 2.5 } }),
    configProblem('gpt-oss-120b', 7, { E: 8, localExperts: 8, H: 128, I: 64 }),
  ];
  for (const p of problems) {
    for (const T of [p.T, 2 * p.T + 1]) {
      const tc = tuningCase({ ...p, T }, 9);
      t.deepEqual(tc.case, generateCase(tc.spec), `${p.quantMode} T=${T}`);
    }
  }
});

test('a zero weight initializer does not write into the weights shared with the next bucket', (t) => {
  const z = tuningCase(testProblem({ T: 2, H: 128 }), 4, { fc1: 'zero' });
  t.true(z.case.fc1.packed.chunks.every(isZero));
  const r = tuningCase(testProblem({ T: 4, H: 128 }), 4);
  t.false(r.case.fc1.packed.chunks.every(isZero));
  t.deepEqual(r.case, generateCase(r.spec));
});

test('weights warmed on every core (warmTuningWeights) are the ones tuningCase shares: the same bytes as generateCase for every bucket', async (t) => {
  const p = configProblem('qwen3-30b-a3b', 1, { E: 12, localExperts: 12, H: 256, I: 128 });
  await warmTuningWeights(p, 11);
  const a = tuningCase({ ...p, T: 2 }, 11);
  const b = tuningCase({ ...p, T: 8 }, 11);
  t.is(a.case.fc1, b.case.fc1, 'one set of weights for every bucket');
  for (const tc of [a, b]) t.is(caseDigest(tc.case), caseDigest(generateCase(tc.spec)), `T=${tc.spec.problem.T}`);
});
