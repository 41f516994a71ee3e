/**
 * Benchmark (not a test): the per-(case, tactic) overhead of the C ABI door against the
 * direct addon, for our CUDA kernel (libmoe_abi_native.so vs moe_native.node), weights
 * sent once per case. Each door runs in its own child process (libDoors.ts).
 *
 *   npx tsx harness/kernels/libDoorsBench.ts [--cases qwen3-30b-a3b:64,qwen3-235b-a22b:256] [--repeats 5] [--json FILE]
 *
 * Per case and door: prepare (upload + layout; through the ABI also the host's copy of the
 * inputs), then every tactic `repeats` times. Reported per case: prepare ms, the median over
 * tactics of the median wall ms per run (host side: the call, the device work, the copy
 * back), the same for the kernel's own time (CUDA events), and the C ABI's overhead per run
 * (wall ABI − wall direct) in ms and in % of the direct wall time; and the whole case
 * (prepare + every run) per door.
 */
import { writeFileSync } from 'node:fs';
import type { CaseSpec } from '../../reference/case.js';
import { configProblem } from '../../reference/configs.js';
import { BadArgumentError } from '../../reference/errors.js';
import { runDoor, type DoorRun } from './libDoors.js';

function parse(argv: readonly string[]): { cases: Array<{ name: string; T: number }>; repeats: number; json?: string } {
  let cases = 'qwen3-30b-a3b:64,qwen3-235b-a22b:256';
  let repeats = 5;
  let json: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const v = argv[i + 1];
    if (a === '--cases' && v !== undefined) { cases = v; i++; }
    else if (a === '--repeats' && v !== undefined) {
      repeats = Number(v);
      if (!Number.isInteger(repeats) || repeats < 1) throw new BadArgumentError('--repeats', 'an integer >= 1', v);
      i++;
    } else if (a === '--json' && v !== undefined) { json = v; i++; }
    else throw new BadArgumentError('argument', '--cases NAME:T[,NAME:T…], --repeats N or --json FILE', JSON.stringify(a));
  }
  return {
    cases: cases.split(',').map((s) => {
      const [name, t] = s.split(':');
      const T = Number(t);
      if (name === undefined || !Number.isInteger(T) || T < 1) throw new BadArgumentError('--cases', 'NAME:T with T an integer >= 1', JSON.stringify(s));
      return { name, T };
    }),
    repeats, ...(json !== undefined ? { json } : {}),
  };
}

const median = (xs: readonly number[]): number => {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};
const fmt = (x: number): string => (Number.isFinite(x) ? (x >= 100 ? x.toFixed(0) : x >= 1 ? x.toFixed(2) : x.toFixed(3)) : '—');

function summary(run: DoorRun, caseIndex: number): { prepare: number; wall: number; kernel: number; total: number; byTactic: Map<string, number> } {
  const recs = run.records.filter((r) => r.caseIndex === caseIndex && r.error === undefined);
  const byTactic = new Map(recs.map((r) => [r.tactic, median(r.wallMs)]));
  const prepare = run.cases[caseIndex]?.prepareMs ?? NaN;
  const total = prepare + recs.reduce((a, r) => a + r.wallMs.reduce((x, y) => x + y, 0), 0);
  return { prepare, wall: median([...byTactic.values()]), kernel: median(recs.map((r) => median(r.kernelMs))), total, byTactic };
}

async function main(): Promise<void> {
  const o = parse(process.argv.slice(2));
  const specs: CaseSpec[] = o.cases.map((c) => ({ problem: configProblem(c.name, c.T), seed: 1, logitFamily: 'normal', scaleFamily: 'normal' }));
  const direct = await runDoor('native', specs, { repeats: o.repeats });
  const abi = await runDoor('abi', specs, { repeats: o.repeats });
  for (const r of [direct, abi]) if (r.error) console.error(`${r.door}: ${r.error}`);
  const lines = [
    `C ABI door vs direct addon, ${o.repeats} runs per (case, tactic), medians`,
    '',
    '| case | tactics | prepare direct / ABI (ms) | wall per run direct / ABI (ms) | kernel per run (ms) | ABI overhead per run (ms, %) | whole case direct / ABI (ms) |',
    '|---|---|---|---|---|---|---|',
  ];
  for (const [i, s] of specs.entries()) {
    const d = summary(direct, i);
    const a = summary(abi, i);
    const over = [...d.byTactic].map(([t, w]) => (a.byTactic.get(t) ?? NaN) - w);
    const overMs = median(over);
    lines.push(`| ${s.problem.name} T=${s.problem.T} | ${d.byTactic.size} | ${fmt(d.prepare)} / ${fmt(a.prepare)} | ${fmt(d.wall)} / ${fmt(a.wall)} | ${fmt(d.kernel)} | ` +
      `${fmt(overMs)} (${fmt((100 * overMs) / d.wall)}%) | ${fmt(d.total)} / ${fmt(a.total)} |`);
    for (const r of [direct, abi]) if (r.cases[i]?.error) lines.push(`|  ${r.door}: ${r.cases[i]!.error} |`);
  }
  console.log(lines.join('\n'));
  if (o.json) writeFileSync(o.json, JSON.stringify({ specs, direct, abi }, null, 1));
}

main().catch((e: unknown) => {
  console.error(e instanceof BadArgumentError ? `libDoorsBench: ${e.message}` : e);
  process.exit(e instanceof BadArgumentError ? 2 : 1);
});
