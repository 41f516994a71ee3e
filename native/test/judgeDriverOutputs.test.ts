import test from 'ava';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { CaseSpec, LogitFamily, ScaleFamily } from '../../reference/case.js';
import { configProblem } from '../../reference/configs.js';
import { generateCase } from '../../reference/generate.js';
import type { Problem } from '../../reference/problem.js';
import { POISON } from '../../harness/caseRunner.js';
import { createKernel } from '../../harness/kernels/select.js';
import { readDriverResults, RESULTS_DIR, RESULTS_FILE, runFile, writeDriverResults, type DriverTactic } from './driverResults.js';
import { exportCases, SPEC_FILE } from './exportCases.js';
import { main } from './judgeDriverOutputs.js';

// A CPU stand-in for moe_gpu_check --cases: the emulated kernel's outputs for every tactic,
// written in the driver's format (driverResults.ts), judged by the TS command.
const PLAN: ReadonlyArray<readonly [string, Problem, LogitFamily, ScaleFamily]> = [
  ['a-qwen', configProblem('qwen3-30b-a3b', 9, { H: 64, I: 64, E: 8, localExperts: 8, topK: 2 }), 'normal', 'normal'],
  ['b-dsv3-ep', configProblem('deepseek-v3', 7, { H: 64, I: 64, E: 32, localExperts: 16, localOffset: 8, routing: { method: 'deepseek_v3', nGroup: 4, topkGroup: 2, routedScalingFactor: 2.5 } }), 'normal', 'normal'],
];

async function standIn(dir: string, runs = 2): Promise<void> {
  const kernel = await createKernel({ kind: 'emulated' });
  try {
    for (const [name] of PLAN) {
      const spec = JSON.parse(readFileSync(path.join(dir, name, SPEC_FILE), 'utf8')) as CaseSpec;
      const c = generateCase(spec);
      const { tactics } = await kernel.tactics(spec.problem);
      const handle = await kernel.prepare(c);
      const results: DriverTactic[] = [];
      for (const t of tactics) {
        const before = await kernel.inputsDigest(handle);
        const rs = [];
        for (let r = 0; r < runs; r++) {
          const poison = POISON[r % 2]!;
          const o = await kernel.run(handle, t, { poison });
          rs.push({ poison, ms: o.ms ?? 0, output: o.output, ids: o.ids, weights: o.weights });
        }
        results.push({ label: t.label, kind: 'ran', digests: [before, await kernel.inputsDigest(handle)], runs: rs });
      }
      await kernel.release(handle);
      writeDriverResults(path.join(dir, name), { tacticCount: tactics.length, tactics: results, complete: true });
    }
  } finally {
    await kernel.close();
  }
}

async function judged(dir: string, ...args: string[]): Promise<{ code: number; lines: string[] }> {
  const lines: string[] = [];
  const code = await main([dir, ...args], (l) => lines.push(...l.split('\n')));
  return { code, lines };
}

function fresh(t: { teardown: (f: () => void) => void }): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'driver-judge-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  exportCases(dir, PLAN);
  return dir;
}

/** Overwrite run R's array file of a tactic of a case. */
function patch(dir: string, name: string, label: string, run: number, array: 'output' | 'ids' | 'weights', f: (b: Buffer) => void): void {
  const file = path.join(dir, name, RESULTS_DIR, runFile(label, run, array));
  const b = readFileSync(file);
  f(b);
  writeFileSync(file, b);
}

test('the emulated kernel in the driver format: every (case, tactic) passes, judged by harness/judge.ts', async (t) => {
  const dir = fresh(t);
  await standIn(dir);
  const { code, lines } = await judged(dir);
  const last = lines.at(-1)!;
  const m = /^(\d+) passed, (\d+) failed/.exec(last);
  t.truthy(m, last);
  t.true(Number(m![1]) >= 4, last); // two cases × at least two tactics
  t.is(Number(m![2]), 0, lines.join('\n'));
  t.is(code, 0, lines.join('\n'));
});

test('an injected output error in one tactic is caught, named in the finding grammar; the other tactics pass', async (t) => {
  const dir = fresh(t);
  await standIn(dir);
  const label = readDriverResults(path.join(dir, 'a-qwen'), PLAN[0]![1]).tactics[0]!.label;
  // out[t=4,h=10] doubled (bf16 exponent + 1) in both runs: deterministic, written, but wrong.
  const i = 4 * 64 + 10;
  for (const r of [1, 2]) patch(dir, 'a-qwen', label, r, 'output', (b) => {
    const v = b.readUInt16LE(2 * i);
    b.writeUInt16LE(v === 0 ? 0x3f80 : v + 0x80, 2 * i);
  });
  const { code, lines } = await judged(dir);
  t.is(code, 1);
  t.true(lines.some((l) => l.startsWith('INCORRECT: case a-qwen (') && l.endsWith(`) tactic ${label}`)), lines.join('\n'));
  t.true(lines.some((l) => l.includes('out[t=4,h=10]=') && l.includes(`tactic ${label}; seed 1000`)), lines.join('\n'));
  t.regex(lines.at(-1)!, /^\d+ passed, 1 failed/);
});

