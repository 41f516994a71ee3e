/**
 * GPU suite: our CUDA kernel judged through the C ABI (libmoe_abi_native.so via the lib
 * provider) against the same kernel through the direct addon, on the same cases:
 *   1. bit-identical output, ids and weights for every (case, tactic), the same tactic
 *      lists, and every ABI run echoing its forced tactic;
 *   2. the same disposition (and worst/bound) per (case, tactic) from the campaign;
 *   3. a catalog fault (gate_up_swapped) caught through the C ABI door, on
 *      libmoe_abi_native_faults.so (node native/build.mjs --faults; absent: skipped loudly,
 *      a failure under MOE_HARNESS_REQUIRE_GPU=1).
 * Cases: gpuRandomCases(50 × MOE_HARNESS_RUNS, MOE_HARNESS_SEED); MOE_HARNESS_RUNS=20 gives
 * 1,000 cases (then raise ava's inactivity timeout, e.g. `--timeout=90m`: one
 * test runs both doors over every case). Without a usable CUDA device every test here SKIPS
 * loudly; with MOE_HARNESS_REQUIRE_GPU=1 it FAILS instead.
 *
 *   MOE_HARNESS_REQUIRE_GPU=1 MOE_HARNESS_RUNS=20 npx ava --timeout=90m harness/kernels/libDoors.test.ts
 */
import test from 'ava';
import { existsSync } from 'node:fs';
import { runs } from '../../properties/runs.js';
import { runCampaign } from '../campaign.js';
import { gpuAvailability } from '../gpuAvailability.js';
import { gpuRandomCases } from '../gpuPlan.js';
import type { ReferenceCache } from '../referenceFor.js';
import { FAULTS } from '../faults.js';
import { abiLibraryPath } from './libHost.js';
import { runDoor } from './libDoors.js';

const SEED = Number(process.env.MOE_HARNESS_SEED ?? 1);
const N = runs(50);
const REQUIRE = process.env.MOE_HARNESS_REQUIRE_GPU === '1';
const LIB = abiLibraryPath('native');
const gpu = await gpuAvailability();
const missing = !gpu.available ? `no usable CUDA device (${gpu.detail})` : !existsSync(LIB) ? `${LIB} is not built (node native/build.mjs)` : null;

