/**
 * Weights stored in several chunks (the layout of every tensor over the 1 GiB chunk limit,
 * reference/expertBytes.ts) go through every path bit for bit as the contiguous layout
 * does: generation (serial and on workers), caseDigest, both reference precisions, the
 * emulated kernel, the process door (inputs streamed to /dev/shm part by part, read back
 * in parts by the Node adapter), the C ABI door (in its child), the native addon's prepare
 * copy, and golden files. The limit is lowered for this file's process and its children
 * with MOE_EXPERT_CHUNK_BYTES (2 KiB: every weight tensor below spans several chunks).
 */
import test from 'ava';
import { existsSync } from 'node:fs';
import { decodeInputs, encodeInputs } from '../../goldens/goldenFiles.js';
import type { Case, CaseSpec } from '../../reference/case.js';
import { caseDigest } from '../../reference/caseDigest.js';
import type { ExpertBytes } from '../../reference/expertBytes.js';
import { generateCase } from '../../reference/generate.js';
import { generateCaseParallel, shutdownGenerationWorkers } from '../../reference/generate/parallel.js';
import { runReference } from '../../reference/moe.js';
import { testProblem } from '../../reference/testing/testProblem.js';
import { nativeBindingForTests, nativeStatus } from '../../native/index.js';
import { rawCase } from '../../native/rawArgs.js';
import { runCampaign, type CampaignResult } from '../campaign.js';
import { abiCase } from './libCase.js';
import { abiLibraryPath, loadAbiHost, nativeReleaseDir } from './libHost.js';
import { createKernel } from './select.js';

const CHUNK = 2048;
process.env.MOE_EXPERT_CHUNK_BYTES = String(CHUNK);
test.after.always(() => shutdownGenerationWorkers());

const SPECS: CaseSpec[] = [
  { problem: testProblem({ T: 6, H: 128, I: 64, E: 8, topK: 2, localExperts: 8 }), seed: 1, logitFamily: 'normal', scaleFamily: 'zero_blocks' },
  { problem: testProblem({ T: 5, H: 128, I: 128, E: 12, topK: 3, localOffset: 3, localExperts: 6, quantMode: 'mxfp4_mxfp8',
    activation: { kind: 'swiglu_clamped', alpha: 1.702, beta: 1, limit: 7 } }), seed: 2, logitFamily: 'normal', scaleFamily: 'zero_expert' },
  { problem: testProblem({ T: 4, H: 256, I: 64, E: 6, topK: 2, localExperts: 6, quantMode: 'mxfp4_bf16' }), seed: 3, logitFamily: 'ties', scaleFamily: 'decades' },
];

/** The same bytes in one chunk per tensor (the contiguous layout). */
const whole = (x: ExpertBytes): ExpertBytes => x.relayout({ chunkBytes: 2 ** 32 - 1 });
function contiguous(c: Case): Case {
  return {
    ...c,
    fc1: { ...c.fc1, packed: whole(c.fc1.packed), scales: whole(c.fc1.scales) },
    fc2: { ...c.fc2, packed: whole(c.fc2.packed), scales: whole(c.fc2.scales) },
  };
}
/** The bytes of an ABI tensor's data (one view or parts in order). */
const joined = (d: ArrayBufferView | readonly ArrayBufferView[]): Buffer =>
  Buffer.concat((Array.isArray(d) ? d : [d]).map((v: ArrayBufferView) => Buffer.from(v.buffer, v.byteOffset, v.byteLength)));
const multiChunk = (c: Case): boolean => [c.fc1.packed, c.fc1.scales, c.fc2.packed, c.fc2.scales].every((x) => x.chunks.length > 1);

