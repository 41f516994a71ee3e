/**
 * The C ABI door on the CPU: the campaign drives libmoe_abi_cpu.so (native/abi/testlib)
 * through the host addon in its child process. The correct library passes on every
 * quant mode and routing method; each misbehaving mode (MOE_ABI_TESTLIB_MODE, set in the
 * child through KernelChoice.env) produces the finding it must; a library is never
 * loaded in this (main) process. The libraries are built by node native/build.mjs with
 * moe_native (g++ and cmake only, no nvcc): if they are missing the suite FAILS.
 */
import test from 'ava';
import { existsSync } from 'node:fs';
import type { CaseSpec } from '../../reference/case.js';
import type { Problem } from '../../reference/problem.js';
import { runCampaign, type CampaignResult } from '../campaign.js';
import { main } from '../cli.js';
import { propertyReplayCommand } from '../propertyCampaign.js';
import { testProblem } from '../../reference/testing/testProblem.js';
import type { FindingKind } from '../verdict.js';
import { abiCase } from './libCase.js';
import { abiLibraryPath, nativeReleaseDir } from './libHost.js';
import { runDoor } from './libDoors.js';
import { createKernel, kernelLabel, type KernelChoice } from './select.js';
import { generateCase } from '../../reference/generate.js';
import { runs } from '../../properties/runs.js';
import { caseMix } from '../caseMix.js';

const CPU_LIB = abiLibraryPath('cpu');
const BUILT = existsSync(CPU_LIB) && existsSync(`${nativeReleaseDir()}/moe_abi_host.node`);
const NOT_BUILT = `the C ABI host or test library is not built (${CPU_LIB}): run node native/build.mjs (needs only g++ and cmake)`;

const spec = (problem: Partial<Problem>, seed: number): CaseSpec => ({
  problem: testProblem(problem), seed, logitFamily: 'normal', scaleFamily: 'normal',
});

/** Small cases over every quant mode and routing method the test library supports. */
const CASES: CaseSpec[] = [
  spec({}, 1),
  spec({ T: 5, routing: { method: 'default' } }, 2),
  spec({ T: 7, routing: { method: 'renormalize_naive' }, quantMode: 'mxfp4_mxfp8' }, 3),
  spec({ T: 6, routing: { method: 'topk' }, quantMode: 'mxfp4_bf16' }, 4),
  spec({ T: 4, topK: 1, routing: { method: 'llama4' } }, 5),
  spec({ T: 8, E: 16, localExperts: 16, topK: 4, routing: { method: 'deepseek_v3', nGroup: 4, topkGroup: 2, routedScalingFactor: 2.5 }, biasDtype: 'float32' }, 6),
  spec({ T: 3, E: 12, localOffset: 4, localExperts: 6, logitsDtype: 'bfloat16' }, 7),
  spec({ T: 5, quantMode: 'mxfp4_bf16', activation: { kind: 'swiglu_clamped', alpha: 1.702, beta: 1, limit: 7 } }, 8),
  { ...spec({ T: 9 }, 9), logitFamily: 'ties' },
  { ...spec({ T: 6, quantMode: 'mxfp4_mxfp8' }, 10), scaleFamily: 'zero_blocks' },
];

const lib = (env?: Record<string, string>): KernelChoice => ({ kind: 'lib', library: CPU_LIB, ...(env ? { env } : {}) });
const mode = (m: string): KernelChoice => lib({ MOE_ABI_TESTLIB_MODE: m });

function kinds(r: CampaignResult): Set<FindingKind> {
  return new Set(r.records.flatMap((x) => x.verdict.findings.map((f) => f.kind)));
}

