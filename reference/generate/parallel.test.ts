/**
 * generateCaseParallel gives generateCase's bytes for any thread count, chunk size, scale
 * family, quant mode and expert-parallel slice (the workers always run here:
 * parallelFromBytes 0), and its per-expert storage is shared memory in chunks of whole
 * experts of at most chunkBytes.
 */
import test from 'ava';
import { SCALE_FAMILIES, type CaseSpec } from '../case.js';
import { caseDigest } from '../caseDigest.js';
import { configProblem } from '../configs.js';
import { BadArgumentError } from '../errors.js';
import { generateCase } from '../generate.js';
import type { Problem } from '../problem.js';
import { testProblem } from '../testing/testProblem.js';
import { generateCaseParallel, shutdownGenerationWorkers, type GenerationInfo } from './parallel.js';

test.after.always(() => shutdownGenerationWorkers());

const problems: Problem[] = [
  testProblem({ T: 5, H: 64, I: 32, E: 9, topK: 2, localExperts: 9 }),
  testProblem({ T: 3, H: 128, I: 64, E: 16, topK: 4, localOffset: 5, localExperts: 7, quantMode: 'mxfp4_mxfp8' }),
  testProblem({ T: 2, H: 64, I: 64, E: 12, topK: 3, localOffset: 11, localExperts: 1, quantMode: 'mxfp4_bf16' }),
  configProblem('qwen3-30b-a3b', 4, { E: 24, localOffset: 8, localExperts: 13, H: 256, I: 128 }),
];

for (const threads of [1, 2, 7]) {
  test.serial(`${threads} thread(s): every scale family, quant mode and EP slice gives generateCase's bytes`, async (t) => {
    let n = 0;
    for (const [i, problem] of problems.entries()) {
      for (const scaleFamily of SCALE_FAMILIES) {
        const spec: CaseSpec = { problem, seed: 100 + i, logitFamily: 'normal', scaleFamily };
        const serial = generateCase(spec);
        // A chunk limit of about 2.5 experts of FC2 packed bytes: several chunks per tensor.
        const chunkBytes = Math.floor((problem.H * problem.I / 2) * 2.5);
        let info: GenerationInfo | undefined;
        const par = await generateCaseParallel(spec, { threads, chunkBytes, parallelFromBytes: 0 }, (x) => { info = x; });
        t.is(info?.mode, 'workers');
        t.is(info?.workers, 'kept', 'a small job keeps the pool');
        t.is(info?.perWorker.length, threads);
        t.is(info!.perWorker.reduce((a, b) => a + b, 0), 2 * problem.localExperts, 'every FC1 and FC2 expert generated once');
        t.is(caseDigest(par), caseDigest(serial), `${problem.quantMode} El=${problem.localExperts} ${scaleFamily}`);
        for (const w of [par.fc1.packed, par.fc1.scales, par.fc2.packed, par.fc2.scales]) {
          t.true(w.shared, 'shared memory');
          t.true(w.chunks.every((c) => c.length <= Math.max(chunkBytes, w.bytesPerExpert)), 'chunks within the limit');
          t.true(w.chunks.every((c) => c.length % w.bytesPerExpert === 0), 'whole experts per chunk');
        }
        t.true(par.fc1.packed.equals(serial.fc1.packed) && par.fc2.scales.equals(serial.fc2.scales));
        t.deepEqual(par.fc1.globalScale, serial.fc1.globalScale);
        t.deepEqual(par.out2Scale, serial.out2Scale);
        t.is(par.fc2InputGlobalScale, serial.fc2InputGlobalScale);
        n++;
      }
    }
    t.is(n, problems.length * SCALE_FAMILIES.length);
  });
}

test.serial('below parallelFromBytes the case is generated on this thread (no workers), same bytes', async (t) => {
  const spec: CaseSpec = { problem: problems[0]!, seed: 3, logitFamily: 'ties', scaleFamily: 'zero_expert' };
  let info: GenerationInfo | undefined;
  const c = await generateCaseParallel(spec, { threads: 2 }, (x) => { info = x; });
  t.is(info?.mode, 'serial');
  t.is(caseDigest(c), caseDigest(generateCase(spec)));
});

test.serial('after a job of releaseWorkersFromBytes or more the workers are ended (they would hold the case\'s views); the next job starts new ones', async (t) => {
  const spec: CaseSpec = { problem: problems[1]!, seed: 4, logitFamily: 'normal', scaleFamily: 'normal' };
  const infos: GenerationInfo[] = [];
  const a = await generateCaseParallel(spec, { threads: 2, parallelFromBytes: 0, releaseWorkersFromBytes: 0 }, (i) => infos.push(i));
  const b = await generateCaseParallel(spec, { threads: 2, parallelFromBytes: 0, releaseWorkersFromBytes: 0 }, (i) => infos.push(i));
  t.deepEqual(infos.map((i) => i.workers), ['ended', 'ended']);
  t.is(caseDigest(a), caseDigest(generateCase(spec)));
  t.is(caseDigest(b), caseDigest(a));
});

test.serial('bad options and specs are refused naming them, before any worker starts', async (t) => {
  const spec: CaseSpec = { problem: problems[0]!, seed: 3, logitFamily: 'normal', scaleFamily: 'normal' };
  for (const [opts, argument] of [
    [{ threads: 0 }, 'opts.threads'], [{ threads: 1.5 }, 'opts.threads'],
    [{ chunkBytes: 0 }, 'opts.chunkBytes'], [{ chunkBytes: 2 ** 32 }, 'opts.chunkBytes'],
    [{ parallelFromBytes: -1 }, 'opts.parallelFromBytes'], [{ releaseWorkersFromBytes: 0.5 }, 'opts.releaseWorkersFromBytes'],
  ] as const) {
    const err = await t.throwsAsync(generateCaseParallel(spec, opts), { instanceOf: BadArgumentError });
    t.is((err as BadArgumentError).argument, argument);
  }
  const bad = await t.throwsAsync(generateCaseParallel({ ...spec, seed: -1 }, { parallelFromBytes: 0 }), { instanceOf: BadArgumentError });
  t.regex((bad as BadArgumentError).argument, /seed/);
});

test.serial('generations in flight together in one process (other thread counts, one that ends the workers) each give generateCase\'s bytes', async (t) => {
  const problem = configProblem('qwen3-30b-a3b', 4, { E: 24, localOffset: 8, localExperts: 13, H: 256, I: 128 });
  const specs: CaseSpec[] = [0, 1, 2, 3].map((i) => ({ problem, seed: 300 + i, logitFamily: 'normal', scaleFamily: 'normal' }));
  // Started together: 2 threads, 3 threads (a restart), 2 threads again ending the workers after
  // (releaseWorkersFromBytes 0), then 1 thread (a new pool). Before the pool's queue a restart
  // or an end under another generation's job failed it ("generation pool terminated").
  const opts = [
    { threads: 2 }, { threads: 3 }, { threads: 2, releaseWorkersFromBytes: 0 }, { threads: 1 },
  ].map((o) => ({ ...o, parallelFromBytes: 0 }));
  const results = await Promise.all(specs.map((spec, i) => generateCaseParallel(spec, opts[i]!)));
  for (const [i, spec] of specs.entries()) t.is(caseDigest(results[i]!), caseDigest(generateCase(spec)), `generation ${i}`);
});