test.serial('generation: serial and on workers, the chunked layout holds the contiguous bytes', async (t) => {
  for (const spec of SPECS) {
    const c = generateCase(spec);
    t.true(multiChunk(c), 'MOE_EXPERT_CHUNK_BYTES splits every weight tensor');
    t.true([c.fc1.packed, c.fc2.packed].every((x) => x.chunks.every((ch) => ch.length <= Math.max(CHUNK, x.bytesPerExpert))));
    const flat = generateCase(spec, { chunkBytes: 2 ** 32 - 1 });
    t.is(flat.fc1.packed.chunks.length, 1);
    t.is(caseDigest(c), caseDigest(flat));
    const par = await generateCaseParallel(spec, { threads: 2, parallelFromBytes: 0 });
    t.true(multiChunk(par));
    t.is(caseDigest(par), caseDigest(flat));
  }
});

test.serial('reference, float32 and float64: every result bit for bit in both layouts', async (t) => {
  for (const spec of SPECS) {
    const c = generateCase(spec);
    const flat = contiguous(c);
    for (const precision of ['float32', 'float64'] as const) {
      const a = await runReference(c, { precision });
      const b = await runReference(flat, { precision });
      for (const key of ['outputF32', 'outputBf16', 'absAccum', 'flipAllowance', 'fragileTokens'] as const) {
        t.deepEqual(a[key], b[key], `${precision} ${key} of ${spec.problem.quantMode}`);
      }
      t.deepEqual(a.routing.ids, b.routing.ids);
    }
  }
});

test.serial('emulated kernel and the process door (Node adapter): the same outputs and input digests as the contiguous case direct', async (t) => {
  const direct = await createKernel({ kind: 'emulated' });
  const door = await createKernel({ kind: 'cmd', command: 'node --import tsx harness/kernels/nodeAdapter.ts --kernel emulated', timeoutS: 60 });
  try {
    for (const spec of SPECS) {
      const c = await generateCaseParallel(spec, { threads: 2, parallelFromBytes: 0 }); // shared memory, several chunks
      t.true(c.fc1.packed.shared && multiChunk(c));
      const flat = contiguous(generateCase(spec));
      const tactics = (await direct.tactics(spec.problem)).tactics.slice(0, 2);
      t.true(tactics.length > 0);
      const hFlat = await direct.prepare(flat);
      const hChunked = await direct.prepare(c);
      const hDoor = await door.prepare(c); // written part by part, read back in parts
      t.is(await direct.inputsDigest(hChunked), await direct.inputsDigest(hFlat));
      for (const tactic of tactics) {
        const want = await direct.run(hFlat, tactic, { poison: 0x7fc1 });
        const got = await direct.run(hChunked, tactic, { poison: 0x7fc1 });
        const viaDoor = await door.run(hDoor, tactic, { poison: 0x7fc1 });
        t.deepEqual(got.output, want.output, `emulated ${tactic.label}`);
        t.deepEqual(viaDoor.output, want.output, `process door ${tactic.label}`);
        t.deepEqual(viaDoor.ids, want.ids);
      }
      await direct.release(hFlat);
      await direct.release(hChunked);
      await door.release(hDoor);
    }
  } finally {
    await direct.close();
    await door.close();
  }
});

const key = (r: CampaignResult): string[] => r.records.map((x) => `${x.caseIndex} ${x.tactic} ${x.disposition} ${x.verdict.worst?.ratio ?? '-'}`);

test.serial('campaigns (emulated inline; the C ABI door in its child) judge the chunked cases exactly as the contiguous ones', async (t) => {
  const cases = SPECS.map((spec) => ({ spec }));
  const cpuLib = abiLibraryPath('cpu');
  const libBuilt = existsSync(cpuLib) && existsSync(`${nativeReleaseDir()}/moe_abi_host.node`);
  if (!libBuilt) t.log(`SKIP (loud): the C ABI door half: ${cpuLib} is not built (node native/build.mjs)`);
  const run = async () => ({
    emulated: key(await runCampaign(cases, { kernel: { kind: 'emulated' }, isolation: 'inline' })),
    lib: libBuilt ? key(await runCampaign(cases, { kernel: { kind: 'lib', library: cpuLib }, referencePrecision: 'float64' })) : [],
  });
  const chunked = await run();
  delete process.env.MOE_EXPERT_CHUNK_BYTES; // the children started now get the contiguous layout
  let flat: Awaited<ReturnType<typeof run>>;
  try {
    flat = await run();
  } finally {
    process.env.MOE_EXPERT_CHUNK_BYTES = String(CHUNK);
  }
  t.true(chunked.emulated.length >= SPECS.length);
  t.deepEqual(chunked.emulated, flat.emulated);
  t.deepEqual(chunked.lib, flat.lib);
  if (libBuilt) t.true(chunked.lib.length > 0 && chunked.lib.every((k) => k.includes(' passed ')), chunked.lib.join('\n'));
});

