/**
 * `npx tsx harness/judgeBench.ts` (not a test): the judge's cost per output element on this
 * machine, on one case of a configuration with runs that agree with the reference.
 *
 *   npx tsx harness/judgeBench.ts [config] [T] [localExperts] [repeats] [reps]
 *   (default qwen3-30b-a3b 512 16 3 5)
 *
 * Prints, for `repeats` bitwise identical runs ("identical") and for runs whose last one
 * differs in one output element ("one differs", the full per-element path for that run), the
 * median judge() wall time and ns per output element per case (T·H elements).
 */
import { configProblem } from '../reference/configs.js';
import { generateCaseParallel } from '../reference/generate/parallel.js';
import { shutdownReference } from '../reference/moe.js';
import { POISON } from './caseRunner.js';
import { errorModel } from './errorModel.js';
import { judge } from './judge.js';
import type { Observed } from './kernels/kernel.js';
import { referenceFor } from './referenceFor.js';

async function main(): Promise<void> {
  const [config = 'qwen3-30b-a3b', T = '512', local = '16', repeats = '3', reps = '9'] = process.argv.slice(2);
  const problem = configProblem(config, Number(T), { localExperts: Number(local) });
  const c = await generateCaseParallel({ problem, seed: 1, logitFamily: 'normal', scaleFamily: 'normal' });
  const model = errorModel(problem);
  const expected = await referenceFor(c, model, { precision: 'float32' });
  const run = (): Observed => ({
    output: Uint16Array.from(expected.outputBf16), ids: Int32Array.from(expected.routing.ids),
    weights: Float32Array.from(expected.routing.weights), executedTactic: '8/0',
  });
  const n = Number(repeats);
  const identical = Array.from({ length: n }, run) as unknown as [Observed, Observed, ...Observed[]];
  const oneDiffers = Array.from({ length: n }, run) as unknown as [Observed, Observed, ...Observed[]];
  const last = oneDiffers[n - 1]!.output as Uint16Array;
  last[last.length - 1] = last[last.length - 1]! ^ 1;
  const elements = problem.T * problem.H;
  for (const [name, runs] of [['identical', identical], ['one differs', oneDiffers]] as const) {
    const times: number[] = [];
    let disposition = '';
    for (let r = 0; r < Number(reps); r++) {
      const t0 = performance.now();
      const v = await judge({
        kernel: 'bench', expected, runs, poison: POISON, digests: ['d', 'd'], model, context: { tactic: '8/0', seed: 1 },
        referenceForIds: () => Promise.reject(new Error('the bench runs agree with the reference\'s ids')),
      });
      times.push(performance.now() - t0);
      disposition = v.disposition;
    }
    times.sort((a, b) => a - b);
    const med = times[Math.floor(times.length / 2)]!;
    console.log(`${config} T=${T} local ${local}, ${n} runs, ${name}: judge ${med.toFixed(1)} ms median of ${reps}, ` +
      `${((med * 1e6) / elements).toFixed(1)} ns per output element (${elements} elements; ${disposition})`);
  }
  await shutdownReference();
}

await main();