test('nondeterminism between runs and a never-written row are caught without any tolerance', async (t) => {
  const dir = fresh(t);
  await standIn(dir, 3);
  const label = readDriverResults(path.join(dir, 'b-dsv3-ep'), PLAN[1]![1]).tactics[0]!.label;
  patch(dir, 'b-dsv3-ep', label, 3, 'output', (b) => b.writeUInt16LE(b.readUInt16LE(0) ^ 1, 0)); // one last-bit flip in run 3
  const H = 64;
  const T = 7;
  for (const r of [1, 2, 3]) patch(dir, 'b-dsv3-ep', label, r, 'output', (b) => {
    for (let h = 0; h < H; h++) b.writeUInt16LE(POISON[(r - 1) % 2]!, 2 * ((T - 1) * H + h));
  });
  const { code, lines } = await judged(dir);
  t.is(code, 1);
  const text = lines.join('\n');
  t.regex(text, /nondeterministic|out\[t=0,h=0\]=.*run 3/);
  t.regex(text, new RegExp(`out\\[t=${T - 1},h=\\*\\]=poison`));
});

test('missing or cut-short results are failures, never passes', async (t) => {
  const dir = fresh(t);
  await standIn(dir);
  rmSync(path.join(dir, 'b-dsv3-ep', RESULTS_DIR), { recursive: true });
  const file = path.join(dir, 'a-qwen', RESULTS_DIR, RESULTS_FILE);
  writeFileSync(file, readFileSync(file, 'utf8').replace('complete\n', ''));
  const { code, lines } = await judged(dir);
  t.is(code, 1);
  t.true(lines.some((l) => l.startsWith('MISSING: case b-dsv3-ep:') && l.includes('missing')), lines.join('\n'));
  t.true(lines.some((l) => l.startsWith('MISSING: case a-qwen: the driver stopped')), lines.join('\n'));
});

test('inputs the spec does not generate are a harness error, not a verdict on the kernel', async (t) => {
  const dir = fresh(t);
  await standIn(dir);
  const f = path.join(dir, 'a-qwen', 'logits.bin');
  const b = readFileSync(f);
  b[0]! ^= 1;
  writeFileSync(f, b);
  const { code, lines } = await judged(dir);
  t.is(code, 1);
  t.true(lines.some((l) => l.startsWith('ERROR: case a-qwen')), lines.join('\n'));
  t.true(lines.some((l) => l.includes('logits.bin differs')), lines.join('\n'));
});

test('bad arguments: exit 2 naming the argument, expected and actual', async (t) => {
  const none = await judged('/nonexistent/driver-cases');
  t.is(none.code, 2);
  t.regex(none.lines[0]!, /DIR: expected a folder written by exportCases.ts, got "\/nonexistent\/driver-cases"/);
  const dir = fresh(t);
  const prec = await judged(dir, '--precision', 'float16');
  t.is(prec.code, 2);
  t.regex(prec.lines[0]!, /--precision: expected float32 or float64, got "float16"/);
});

test('the driver writes what driverResults.ts reads: the same poisons, file names and line keywords (gpu_check.cu)', (t) => {
  const src = readFileSync(new URL('./gpu_check.cu', import.meta.url), 'utf8');
  const poison = /constexpr uint16_t kPoison\[2\] = \{(0x[0-9a-f]+), (0x[0-9a-f]+)\};/.exec(src);
  t.truthy(poison, 'kPoison in gpu_check.cu');
  t.deepEqual([Number(poison![1]), Number(poison![2])], [...POISON]);
  // runFile(): "8/0", run 1, "output" → "8_0_r1.output.bin" on both sides.
  t.is(runFile('8/0', 1, 'output'), '8_0_r1.output.bin');
  t.true(src.includes('return l + "_r" + std::to_string(run) + "." + array + ".bin";'));
  t.true(src.includes("std::replace(l.begin(), l.end(), '/', '_');"));
  for (const piece of ['dir / "results"', '"results.txt"', 'line("tactics " +', 'line("tactic " + label + " crashed " +', 'line("tactic " + label + " ran " +',
    'line("run " + label + " " +', 'line("complete")']) {
    t.true(src.includes(piece), piece);
  }
  t.is(RESULTS_DIR, 'results');
  t.is(RESULTS_FILE, 'results.txt');
  // No MoE reference and no tolerance left in the driver.
  t.false(/relL2|tolerance\(|cpuRoute|cpuToken/.test(src));
});