if (!BUILT) {
  test('C ABI door (CPU)', (t) => t.fail(NOT_BUILT));
} else {
  test('abiCase: every tensor names its ABI dtype and a shape whose size matches its bytes', (t) => {
    const bytes: Record<string, number> = { f32: 4, bf16: 2, i32: 4, e2m1x2: 1, e4m3: 1, ue8m0: 1 };
    for (const s of CASES.slice(0, 8)) {
      const c = abiCase(generateCase(s));
      for (const [name, v] of Object.entries(c)) {
        if (name === 'problem' || v === null) continue;
        const tensor = v as { dtype: string; shape: number[]; data: ArrayBufferView };
        const n = tensor.shape.reduce((a, b) => a * b, 1);
        t.is(n * bytes[tensor.dtype]!, tensor.data.byteLength, `${name} of ${s.problem.quantMode}`);
      }
      t.is(c.problem.routingMethod, s.problem.routing.method);
    }
  });

  test('a lib: kernel is never constructed in the main process (inline isolation is refused)', async (t) => {
    const e = await t.throwsAsync(createKernel(lib()));
    t.is(e?.name, 'BadArgumentError');
    t.regex(e!.message, /isolation: expected 'child' for a lib: kernel/);
    await t.throwsAsync(runCampaign([{ spec: CASES[0]! }], { kernel: lib(), isolation: 'inline' }), { message: /isolation/ });
  });

  test('CLI: --kernel lib:PATH with --isolation inline, a missing file, or a --fault is exit 2 naming the option', async (t) => {
    const io = () => {
      const err: string[] = [];
      return { err, io: { out: () => undefined, err: (s: string) => { err.push(s); } } };
    };
    for (const [args, re] of [
      [['check', '--kernel', `lib:${CPU_LIB}`, '--isolation', 'inline', '--runs', '1'], /--isolation: expected child/],
      [['check', '--kernel', 'lib:/nonexistent/libx.so', '--runs', '1'], /--kernel: expected lib:PATH naming an existing shared library/],
      [['check', '--kernel', `lib:${CPU_LIB}`, '--fault', 'gate_up_swapped', '--runs', '1'], /--fault: expected a kernel kind with the fault catalog \(native, emulated\); a lib: kernel has its own faults, got lib/],
      [['check', '--kernel', 'bogus', '--runs', '1'], /--kernel: expected native \| emulated \| cmd:COMMAND \| lib:PATH, got "bogus"/],
    ] as const) {
      const c = io();
      t.is(await main([...args], c.io), 2, args.join(' '));
      t.regex(c.err.join('\n'), re);
    }
  });

  test('tactics --kernel lib:PATH describes the library and gives the reason of every tactic that cannot run (from a child)', async (t) => {
    const out: string[] = [];
    const err: string[] = [];
    const code = await main(['tactics', '--config', 'qwen3-30b-a3b', '--T', '64', '--kernel', `lib:${CPU_LIB}`], { out: (s) => out.push(s), err: (s) => err.push(s) });
    t.is(code, 3, err.join('\n')); // qwen3-30b-a3b is beyond the test library's size limit
    t.regex(out.join('\n'), /moe-abi-cpu \(moe-abi-cpu testlib 1 \(mode correct.*\)\) on cpu, C ABI 1\.0[\s\S]*not supported: UnsupportedProblemError: .*T\*k\*3\*H\*I <= 2\^31/);
    const small = JSON.stringify(CASES[0]);
    const out2: string[] = [];
    t.is(await main(['tactics', '--case', small, '--kernel', `lib:${CPU_LIB}`], { out: (s) => out2.push(s), err: () => undefined }), 0);
    t.regex(out2.join('\n'), /4 tactics\n  8\/0\n  32\/0\n  8\/1\n  32\/1\n  128\/0  cannot run: tile 128 needs T >= 64, T is 9/);
  });

  test(`the correct CPU library passes every tactic of ${CASES.length} cases over every quant mode and routing method`, async (t) => {
    const r = await runCampaign(CASES.map((s) => ({ spec: s })), { kernel: lib(), referencePrecision: 'float64' });
    const bad = r.records.filter((x) => x.disposition !== 'passed');
    t.deepEqual(bad.map((x) => `${x.problem} ${x.tactic}: ${x.verdict.lines[0]}`), []);
    t.is(r.childStarts, 1);
    // T < 64 everywhere: tile 128 is refused by can_implement, so 2 tiles x 2 configs run.
    t.is(r.records.length, CASES.length * 4);
    t.is(r.kernel, kernelLabel(lib()));
    const worst = Math.max(...r.records.map((x) => x.verdict.worst?.ratio ?? 0));
    t.log(`${r.records.length} records passed; worst/bound ${worst.toFixed(3)}`);
  });

  const MIX = runs(60);
  test(`no false alarm on the correct CPU library over ${MIX} cases of the default small mix (every scenario)`, async (t) => {
    const r = await runCampaign(caseMix({ runs: MIX, seed: 77 }).map((s) => ({ spec: s })), { kernel: lib(), referencePrecision: 'float64' });
    const bad = r.records.filter((x) => x.disposition !== 'passed');
    t.deepEqual(bad.map((x) => `${x.problem} ${x.tactic} ${x.disposition}: ${x.verdict.lines[0]}\n  ${x.replay}`), []);
    const worst = Math.max(...r.records.map((x) => x.verdict.worst?.ratio ?? 0));
    t.log(`${r.records.length} records over ${MIX} cases passed; worst/bound ${worst.toFixed(3)}; ${(r.elapsedMs / 1000).toFixed(0)} s`);
  });

  const one = [{ spec: CASES[0]! }, { spec: CASES[2]! }];

  test('a library of another ABI major is refused at load, naming the library and both versions', async (t) => {
    const r = await runCampaign(one, { kernel: mode('wrong_abi'), referencePrecision: 'float64' });
    t.true(r.records.every((x) => x.disposition === 'crashed' && x.tactic === '*'));
    t.regex(r.records[0]!.verdict.lines[0]!, /libmoe_abi_cpu\.so: ABI version: expected major 1 .*got 99\.0/);
  });

  test('a file that is not a library, or a library without moe_kernel_api, is refused naming the file', async (t) => {
    const notElf = await runCampaign([one[0]!], { kernel: { kind: 'lib', library: 'package.json' }, referencePrecision: 'float64' });
    t.regex(notElf.records[0]!.verdict.lines[0]!, /C ABI library \S*package\.json: dlopen failed/);
    const libm = '/lib/x86_64-linux-gnu/libm.so.6';
    if (existsSync(libm)) {
      const r = await runCampaign([one[0]!], { kernel: { kind: 'lib', library: libm }, referencePrecision: 'float64' });
      t.is(r.records[0]!.disposition, 'crashed');
      t.regex(r.records[0]!.verdict.lines[0]!, /libm\.so\.6: does not export moe_kernel_api/);
    }
  });

  test('a run that executes another tactic than the forced one is incorrect (tactic echo)', async (t) => {
    const r = await runCampaign(one, { kernel: mode('lie_tactic'), referencePrecision: 'float64' });
    const lied = r.records.filter((x) => x.tactic.endsWith('/1') || x.tactic.endsWith('/0'));
    t.true(lied.length > 0 && lied.every((x) => x.disposition === 'incorrect'));
    t.true(kinds(r).has('malformed'));
    t.regex(r.records.find((x) => x.tactic === '8/1')!.verdict.lines[0]!, /^tactic=run 1: kernel lib:\S+libmoe_abi_cpu\.so was forced to tactic 8\/1 but reports executing "8\/0" .*, reference the forced tactic 8\/1/);
  });

  test('a run that echoes no tactic is incorrect', async (t) => {
    const r = await runCampaign(one, { kernel: mode('no_echo'), referencePrecision: 'float64' });
    t.true(r.records.every((x) => x.disposition === 'incorrect'));
    t.regex(r.records[0]!.verdict.lines[0]!, /executed no tactic it would name/);
  });

  test('a run that returns an error is crashed, naming the library, the call, the status and the message', async (t) => {
    const r = await runCampaign(one, { kernel: mode('run_error'), referencePrecision: 'float64' });
    t.true(r.records.every((x) => x.disposition === 'crashed'));
    t.regex(r.records[0]!.verdict.lines[0]!, /LibraryCallError: \S*libmoe_abi_cpu\.so: run returned MOE_STATUS_INTERNAL: run: test library mode run_error/);
    t.is(r.childStarts, 1);
  });

  test('a device error is crashed and restarts the child (its context may be poisoned); the campaign goes on', async (t) => {
    const r = await runCampaign(one, { kernel: mode('device_error'), referencePrecision: 'float64' });
    t.true(r.records.every((x) => x.disposition === 'crashed'));
    t.is(r.records.length, 8);
    t.regex(r.records[0]!.verdict.lines[0]!, /CudaError: .*libmoe_abi_cpu\.so: run returned MOE_STATUS_DEVICE_ERROR/);
    t.true(r.childStarts >= r.records.length, `child starts ${r.childStarts}`);
  });

  test('a library that crashes (SIGSEGV) kills only the child: every tactic crashed, the campaign completes', async (t) => {
    const r = await runCampaign(one, { kernel: mode('crash'), referencePrecision: 'float64' });
    t.is(r.records.length, 8);
    t.true(r.records.every((x) => x.disposition === 'crashed'));
    t.regex(r.records[0]!.verdict.lines[0]!, /child process died \(signal SIGSEGV\)/);
    t.true(r.childStarts >= 8);
  });

  test('a library that never returns is killed by the timeout: crashed, and the campaign goes on', async (t) => {
    const r = await runCampaign(one, { kernel: mode('hang'), tactics: ['8/0'], timeoutMs: 3000, referencePrecision: 'float64' });
    t.is(r.records.length, 2);
    t.true(r.records.every((x) => x.disposition === 'crashed'));
    t.regex(r.records[0]!.verdict.lines[0]!, /child process died \(timeout\)/);
  });

  test('a library that writes its inputs is incorrect (inputs_modified)', async (t) => {
    const r = await runCampaign(one, { kernel: mode('write_inputs'), referencePrecision: 'float64' });
    t.true(r.records.every((x) => x.disposition === 'incorrect'));
    t.true(kinds(r).has('inputs_modified'));
  });

  for (const [m, what] of [['weights_bf16_bits', 'routing weights written as bf16 bits in float32'], ['ids_out_of_range', 'an expert id outside [0, E)']] as const) {
    test(`a library that returns ${what} is incorrect (routing)`, async (t) => {
      const r = await runCampaign(one, { kernel: mode(m), referencePrecision: 'float64' });
      t.true(r.records.every((x) => x.disposition === 'incorrect'));
      t.true(kinds(r).has('routing'), [...kinds(r)].join(','));
      t.log(r.records[0]!.verdict.lines[0]);
    });
  }

  test('a library with swapped gate/up halves is incorrect (beyond_bound)', async (t) => {
    const r = await runCampaign(one, { kernel: mode('gate_up_swapped'), referencePrecision: 'float64' });
    t.true(r.records.every((x) => x.disposition === 'incorrect'));
    t.true(kinds(r).has('beyond_bound'));
  });

  test('an enumerated tactic that refuses to run is incorrect (refused)', async (t) => {
    const r = await runCampaign(one, { kernel: mode('refuse_run'), referencePrecision: 'float64' });
    t.true(r.records.every((x) => x.disposition === 'incorrect'));
    t.true(kinds(r).has('refused'));
    t.regex(r.records[0]!.verdict.lines[0]!, /libmoe_abi_cpu\.so: run.*refuse_run refuses tactic 8\/0/);
  });

  test('a failing prepare crashes every tactic of the case (caseRunner.ts: known tactics keep their records), naming the library and the call', async (t) => {
    const r = await runCampaign(one, { kernel: mode('prepare_error'), referencePrecision: 'float64' });
    t.is(r.records.length, 8); // 2 cases × 4 tactics of the test library
    t.true(r.records.every((x) => x.disposition === 'crashed' && x.tactic !== '*'));
    t.regex(r.records[0]!.verdict.lines[0]!, /libmoe_abi_cpu\.so: prepare returned MOE_STATUS_INTERNAL/);
  });

  test('the replay command of a lib: record carries the library and its environment', async (t) => {
    const r = await runCampaign([{ spec: CASES[0]! }], { kernel: mode('gate_up_swapped'), tactics: ['8/0'], referencePrecision: 'float64' });
    t.regex(r.records[0]!.replay, /^MOE_ABI_TESTLIB_MODE=gate_up_swapped npx moe-harness replay --case '.*' --tactic 8\/0 --kernel lib:\/\S+libmoe_abi_cpu\.so$/);
    // The property campaign's replay line too (propertyCampaign.ts), through the same prefix.
    t.regex(propertyReplayCommand(mode('gate_up_swapped'), 7, '0:1'), /^MOE_ABI_TESTLIB_MODE=gate_up_swapped npx moe-harness check --generator property --seed 7 --path "0:1" --kernel lib:\/\S+libmoe_abi_cpu\.so$/);
  });

  test('runDoor (the doors comparer of the GPU suite) on the CPU library: digests, echo, determinism, times', async (t) => {
    const specs = [CASES[0]!, CASES[3]!];
    const [a, b] = [await runDoor('abi', specs, { library: CPU_LIB, repeats: 3 }), await runDoor('abi', specs, { library: CPU_LIB })];
    t.is(a.error, undefined);
    t.is(a.records.length, 8);
    for (const r of a.records) {
      t.is(r.executed, r.tactic);
      t.true(r.deterministic);
      t.is(r.wallMs.length, 3);
      t.is(r.kernelMs.length, 3);
      t.regex(r.digest, /^[0-9a-f]{64}$/);
    }
    // Same bytes in another process; config 0 and 1 (another float32 order) may differ.
    t.deepEqual(b.records.map((r) => r.digest), a.records.map((r) => r.digest));
    // Our engine behind the ABI loads in a child anywhere; without a GPU its prepare says why.
    const viaAbi = await runDoor('abi', specs.slice(0, 1), { library: abiLibraryPath('native') });
    t.is(viaAbi.error, undefined);
    const why = viaAbi.cases[0]!.error;
    t.log(`libmoe_abi_native.so here: ${why ?? `${viaAbi.records.length} records`}`);
    if (why !== undefined) t.regex(why, /libmoe_abi_native\.so: prepare( returned MOE_STATUS_DEVICE_ERROR|: expected a problem the library supports, got device:)/);
  });

  test('the minimal example library of docs/c-abi.md passes its problems and declines the others', async (t) => {
    const example = abiLibraryPath('example');
    const mine = [
      spec({ T: 5, quantMode: 'mxfp4_bf16' }, 11),
      spec({ T: 3, E: 12, localOffset: 2, localExperts: 7, topK: 3, quantMode: 'mxfp4_bf16' }, 12),
      { ...spec({ T: 6, quantMode: 'mxfp4_bf16' }, 13), logitFamily: 'all_negative' as const },
    ];
    const r = await runCampaign([...mine, CASES[0]!].map((s) => ({ spec: s })), { kernel: { kind: 'lib', library: example }, referencePrecision: 'float64' });
    t.deepEqual(r.records.map((x) => `${x.tactic} ${x.disposition}`), ['1/0 passed', '1/0 passed', '1/0 passed', '* not_supported']);
    t.regex(r.records[3]!.verdict.lines[0]!, /quant mode of lib:.*libmoe_abi_example\.so: expected one of mxfp4_bf16, got nvfp4/);
    // Shapes and data families of the default mix, made into the example's problems.
    const mix = caseMix({ runs: runs(40), seed: 5 }).map((s): CaseSpec => ({
      ...s, problem: { ...s.problem, quantMode: 'mxfp4_bf16', routing: { method: 'renormalize' }, activation: { kind: 'swiglu' }, logitsDtype: 'float32', biasDtype: 'none' },
    }));
    const m = await runCampaign(mix.map((s) => ({ spec: s })), { kernel: { kind: 'lib', library: example }, referencePrecision: 'float64' });
    t.deepEqual(m.records.filter((x) => x.disposition !== 'passed' && x.disposition !== 'not_supported').map((x) => `${x.problem}: ${x.verdict.lines[0]}`), []);
    t.log(`example over ${mix.length} mix cases: ${m.records.filter((x) => x.disposition === 'passed').length} passed`);
    t.true(m.records.every((x) => x.disposition === 'passed'));
  });
}
