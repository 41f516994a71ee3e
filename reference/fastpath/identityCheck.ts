/**
 * Bitwise identity check of the fast path (a development tool, not a test): prints the
 * SHA-256 of outputF32, absAccum, flipAllowance and fragileTokens and the requant counts
 * for a few fixed problems, so a speed change can be checked to compute exactly what it
 * computed before (run before and after, compare the lines).
 *
 *   npm run build:ts && node dist/reference/fastpath/identityCheck.js
 */
import { createHash } from 'node:crypto';
import { configProblem, type ConfigName } from '../configs.js';
import type { Problem } from '../problem.js';
import { generateCase } from '../generate.js';
import { runReference, shutdownReference } from '../moe.js';

const sha = (a: ArrayBufferView) => createHash('sha256').update(new Uint8Array(a.buffer, a.byteOffset, a.byteLength)).digest('hex').slice(0, 16);

// [config, T, fc1RelativeError, local experts (an EP slice from expert 0), quant mode override]
const rows: Array<[ConfigName, number, number | undefined, number | undefined, Problem['quantMode'] | undefined]> = [
  ['qwen3-30b-a3b', 512, undefined, undefined, undefined], ['qwen3-30b-a3b', 64, 1e-4, undefined, undefined],
  ['qwen3-30b-a3b', 64, undefined, 32, 'mxfp4_bf16'], ['gpt-oss-120b', 48, undefined, 16, undefined],
  ['gpt-oss-120b', 40, 1e-4, 16, 'mxfp4_bf16'], ['deepseek-v3', 24, 1e-4, 16, undefined],
  ['llama4-maverick', 40, undefined, 4, undefined], ['mixtral-8x7b', 33, 3e-4, 2, undefined],
];
for (const [config, T, rho, local, quantMode] of rows) {
  const p0 = configProblem(config, T);
  const problem: Problem = { ...p0, ...(local === undefined ? {} : { localExperts: local }), ...(quantMode === undefined ? {} : { quantMode }) };
  const c = generateCase({ problem, seed: 3, logitFamily: 'normal', scaleFamily: 'normal' });
  const e = await runReference(c, { precision: 'float32', ...(rho === undefined ? {} : { fc1RelativeError: rho }) });
  console.log(config, T, local ?? 'all', problem.quantMode, rho ?? 'default', sha(e.outputF32), sha(e.absAccum), sha(e.flipAllowance), sha(e.fragileTokens), JSON.stringify(e.requant));
}
await shutdownReference();
