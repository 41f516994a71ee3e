/**
 * Search seeds for golden cases with a REAL re-quantization flip: the reference marks
 * fragile FC2-input elements (flipAllowance > 0) AND the emulated kernel, whose FC1 sums
 * in float32 in its own tile order (a valid accumulation order), lands on the other side
 * of a rounding boundary, so the judge counts flip_explained elements.
 *
 *   npx tsx goldens/flipSearch.ts [quantMode] [firstSeed] [count] [scaleFamily] [renormalize|llama4]
 *
 * Prints the seeds found; goldens/cases.ts fixes the chosen ones (flip-nvfp4, flip-mxfp8).
 */
import { EmulatedKernel } from '../harness/kernels/emulated.js';
import type { ScaleFamily } from '../reference/case.js';
import { generateCase } from '../reference/generate.js';
import type { Problem, QuantMode } from '../reference/problem.js';
import { flipCaseProblem } from './cases.js';
import { judgeGoldenOnKernel } from './judgeGolden.js';
import { goldenReference } from './produce.js';

async function main(): Promise<void> {
  const [mode = 'mxfp4_bf16', first = '1', count = '40', scales = 'normal', method = 'renormalize'] = process.argv.slice(2);
  const p: Problem = flipCaseProblem(mode as QuantMode, method as 'renormalize' | 'llama4');
  for (let seed = Number(first); seed < Number(first) + Number(count); seed++) {
    const c = generateCase({ problem: p, seed, logitFamily: 'normal', scaleFamily: scales as ScaleFamily });
    const expected = await goldenReference(c);
    const fragile = expected.requant.fragileElements;
    if (fragile === 0) continue;
    const j = await judgeGoldenOnKernel(new EmulatedKernel(), { case: c, expected });
    console.log(`seed ${seed}: fragile elements ${fragile}, flip-explained ${j.flipExplained}, failures ${j.failures.length}`);
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
