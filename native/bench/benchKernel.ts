/**
 * `npm run bench:kernel` (GPU host, from the repository root): the native kernel's tactics
 * against the device-to-device copy bandwidth and a PyTorch bf16 MoE, measured in the same run
 * on the same GPU, as one table (benchTable.ts says what each column is).
 *
 * Each round runs two processes one after the other on the same GPU:
 *   1. native/build/bench/moe_bench (C++, the addon's engine; cmake --build native/build
 *      --target moe_bench): every valid tactic per (config, T), interleaved, median of --reps;
 *      the copy bandwidth before and after; the routing logits and ids per row;
 *   2. python3 native/bench/torch_moe_baseline.py: the PyTorch baseline over the same rows and
 *      the same logits (median of --reps), unless --torch=skip.
 * The table takes medians over --rounds rounds. Output: the table on stdout, and under --out
 * every round's raw JSON plus bench-kernel.json / bench-kernel.md.
 *
 * Options (all --name=value): --rounds=3 --reps=7 --configs=deepseek-v3,qwen3-235b-a22b,gpt-oss-120b
 *   --T=1,8,64,512,4096 --out=reports/bench-kernel --bench=native/build/bench/moe_bench
 *   --python=python3 --torch=run|skip --copy-mib=2048
 * Exit: 0 done (every run wrote every output), 1 a run reported a problem, 2 bad option,
 * 3 a process failed.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { BadArgumentError } from '../../reference/errors.js';
import { buildTable, formatTable, type KernelRound, type TorchRound } from './benchTable.js';

export type TorchMode = 'run' | 'skip';

export interface BenchOptions {
  rounds: number;
  reps: number;
  configs: string;
  T: string;
  out: string;
  bench: string;
  python: string;
  torch: TorchMode;
  copyMib: number;
}

const DEFAULTS: BenchOptions = {
  rounds: 3,
  reps: 7,
  configs: 'deepseek-v3,qwen3-235b-a22b,gpt-oss-120b',
  T: '1,8,64,512,4096',
  out: 'reports/bench-kernel',
  bench: 'native/build/bench/moe_bench',
  python: 'python3',
  torch: 'run',
  copyMib: 2048,
};

function intOption(name: string, raw: string, lo: number, hi: number): number {
  const v = Number(raw);
  if (!Number.isInteger(v) || v < lo || v > hi) throw new BadArgumentError(`--${name}`, `an integer in [${lo}, ${hi}]`, JSON.stringify(raw));
  return v;
}

/** Parse --name=value options; every unknown or malformed one is a BadArgumentError naming it. */
export function parseBenchOptions(argv: string[]): BenchOptions {
  const o: BenchOptions = { ...DEFAULTS };
  for (const a of argv) {
    const m = /^--([a-zA-Z-]+)=(.*)$/.exec(a);
    if (!m) throw new BadArgumentError('argument', '--name=value', JSON.stringify(a));
    const [, name, value] = m as unknown as [string, string, string];
    switch (name) {
      case 'rounds': o.rounds = intOption(name, value, 1, 20); break;
      case 'reps': o.reps = intOption(name, value, 3, 1000); break;
      case 'copy-mib': o.copyMib = intOption(name, value, 64, 16384); break;
      case 'configs':
      case 'T':
        if (!/^[A-Za-z0-9.,-]+$/.test(value)) throw new BadArgumentError(`--${name}`, 'a comma-separated list', JSON.stringify(value));
        o[name] = value;
        break;
      case 'out': o.out = value; break;
      case 'bench': o.bench = value; break;
      case 'python': o.python = value; break;
      case 'torch':
        if (value !== 'run' && value !== 'skip') throw new BadArgumentError('--torch', "'run' or 'skip'", JSON.stringify(value));
        o.torch = value;
        break;
      default:
        throw new BadArgumentError('option', `one of --${Object.keys(DEFAULTS).map((k) => (k === 'copyMib' ? 'copy-mib' : k)).join(', --')}`, JSON.stringify(a));
    }
  }
  return o;
}

class StepFailed extends Error {}

function run(cmd: string, args: string[]): void {
  process.stdout.write(`$ ${cmd} ${args.join(' ')}\n`);
  const r = spawnSync(cmd, args, { stdio: 'inherit' });
  if (r.error) throw new StepFailed(`${cmd}: ${r.error.message}`);
  if (r.status === 2) throw new StepFailed(`${cmd} refused its arguments (exit 2)`);
  if (r.status !== 0 && r.status !== 1) throw new StepFailed(`${cmd} failed (exit ${r.status ?? r.signal})`);
}

export function main(argv: string[]): number {
  let o: BenchOptions;
  try {
    o = parseBenchOptions(argv);
    if (!existsSync(o.bench)) {
      throw new BadArgumentError('--bench', 'the moe_bench driver (cmake --build native/build --target moe_bench, run from the repository root)', JSON.stringify(o.bench));
    }
  } catch (e) {
    if (e instanceof BadArgumentError) {
      process.stderr.write(`bench:kernel: ${e.message}\n`);
      return 2;
    }
    throw e;
  }
  const script = resolve('native/bench/torch_moe_baseline.py');
  const kernel: KernelRound[] = [];
  const torch: TorchRound[] = [];
  try {
    for (let r = 1; r <= o.rounds; r++) {
      const dir = join(o.out, `round-${r}`);
      mkdirSync(dir, { recursive: true });
      run(o.bench, ['--out', dir, '--configs', o.configs, '--T', o.T, '--reps', String(o.reps), '--copy-mib', String(o.copyMib)]);
      kernel.push(JSON.parse(readFileSync(join(dir, 'kernel.json'), 'utf8')) as KernelRound);
      if (o.torch === 'run') {
        run(o.python, [script, '--dir', dir, '--reps', String(o.reps), '--copy-mib', String(o.copyMib)]);
        torch.push(JSON.parse(readFileSync(join(dir, 'torch.json'), 'utf8')) as TorchRound);
      }
    }
  } catch (e) {
    if (e instanceof StepFailed) {
      process.stderr.write(`bench:kernel: ${e.message}\n`);
      return 3;
    }
    throw e;
  }
  const table = buildTable(kernel, torch);
  const md = formatTable(table);
  writeFileSync(join(o.out, 'bench-kernel.json'), JSON.stringify(table, null, 1));
  writeFileSync(join(o.out, 'bench-kernel.md'), md + '\n');
  process.stdout.write(`\n${md}\n\nbench:kernel: wrote ${join(o.out, 'bench-kernel.md')}\n`);
  return table.rows.some((r) => r.problems.length > 0) ? 1 : 0;
}

if (process.argv[1] && /benchKernel\.(ts|js)$/.test(process.argv[1])) {
  process.exitCode = main(process.argv.slice(2));
}