test.serial('C ABI tensors, golden files and the addon\'s prepare copy: the contiguous bytes', async (t) => {
  for (const [i, spec] of SPECS.entries()) {
    const c = generateCase(spec);
    const flat = contiguous(c);
    const a = abiCase(c);
    const b = abiCase(flat);
    for (const name of ['fc1Weights', 'fc1Scales', 'fc2Weights', 'fc2Scales'] as const) {
      t.true(Array.isArray(a[name].data), `${name}: the chunks are passed as parts`);
      t.true(joined(a[name].data).equals(joined(b[name].data)), name);
    }
    const bytes = encodeInputs(`chunked-${i}`, c);
    t.true(Buffer.from(bytes).equals(Buffer.from(encodeInputs(`chunked-${i}`, flat))), 'golden inputs bit for bit');
    const back = decodeInputs(`chunked-${i}`, spec, bytes);
    t.true(multiChunk(back), 'decoded into the chunked layout');
    t.is(caseDigest(back), caseDigest(c));
  }
  const s = nativeStatus();
  if (!s.loaded) {
    t.log(`SKIP (loud): the addon half: the native addon is not built: ${s.reason}`);
    if (process.env.MOE_HARNESS_REQUIRE_GPU === '1') t.fail('MOE_HARNESS_REQUIRE_GPU=1 and the addon is not built');
    return;
  }
  const raw = nativeBindingForTests();
  for (const spec of SPECS) {
    const c = generateCase(spec);
    const chunkedArgs = rawCase(raw.enums(), c) as unknown as Record<string, unknown>;
    t.true(Array.isArray(chunkedArgs.fc1Packed), 'passed as parts');
    t.is(await raw.copiedInputsDigest!(chunkedArgs, 0), await raw.copiedInputsDigest!(rawCase(raw.enums(), contiguous(c)), 0));
  }
});

test.serial('the C ABI host takes weights in shared memory and in parts (generateCaseParallel\'s layout): the bytes it holds are the contiguous ones', async (t) => {
  const host = loadAbiHost(); // in this test process: the correct CPU library only
  const cpuLib = abiLibraryPath('cpu');
  if (!host.ok || !existsSync(cpuLib)) {
    t.log(`SKIP (loud): the C ABI host or ${cpuLib} is not built: ${host.ok ? 'library missing' : host.reason}`);
    if (process.env.CI === 'true') t.fail('the C ABI host must be built on CI');
    else t.pass();
    return;
  }
  const lib = host.host.open(cpuLib);
  for (const spec of SPECS) {
    const shared = await generateCaseParallel(spec, { threads: 2, parallelFromBytes: 0 }); // SharedArrayBuffer chunks
    const one = await generateCaseParallel(spec, { threads: 2, parallelFromBytes: 0, chunkBytes: 2 ** 32 - 1 }); // one shared chunk each
    t.true(shared.fc1.packed.shared && one.fc1.packed.shared && one.fc1.packed.chunks.length === 1);
    const want = host.host.prepare(lib, abiCase(contiguous(generateCase(spec))));
    for (const c of [shared, one]) {
      const h = host.host.prepare(lib, abiCase(c));
      t.is(host.host.digest(h), host.host.digest(want), spec.problem.quantMode);
      host.host.release(h);
    }
    host.host.release(want);
  }
});
