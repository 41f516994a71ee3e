/**
 * processBench: what door 2 (the process protocol) costs against driving the same kernel
 * directly, per (case, tactic) and relative to a campaign's wall time. The door side runs the
 * same provider behind nodeAdapter.ts, so the only difference is the door: spawn, the inputs
 * file written once per case on shared memory, one request/answer pair and one output file per
 * run. A benchmark (prints a table), not a test.
 *
 *   node --import tsx harness/kernels/processBench.ts                         # mid-size, emulated, CPU
 *   node dist/harness/kernels/processBench.js --config qwen3-235b-a22b --T 256 --kernel native --cases 3
 *
 * Two measurements per side, each over the same cases:
 *   campaign  the whole campaign (reference included), as `moe-harness check` runs it;
 *   kernel    the campaign again with the references already cached: the kernel side alone.
 * --isolation inline runs the direct side in this process (default: a child, as campaigns do).
 */
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';
import type { CampaignCase } from '../campaign.js';
import { runCampaign } from '../campaign.js';
import type { ReferenceCache } from '../referenceFor.js';
import { configProblem } from '../../reference/configs.js';
import { shutdownReference } from '../../reference/moe.js';
import type { Problem } from '../../reference/problem.js';
import { parseKernelSpec } from './kernelSpec.js';
import { createKernel, kernelLabel, type KernelChoice } from './select.js';
import { generateCase } from '../../reference/generate.js';

const MID: Problem = {
  T: 64, H: 1024, I: 512, E: 32, topK: 4, localOffset: 0, localExperts: 32, routing: { method: 'renormalize' },
  logitsDtype: 'float32', biasDtype: 'none', quantMode: 'nvfp4', activation: { kind: 'swiglu' },
};

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      config: { type: 'string' }, T: { type: 'string', default: '64' }, kernel: { type: 'string', default: 'emulated' },
      cases: { type: 'string', default: '2' }, tactic: { type: 'string' },
      isolation: { type: 'string', default: 'child' },
    },
  });
  const T = Number(values.T);
  const problem = values.config !== undefined ? configProblem(values.config, T) : { ...MID, T };
  const n = Number(values.cases);
  const cases: CampaignCase[] = Array.from({ length: n }, (_, i) => ({ spec: { problem, seed: 1000 + i, logitFamily: 'normal', scaleFamily: 'normal' } }));
  const direct = parseKernelSpec(values.kernel!);
  const here = fileURLToPath(import.meta.url);
  const adapter = here.endsWith('.ts') ? `node --import tsx ${here}`.replace('processBench.ts', 'nodeAdapter.ts') : `node ${here.replace('processBench.js', 'nodeAdapter.js')}`;
  const door: KernelChoice = { kind: 'cmd', command: `${adapter} --kernel ${values.kernel}`, name: `door2(${kernelLabel(direct)})`, timeoutS: 1800 };
  const tactics = values.tactic !== undefined ? { tactics: values.tactic.split(',') } : {};
  const rows: string[] = [];
  const results: Record<string, { wall: number; records: number; passed: number }> = {};
  const cache: ReferenceCache = new Map();
  for (const [mode, useCache] of [['campaign', false], ['kernel', true]] as const) {
    for (const [side, kernel] of [['direct', direct], ['door 2', door]] as const) {
      // The direct side as campaigns run it (child isolation), or inline (--isolation inline);
      // door 2 always drives its adapter process inline.
      const isolation = values.isolation === 'inline' ? 'inline' as const : 'child' as const;
      const r = await runCampaign(cases, { kernel, isolation, ...tactics, ...(useCache ? { referenceCache: cache } : {}) });
      results[`${mode}/${side}`] = { wall: r.elapsedMs, records: r.records.length, passed: r.records.filter((x) => x.disposition === 'passed').length };
      console.error(`${mode}/${side}: ${r.elapsedMs.toFixed(0)} ms, ${r.records.length} records, ${results[`${mode}/${side}`]!.passed} passed`);
    }
    if (!useCache) {
      // warm the cache: the references of these cases, computed once
      await runCampaign(cases, { kernel: direct, ...tactics, referenceCache: cache });
    }
  }
  // The door's own cost, measured around one case: prepare (inputs file written and read, the
  // provider's prepare) against the direct prepare, and per run the door's wall time minus the
  // kernel time the adapter reports (request, answer, output file written, read and checked),
  // plus the two inputs digests of a tactic.
  const c = generateCase(cases[0]!.spec);
  const directK = await createKernel(direct);
  const doorK = await createKernel(door);
  await doorK.describe();
  let t0 = performance.now();
  const hd = await directK.prepare(c);
  const prepDirect = performance.now() - t0;
  t0 = performance.now();
  const hp = await doorK.prepare(c);
  const prepDoor = performance.now() - t0;
  const tl = (await doorK.tactics(problem)).tactics.filter((x) => values.tactic === undefined || values.tactic.split(',').includes(x.label));
  let runOverhead = 0;
  let runsDone = 0;
  let digestMs = 0;
  for (const tactic of tl) {
    t0 = performance.now();
    await doorK.inputsDigest(hp);
    digestMs += performance.now() - t0;
    for (const poison of [0x7fa5, 0xffc3]) {
      t0 = performance.now();
      const o = await doorK.run(hp, tactic, { poison });
      runOverhead += performance.now() - t0 - (o.ms ?? 0);
      runsDone++;
    }
    t0 = performance.now();
    await doorK.inputsDigest(hp);
    digestMs += performance.now() - t0;
  }
  await directK.release(hd);
  await doorK.release(hp);
  await directK.close();
  await doorK.close();
  const perTactic = (2 * runOverhead) / runsDone + digestMs / tl.length;
  console.log(`door 2 own cost, one case: prepare ${prepDoor.toFixed(0)} ms (direct ${prepDirect.toFixed(0)} ms); per run ${(runOverhead / runsDone).toFixed(1)} ms beyond the kernel's own time; ` +
    `inputs digests ${(digestMs / tl.length).toFixed(1)} ms per tactic; per (case, tactic) ${perTactic.toFixed(1)} ms + ${((prepDoor - prepDirect) / tl.length).toFixed(1)} ms of prepare spread over ${tl.length} tactics`);
  for (const mode of ['campaign', 'kernel'] as const) {
    const d = results[`${mode}/direct`]!;
    const p = results[`${mode}/door 2`]!;
    const per = (p.wall - d.wall) / p.records;
    rows.push(`| ${mode} | ${d.wall.toFixed(0)} | ${p.wall.toFixed(0)} | ${p.records} | ${per.toFixed(1)} | ${(100 * (p.wall / d.wall - 1)).toFixed(1)} % | ${d.passed}/${d.records} · ${p.passed}/${p.records} |`);
  }
  console.log(`door 2 overhead · ${kernelLabel(direct)} · T=${problem.T} H=${problem.H} I=${problem.I} E=${problem.E} k=${problem.topK} ${problem.quantMode} · ${n} cases`);
  console.log('| measured | direct ms | door 2 ms | (case, tactic) records | overhead ms per (case, tactic) | added wall time | passed direct · door |');
  console.log('|---|---|---|---|---|---|---|');
  for (const r of rows) console.log(r);
  await shutdownReference();
}

main().catch((e: unknown) => {
  console.error(`processBench: ${(e as Error).stack ?? String(e)}`);
  process.exit(1);
});
