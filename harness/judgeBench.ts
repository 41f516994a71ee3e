/**
 * `npx tsx harness/judgeBench.ts` (not a test): the judge's cost per output element on this
 * machine, on one case of a configuration with runs that agree with the reference.
 *
 *   npx tsx harness/judgeBench.ts [config] [T] [localExperts] [repeats] [reps]
 *   (default qwen3-30b-a3b 512 16 3 5)
 *
 * Prints, for `repeats` bitwise identical runs ("identical") and for runs whose last one
 * differs in one output element ("one differs", the full per-element path for that run), the
 * median judge() wall time and ns per output element per case (T·H elements); then compare()
 * on the identical runs with its WebAssembly element scan and with the JS loop it replaces
 * (its twin), alternated, side by side.
 */
import { configProblem } from '../reference/configs.js';
import { generateCaseParallel } from '../reference/generate/parallel.js';
import { shutdownReference } from '../reference/moe.js';
import { POISON } from './caseRunner.js';
import { compare, compareWith, jsElementVerdicts } from './compare.js';
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
  const input = { reference: expected, referenceForIds: null, runs: identical, poison: POISON, digests: ['d', 'd'] as const, model, context: { tactic: '8/0', seed: 1 } };
  const loops = [['WebAssembly scan', (): unknown => compare(input)], ['JS loop (its twin)', (): unknown => compareWith(input, jsElementVerdicts)]] as const;
  const ms: number[][] = loops.map(() => []);
  for (let r = 0; r < Number(reps); r++) {
    for (const [k, [, f]] of loops.entries()) {
      const t0 = performance.now();
      f();
      ms[k]!.push(performance.now() - t0);
    }
  }
  for (const [k, [name]] of loops.entries()) {
    const sorted = [...ms[k]!].sort((a, b) => a - b);
    const med = sorted[Math.floor(sorted.length / 2)]!;
    console.log(`compare() element loop, ${name}: ${med.toFixed(1)} ms median of ${reps} alternated, ${((med * 1e6) / elements).toFixed(1)} ns per output element`);
  }
  await shutdownReference();
}

await main();
