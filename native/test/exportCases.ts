/**
 * Export generated cases for the standalone GPU driver (the GPU machine may have no Node.js
 * at run time): `npx tsx native/test/exportCases.ts [outDir]` (or `node
 * dist/native/test/exportCases.js`; default native/build/cases). Each case is a folder:
 * spec.json (its CaseSpec: the judge regenerates the case and its reference from it),
 * meta.txt ("key value" lines and "tensor name dtype file" lines) and raw little-endian .bin
 * files of the inputs. No reference result is exported: the driver judges nothing. Then on
 * the GPU: `moe_gpu_check --cases DIR` writes each case's results (driverResults.ts) and
 * `node dist/native/test/judgeDriverOutputs.js DIR` judges them with harness/judge.ts.
 */
import { mkdirSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Case, CaseSpec, LogitFamily, ScaleFamily } from '../../reference/case.js';
import { configProblem } from '../../reference/configs.js';
import { generateCase } from '../../reference/generate.js';
import type { Problem } from '../../reference/problem.js';

/** The CaseSpec of an exported case, as JSON. */
export const SPEC_FILE = 'spec.json';

const ENUMS = {
  routing: ['default', 'renormalize', 'renormalize_naive', 'deepseek_v3', 'llama4', 'topk'],
  quant: ['nvfp4', 'mxfp4_mxfp8', 'mxfp4_bf16'],
  logits: ['float32', 'bfloat16'],
  bias: ['none', 'float32', 'bfloat16'],
} as const;

function dtypeOf(a: ArrayBufferView): string {
  if (a instanceof Float32Array) return 'f32';
  if (a instanceof Uint16Array) return 'u16';
  if (a instanceof Int32Array) return 'i32';
  if (a instanceof Uint8Array) return 'u8';
  throw new Error(`unexpected array ${a.constructor.name}`);
}

/** The input tensors of a case as the driver reads them (name, array; null: absent). */
export function caseTensors(c: Case): Array<[string, ArrayBufferView | null]> {
  return [
    ['logits', c.logits], ['bias', c.bias],
    ['hidden', c.hidden.format === 'nvfp4' ? c.hidden.packed : c.hidden.data],
    ['hiddenScales', c.hidden.format === 'bf16' ? null : c.hidden.scales],
    ['fc1Packed', c.fc1.packed.toContiguous()], ['fc1Scales', c.fc1.scales.toContiguous()],
    ['fc2Packed', c.fc2.packed.toContiguous()], ['fc2Scales', c.fc2.scales.toContiguous()],
    ['out1Scale', c.out1Scale], ['out1GateScale', c.out1GateScale], ['out2Scale', c.out2Scale],
    ['swigluAlpha', c.swiglu?.alpha ?? null], ['swigluBeta', c.swiglu?.beta ?? null], ['swigluLimit', c.swiglu?.limit ?? null],
  ];
}

/** Write one case into outDir/name. */
export function exportCase(outDir: string, name: string, spec: CaseSpec): void {
  const c = generateCase(spec);
  const p = spec.problem;
  const dir = path.join(outDir, name);
  mkdirSync(dir, { recursive: true });
  const lines = [
    `T ${p.T}`, `H ${p.H}`, `I ${p.I}`, `E ${p.E}`, `topK ${p.topK}`, `localOffset ${p.localOffset}`, `localExperts ${p.localExperts}`,
    `routing ${ENUMS.routing.indexOf(p.routing.method)}`, `nGroup ${p.routing.nGroup ?? 1}`, `topkGroup ${p.routing.topkGroup ?? 1}`,
    `routedScalingFactor ${p.routing.routedScalingFactor ?? 1}`, `logitsDtype ${ENUMS.logits.indexOf(p.logitsDtype)}`,
    `biasDtype ${ENUMS.bias.indexOf(p.biasDtype)}`, `quant ${ENUMS.quant.indexOf(p.quantMode)}`,
    `activation ${p.activation.kind === 'swiglu_clamped' ? 1 : 0}`,
  ];
  for (const [n, a] of caseTensors(c)) {
    if (a === null) continue;
    writeFileSync(path.join(dir, `${n}.bin`), new Uint8Array(a.buffer, a.byteOffset, a.byteLength));
    lines.push(`tensor ${n} ${dtypeOf(a)} ${n}.bin`);
  }
  writeFileSync(path.join(dir, 'meta.txt'), lines.join('\n') + '\n');
  writeFileSync(path.join(dir, SPEC_FILE), JSON.stringify(spec, null, 1) + '\n');
}

