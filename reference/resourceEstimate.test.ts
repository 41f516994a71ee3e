/**
 * Sizes are refused by estimate before anything is allocated: a spec of 2^31−1 tokens, a
 * reference run with 400 threads; full-size DeepSeek-V3 is accepted where memory allows and
 * refused, naming the estimate and the limit, where it does not. The estimates themselves
 * are checked against what generateCase really allocates.
 */
import test from 'ava';
import { BadArgumentError } from './errors.js';
import { generateCase, validateCaseSpec } from './generate.js';
import type { Problem } from './problem.js';
import { runReference, shutdownReference } from './moe.js';
import {
  caseArrayBytes, checkGenerationFits, checkReferenceFits, checkReferenceThreads, formatBytes, generationBytes, maxReferenceThreads, memoryBudget,
  referenceBytes, WORKER_BYTES,
} from './resourceEstimate.js';
import { testProblem } from './testing/testProblem.js';

test.after.always(() => shutdownReference());

const GiB = 2 ** 30;
const small: Problem = testProblem({ T: 8, E: 4, localExperts: 4 });
const deepseek: Problem = testProblem({ T: 16, H: 7168, I: 2048, E: 256, topK: 8, localExperts: 256, routing: { method: 'deepseek_v3', nGroup: 8, topkGroup: 4, routedScalingFactor: 2.5 }, biasDtype: 'float32' });

test('the case-array estimate is exactly what generateCase allocates', (t) => {
  for (const quantMode of ['nvfp4', 'mxfp4_mxfp8', 'mxfp4_bf16'] as const) {
    const p: Problem = { ...small, quantMode };
    const c = generateCase({ problem: p, seed: 1, logitFamily: 'normal', scaleFamily: 'normal' });
    const est = caseArrayBytes(p);
    const h = c.hidden;
    const hiddenBytes = h.format === 'nvfp4' ? h.packed.byteLength + h.scales.byteLength
      : h.format === 'mxfp8' ? h.data.byteLength + h.scales.byteLength : h.data.byteLength;
    t.is(est.logits, c.logits.byteLength, quantMode);
    t.is((est['hidden.packed'] ?? 0) + (est['hidden.data'] ?? 0) + (est['hidden.scales'] ?? 0), hiddenBytes, quantMode);
    t.is(est['fc1.packed']! + est['fc1.scales']!, c.fc1.packed.byteLength + c.fc1.scales.byteLength, quantMode);
    t.is(est['fc2.packed']! + est['fc2.scales']!, c.fc2.packed.byteLength + c.fc2.scales.byteLength, quantMode);
  }
});

test('full-size DeepSeek-V3: 11.3 G FP4 weights, 5.91 GiB with their scales; accepted with 64 GiB free, refused with 4 GiB naming both', (t) => {
  const w = caseArrayBytes(deepseek);
  const weights = w['fc1.packed']! + w['fc1.scales']! + w['fc2.packed']! + w['fc2.scales']!;
  t.is(formatBytes(weights), '5.91 GiB'); // fc1 256·4096·7168 + fc2 256·7168·2048 nibbles, 1/16 byte of scale each
  t.notThrows(() => checkGenerationFits(deepseek, 'spec.problem', { bytes: 64 * GiB, source: 'test' }));
  const e = t.throws(() => checkGenerationFits(deepseek, 'spec.problem', { bytes: 4 * GiB, source: 'test budget' }));
  t.true(e instanceof BadArgumentError);
  t.is((e as BadArgumentError).argument, 'spec.problem');
  t.regex(e!.message, /at most 4\.00 GiB \(test budget\)/);
  t.regex(e!.message, /an estimated 5\.9\d GiB to generate/);
});

test('validateCaseSpec refuses T = H = I = 2^31−1 at once (one array beyond Node\'s limit)', (t) => {
  const huge = 2 ** 31 - 1 - ((2 ** 31 - 1) % 1); // the largest value the shape check allows
  const started = Date.now();
  const e = t.throws(() => validateCaseSpec({ problem: { ...small, T: huge, H: 2 ** 31 - 16, I: 2 ** 31 - 64 }, seed: 1, logitFamily: 'normal', scaleFamily: 'normal' }));
  t.true(e instanceof BadArgumentError, String(e));
  t.is((e as BadArgumentError).argument, 'spec.problem');
  t.regex(e!.message, /fits in one typed array/);
  t.true(Date.now() - started < 1000, 'refused before any allocation');
});

// Serial: it sets an environment variable that the file's other tests read.
test.serial('validateCaseSpec refuses a case bigger than the memory budget, naming the estimate and the limit', (t) => {
  const prev = process.env.MOE_HARNESS_MEMORY_BYTES;
  process.env.MOE_HARNESS_MEMORY_BYTES = String(GiB);
  try {
    const p: Problem = { ...small, T: 16, H: 4096, I: 4096, E: 64, localExperts: 64 };
    t.true(generationBytes(p) > GiB);
    const e = t.throws(() => validateCaseSpec({ problem: p, seed: 1, logitFamily: 'normal', scaleFamily: 'normal' }));
    t.regex(e!.message, /^spec\.problem: expected a case that fits in the memory available: at most 1\.00 GiB \(MOE_HARNESS_MEMORY_BYTES\), got an estimated [\d.]+ GiB to generate/);
    process.env.MOE_HARNESS_MEMORY_BYTES = 'lots';
    const e2 = t.throws(() => memoryBudget());
    t.is((e2 as BadArgumentError).argument, 'MOE_HARNESS_MEMORY_BYTES');
  } finally {
    if (prev === undefined) delete process.env.MOE_HARNESS_MEMORY_BYTES;
    else process.env.MOE_HARNESS_MEMORY_BYTES = prev;
  }
});