if (missing !== null) {
  if (REQUIRE) {
    test('GPU: native kernel through the C ABI (MOE_HARNESS_REQUIRE_GPU=1)', (t) => t.fail(`${missing}, but MOE_HARNESS_REQUIRE_GPU=1 requires it`));
  } else {
    const bar = '!'.repeat(78);
    console.warn(`\n${bar}\n!! moe-harness C ABI GPU suite SKIPPED: ${missing}.\n!! Our kernel was NOT judged through the C ABI. Set MOE_HARNESS_REQUIRE_GPU=1 on GPU runners.\n${bar}\n`);
    test.skip(`GPU: C ABI door vs direct addon, bit-identical outputs — SKIPPED, ${missing}`, () => undefined);
    test.skip(`GPU: C ABI door vs direct addon, equal dispositions — SKIPPED, ${missing}`, () => undefined);
    test.skip(`GPU: a catalog fault caught through the C ABI door — SKIPPED, ${missing}`, () => undefined);
  }
} else {
  const cases = gpuRandomCases(N, SEED);
  const specs = cases.map((c) => c.spec);

  test.serial(`GPU (${gpu.detail}): ${N} cases × every tactic, C ABI door bit-identical to the direct addon`, async (t) => {
    const [direct, abi] = [await runDoor('native', specs), await runDoor('abi', specs)];
    t.is(direct.error, undefined, direct.error);
    t.is(abi.error, undefined, abi.error);
    const problems: string[] = [];
    for (const [i, d] of direct.cases.entries()) {
      const a = abi.cases[i];
      if (a === undefined) { problems.push(`case ${i}: missing through the C ABI`); continue; }
      if ((d.error === undefined) !== (a.error === undefined)) problems.push(`case ${i} ${d.problem}: direct ${d.error ?? 'prepared'}, abi ${a.error ?? 'prepared'}`);
      if (d.tactics.join(',') !== a.tactics.join(',')) problems.push(`case ${i} ${d.problem}: tactics direct [${d.tactics}] abi [${a.tactics}]`);
    }
    const key = (r: { caseIndex: number; tactic: string }): string => `${r.caseIndex} ${r.tactic}`;
    const abiBy = new Map(abi.records.map((r) => [key(r), r]));
    let compared = 0;
    for (const d of direct.records) {
      const a = abiBy.get(key(d));
      if (a === undefined) { problems.push(`${key(d)}: no C ABI record`); continue; }
      if (d.error !== undefined || a.error !== undefined) {
        if ((d.error === undefined) !== (a.error === undefined)) problems.push(`${key(d)}: direct ${d.error ?? 'ran'}, abi ${a.error ?? 'ran'}`);
        continue;
      }
      compared++;
      if (a.digest !== d.digest) problems.push(`${key(d)} (${direct.cases[d.caseIndex]!.problem}): outputs differ (sha256 direct ${d.digest.slice(0, 16)}, abi ${a.digest.slice(0, 16)})`);
      if (a.executed !== d.tactic) problems.push(`${key(d)}: the C ABI run echoed ${a.executed}`);
      if (!a.deterministic || !d.deterministic) problems.push(`${key(d)}: not deterministic (direct ${d.deterministic}, abi ${a.deterministic})`);
    }
    t.log(`${compared} (case, tactic) pairs compared bit for bit over ${N} cases; ${problems.length} differences`);
    t.deepEqual(problems.slice(0, 20), []);
    t.is(compared, direct.records.length);
    t.true(compared > 0);
  });

  test.serial(`GPU (${gpu.detail}): ${N} cases × every tactic, equal dispositions through both doors`, async (t) => {
    const cache: ReferenceCache = new Map();
    const direct = await runCampaign(cases, { kernel: { kind: 'native' }, isolation: 'child', referenceCache: cache });
    const abi = await runCampaign(cases, { kernel: { kind: 'lib', library: LIB }, isolation: 'child', referenceCache: cache });
    const key = (r: { caseIndex: number; tactic: string }): string => `${r.caseIndex} ${r.tactic}`;
    const abiBy = new Map(abi.records.map((r) => [key(r), r]));
    const problems: string[] = [];
    for (const d of direct.records) {
      const a = abiBy.get(key(d));
      if (a === undefined) problems.push(`${key(d)} ${d.problem}: no C ABI record (direct ${d.disposition})`);
      else if (a.disposition !== d.disposition || (a.verdict.worst?.ratio ?? 0) !== (d.verdict.worst?.ratio ?? 0)) {
        problems.push(`${key(d)} ${d.problem}: direct ${d.disposition} (worst ${d.verdict.worst?.ratio}), abi ${a.disposition} (worst ${a.verdict.worst?.ratio}): ${a.verdict.lines[0] ?? ''}`);
      }
    }
    if (abi.records.length !== direct.records.length) problems.push(`records: direct ${direct.records.length}, abi ${abi.records.length}`);
    const count = (r: typeof direct, d: string): number => r.records.filter((x) => x.disposition === d).length;
    t.log(`direct: ${direct.records.length} records (${count(direct, 'passed')} passed, ${count(direct, 'not_supported')} not supported) in ${(direct.elapsedMs / 1000).toFixed(0)} s; ` +
      `C ABI: ${abi.records.length} records (${count(abi, 'passed')} passed) in ${(abi.elapsedMs / 1000).toFixed(0)} s`);
    t.deepEqual(problems.slice(0, 20), []);
  });

  const FAULTS_LIB = abiLibraryPath('nativeFaults');
  const faultTitle = `GPU (${gpu.detail}): gate_up_swapped caught through the C ABI door (libmoe_abi_native_faults.so)`;
  if (!existsSync(FAULTS_LIB)) {
    const why = `${FAULTS_LIB} is not built (node native/build.mjs --faults)`;
    if (REQUIRE) test(faultTitle, (t) => t.fail(`${why}, but MOE_HARNESS_REQUIRE_GPU=1`));
    else {
      console.warn(`!! C ABI fault test SKIPPED: ${why}`);
      test.skip(`${faultTitle} — SKIPPED, ${why}`, () => undefined);
    }
  } else {
    test.serial(faultTitle, async (t) => {
      const kernel = { kind: 'lib' as const, library: FAULTS_LIB, env: { MOE_ABI_NATIVE_FAULT: String(FAULTS.gate_up_swapped.code) } };
      const r = await runCampaign(cases.slice(0, 5), { kernel, isolation: 'child' });
      const bad = r.records.filter((x) => x.disposition === 'incorrect');
      t.true(bad.length > 0, `no record incorrect among ${r.records.length}`);
      t.true(bad.some((x) => x.verdict.findings.some((f) => f.kind === 'beyond_bound')));
      t.regex(bad[0]!.replay, /^MOE_ABI_NATIVE_FAULT=2 npx moe-harness replay .* --kernel lib:\S+libmoe_abi_native_faults\.so$/);
      t.log(`${bad.length}/${r.records.length} records incorrect; e.g. ${bad[0]!.verdict.lines[0]}`);
      // Without the variable the faults library is our correct kernel.
      const clean = await runCampaign(cases.slice(0, 5), { kernel: { kind: 'lib', library: FAULTS_LIB }, isolation: 'child' });
      t.deepEqual(clean.records.filter((x) => x.disposition === 'incorrect' || x.disposition === 'crashed').map((x) => x.verdict.lines[0]), []);
    });
  }
}