const small = (name: string, T: number, over: Partial<Problem>): Problem => configProblem(name, T, over);
/** The exported cases: name, problem, logit family, scale family (seed 1000 + position). */
export const EXPORT_PLAN: ReadonlyArray<readonly [string, Problem, LogitFamily, ScaleFamily]> = [
  ['qwen-normal', small('qwen3-30b-a3b', 19, { H: 128, I: 96, E: 8, localExperts: 8, topK: 2 }), 'normal', 'normal'],
  ['qwen-ties', small('qwen3-30b-a3b', 23, { H: 128, I: 96, E: 8, localExperts: 8, topK: 3 }), 'ties', 'zero_blocks'],
  ['qwen-neginf-bf16', small('qwen3-30b-a3b', 17, { H: 64, I: 64, E: 16, localExperts: 16, topK: 4, logitsDtype: 'bfloat16' }), 'neg_inf', 'decades'],
  ['qwen-allneg-ep', small('qwen3-30b-a3b', 21, { H: 128, I: 64, E: 16, localExperts: 6, localOffset: 5, topK: 4 }), 'all_negative', 'zero_expert'],
  ['gptoss-clamped-ep', small('gpt-oss-120b', 9, { H: 256, I: 64, E: 8, localExperts: 4, localOffset: 2, topK: 2 }), 'normal', 'normal'],
  ['gptoss-residue', small('gpt-oss-120b', 40, { H: 288, I: 288, E: 8, localExperts: 8, topK: 4 }), 'huge', 'normal'],
  ['dslite-normal', small('deepseek-lite', 13, { H: 128, I: 64 }), 'normal', 'normal'],
  ['dsv3-tinysig', small('deepseek-v3', 7, { H: 64, I: 64, E: 64, localExperts: 64, routing: { method: 'deepseek_v3', nGroup: 8, topkGroup: 4, routedScalingFactor: 2.5 } }), 'tiny_sigmoid', 'normal'],
  ['dsv3-bf16bias', small('deepseek-v3', 9, { H: 64, I: 128, E: 32, localExperts: 16, localOffset: 8, biasDtype: 'bfloat16', routing: { method: 'deepseek_v3', nGroup: 4, topkGroup: 2, routedScalingFactor: 2.5 } }), 'uniform', 'normal'],
  ['llama4', small('llama4-maverick', 11, { H: 128, I: 128, E: 4, localExperts: 4 }), 'normal', 'decades'],
  ['mixtral-bf16-splitk', small('mixtral-8x7b', 5, { H: 64, I: 512, quantMode: 'mxfp4_bf16' }), 'normal', 'normal'],
  ['default-routing', small('qwen3-30b-a3b', 12, { H: 64, I: 32, E: 8, localExperts: 8, topK: 2, routing: { method: 'default' } }), 'normal', 'zero_hidden'],
  ['topk-routing', small('qwen3-30b-a3b', 12, { H: 64, I: 48, E: 8, localExperts: 8, topK: 3, routing: { method: 'topk' } }), 'normal', 'normal'],
  // More than 64 local experts (its full 128, small H and I), and a medium shape whose experts
  // get several token tiles each, on every tactic.
  ['qwen-e128', small('qwen3-30b-a3b', 48, { H: 256, I: 128 }), 'normal', 'normal'],
  ['qwen-medium', small('qwen3-30b-a3b', 300, { H: 512, I: 256, E: 16, localExperts: 16, topK: 4 }), 'normal', 'decades'],
];

/** Export `plan` into outDir (emptied first); returns the case names. */
export function exportCases(outDir: string, plan: ReadonlyArray<readonly [string, Problem, LogitFamily, ScaleFamily]> = EXPORT_PLAN): string[] {
  rmSync(outDir, { recursive: true, force: true });
  return plan.map(([name, problem, logitFamily, scaleFamily], i) => {
    exportCase(outDir, name, { problem, seed: 1000 + i, logitFamily, scaleFamily });
    return name;
  });
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === realpathSync(process.argv[1])) {
  const outDir = path.resolve(process.argv[2] ?? path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'build', 'cases'));
  for (const name of exportCases(outDir)) console.log(`exported ${name}`);
  console.log(`${EXPORT_PLAN.length} cases in ${outDir}`);
}