test('runReference(c, {threads: 400}) is refused before any worker starts (the thread limit from the cores)', async (t) => {
  const c = generateCase({ problem: small, seed: 2, logitFamily: 'normal', scaleFamily: 'normal' });
  const most = maxReferenceThreads();
  const e = await t.throwsAsync(() => runReference(c, { threads: 400 }));
  t.true(e instanceof BadArgumentError, String(e));
  t.is((e as BadArgumentError).argument, 'opts.threads');
  t.regex(e!.message, new RegExp(`^opts\\.threads: expected at most ${most} \\(max\\(16, 4 × \\d+ cores\\)`));
  t.is(maxReferenceThreads(2), 16);
  t.is(maxReferenceThreads(64), 256);
});

test('the reference estimate counts every new worker; a budget too small for the threads is refused naming both', (t) => {
  const one = referenceBytes(small, 'float32', 1);
  t.is(referenceBytes(small, 'float32', 9) - one, 8 * WORKER_BYTES);
  const budget = { bytes: 256 * 2 ** 20, source: 'test' };
  const e = t.throws(() => checkReferenceFits(small, 'float32', 16, undefined, budget));
  t.regex(e!.message, /at most 256 MiB \(test\), got an estimated [\d.]+ MiB for the float32 reference .*16 threads × 48\.0 MiB/);
  t.notThrows(() => checkReferenceFits(small, 'float32', 16, { copies: 0, scratch: 0, workers: 16 }, budget), 'a live pool of 16 is reused');
  t.notThrows(() => checkReferenceFits(small, 'float32', 2, undefined, budget));
  t.notThrows(() => checkReferenceFits(deepseek, 'float32', 16, undefined, { bytes: 64 * GiB, source: 'test' }));
  t.throws(() => checkReferenceThreads(65, 16), { message: /^opts\.threads: expected at most 64 \(max\(16, 4 × 16 cores\)/ });
  t.notThrows(() => checkReferenceThreads(64, 16));
});

test('a second run of a big case is not refused for the copies its first run still holds', (t) => {
  const w = caseArrayBytes(deepseek);
  const copies = w['fc1.packed']! + w['fc1.scales']! + w['fc2.packed']! + w['fc2.scales']! + w['hidden.packed']! + w['hidden.scales']!;
  const first = referenceBytes(deepseek, 'float32', 16);
  const second = referenceBytes(deepseek, 'float32', 16, { copies, scratch: 0, workers: 16 });
  t.is(first - second, copies + 16 * WORKER_BYTES);
  t.true(second < GiB, formatBytes(second));
});

test('weights are stored per expert: a 384-expert model (FC1 packed 5.25 GiB, over one array) is accepted; one expert over an array is refused, named', (t) => {
  const wide: Problem = { ...deepseek, E: 384, localExperts: 384 };
  const w = caseArrayBytes(wide);
  t.true(w['fc1.packed']! > 2 ** 32, formatBytes(w['fc1.packed']!));
  t.notThrows(() => checkGenerationFits(wide, 'spec.problem', { bytes: 64 * GiB, source: 'test' }));
  const e = t.throws(() => checkGenerationFits({ ...small, H: 2 ** 17, I: 2 ** 16, localExperts: 2, E: 2 }, 'spec.problem', { bytes: 2 ** 50, source: 'test' }));
  t.is((e as BadArgumentError).argument, 'spec.problem');
  t.regex(e!.message, /a case whose fc1\.packed of one expert fits in one typed array .* got fc1\.packed of one expert of 8\.00 GiB/);
});

test('the float64 oracle refuses T·k·H beyond one float32 array (DeepSeek-V3 at T = 18725), with the figures, before allocating', (t) => {
  const at = (T: number): Problem => ({ ...deepseek, T });
  t.notThrows(() => checkReferenceFits(at(18724), 'float64', 0, undefined, { bytes: 2 ** 50, source: 'test' }));
  const e = t.throws(() => checkReferenceFits(at(18725), 'float64', 0, undefined, { bytes: 2 ** 50, source: 'test' }));
  t.is((e as BadArgumentError).argument, 'case size (float64 oracle)');
  t.regex(e!.message, /expected T·k·H ≤ 1073741824 .*the float32 reference works in token chunks and takes this case\), got T·k·H = 18725·8·7168 = 1073766400 \(4\.00 GiB per array\)$/);
  t.notThrows(() => checkReferenceFits(at(40000), 'float32', 16, undefined, { bytes: 2 ** 50, source: 'test' }), 'the float32 fast path takes it');
  // The estimate: [T, k, H] slots (with the bf16-output allowance), one expert's decoded weights, hidden, outputs.
  const p = at(256);
  t.is(referenceBytes(p, 'float64', 0), 16 * 256 * 8 * 7168 + 12 * 2048 * 7168 + 18 * 256 * 7168 + 16 * 256 * 8);
});
