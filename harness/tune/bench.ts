/**
 * `npm run bench:tune` (GPU host; not a test): for each configuration, tune every bucket up
 * to --max-tokens (verification included, timed as a whole against the 2-minute target),
 * then measure an ORACLE per bucket: every enumerated tactic (blocklisted ones too, marked)
 * timed with many interleaved repeats (round r runs each tactic once, in a rotated order,
 * after a warm-up round), median kernel ms per tactic. Printed per bucket: the tuned tactic
 * and its oracle time, the default tactic and its oracle time, the oracle-best (among
 * verified tactics) and the tuned choice's gap to it (target: within 3%).
 * Then the fault demonstration: the kernel with the catalog fault tactic_skips_last_k_block
 * (native faults build when present, else the emulated kernel) is tuned; the faulty tactic
 * is blocklisted, and the oracle shows where it was the fastest.
 *
 *   node dist/harness/tune/bench.js [--kernel native] [--configs deepseek-v3,qwen3-235b-a22b,gpt-oss-120b]
 *        [--max-tokens 4096] [--rounds 30] [--json out.json]
 * DeepSeek-V3 is tuned as an expert-parallel slice (--deepseek-local-experts, default 32 =
 * EP 8) by default to keep the bench short; --deepseek-local-experts 256 tunes the whole model
 * where host and GPU memory allow (harness/caseFits.ts: no fixed size bound).
 */
import { writeFileSync } from 'node:fs';
import { CONFIG_NAMES, configProblem } from '../../reference/configs.js';
import { BadArgumentError } from '../../reference/errors.js';
import { describeProblem, type Problem } from '../../reference/problem.js';
import { POISON } from '../caseRunner.js';
import { optionsHelp, parseArgs, type OptionTable } from '../cliArgs.js';
import { chooseKernel } from '../kernels/kernelSpec.js';
import { createKernel, kernelLabel, type KernelChoice } from '../kernels/select.js';
import type { Provider } from '../kernels/provider.js';
import { gpuAvailability } from '../gpuAvailability.js';
import { tuningCase } from './initializers.js';
import { referenceJudge } from './judge.js';
import { median } from './timing.js';
import { tune, type TuneResult } from './tuner.js';

/** This script's own options (the one command 'bench'; the CLI's table is harness/cli.ts OPTIONS). */
const BENCH = ['bench'] as const;
const OPTIONS = {
  kernel: { kind: 'string', commands: BENCH, help: 'kernel (default native; emulated with a notice without a CUDA device)' },
  configs: { kind: 'list', commands: BENCH, choices: CONFIG_NAMES, help: 'configurations (default deepseek-v3,qwen3-235b-a22b,gpt-oss-120b)' },
  'max-tokens': { kind: 'int', commands: BENCH, min: 1, help: 'largest bucket (default 4096)' },
  rounds: { kind: 'int', commands: BENCH, min: 1, help: 'interleaved oracle rounds per bucket (default 30)' },
  'deepseek-local-experts': { kind: 'int', commands: BENCH, min: 1, help: 'experts of the DeepSeek-V3 slice (default 32)' },
  'skip-demo': { kind: 'flag', commands: BENCH, help: 'no fault demonstration' },
  json: { kind: 'string', commands: BENCH, help: 'also write every number as JSON here' },
  help: { kind: 'flag', commands: BENCH, short: 'h', help: 'this help' },
} as const satisfies OptionTable;

const TARGET_GAP = 0.03;
const TARGET_TUNE_S = 120;

interface OracleRow { readonly bucket: number; readonly ms: Readonly<Record<string, number>>; readonly blocked: readonly string[] }

/** Every enumerated tactic of the bucket, interleaved `rounds` times after one warm-up round. */
async function oracle(choice: KernelChoice, problem: Problem, bucket: number, seed: number, rounds: number, blocked: readonly string[]): Promise<OracleRow> {
  const p = { ...problem, T: bucket };
  const provider: Provider = await createKernel(choice);
  try {
    const tactics = (await provider.tactics(p)).tactics;
    const handle = await provider.prepare(tuningCase(p, seed).case);
    const samples = new Map<string, number[]>(tactics.map((t) => [t.label, []]));
    for (let r = -1; r < rounds; r++) {
      for (let i = 0; i < tactics.length; i++) {
        const t = tactics[(i + Math.max(r, 0)) % tactics.length]!;
        try {
          const o = await provider.run(handle, t, { poison: POISON[0] });
          if (r >= 0 && o.ms !== undefined) samples.get(t.label)!.push(o.ms);
        } catch { /* a crashing tactic has no time; it is blocklisted by the tuner */ }
      }
    }
    await provider.release(handle);
    return { bucket, ms: Object.fromEntries([...samples].filter(([, s]) => s.length > 0).map(([l, s]) => [l, median(s)])), blocked };
  } finally {
    await provider.close();
  }
}

const f = (x: number | undefined): string => (x === undefined ? '—' : x.toFixed(4));

async function benchOne(choice: KernelChoice, problem: Problem, maxTokens: number, rounds: number, out: (s: string) => void): Promise<{ tune: TuneResult; oracle: OracleRow[]; within: number; worstGap: number }> {
  const seed = 1;
  out(`\n## ${describeProblem({ ...problem, T: maxTokens })} on ${kernelLabel(choice)}`);
  const r = await tune({ kernel: choice, problem, maxTokens, seed, judge: referenceJudge(), log: () => undefined });
  if (r.aborted !== undefined) out(`TUNE ABORTED: ${r.aborted}`);
  const tuneS = r.elapsedMs / 1000;
  out(`tune: ${r.buckets.length} buckets in ${tuneS.toFixed(1)} s (verification ${(r.verifyMs / 1000).toFixed(1)} s, timing ${(r.timeMs / 1000).toFixed(1)} s) — target < ${TARGET_TUNE_S} s: ${tuneS < TARGET_TUNE_S ? 'met' : `MISSED by ${(tuneS - TARGET_TUNE_S).toFixed(1)} s`}; device ${r.environment.device}, ${r.environment.smCount} SMs, driver ${r.environment.driver}`);
  out('| bucket | tuned | tuned ms (tune) | tuned ms (oracle) | default | default ms (oracle) | oracle-best | best ms | gap | within 3% |');
  out('|---:|---|---:|---:|---|---:|---|---:|---:|---|');
  const rows: OracleRow[] = [];
  let within = 0;
  let worstGap = 0;
  for (const b of r.buckets) {
    const blocked = r.blocklist.filter((x) => x.bucket === b.bucket).map((x) => x.tactic);
    const o = await oracle(choice, problem, b.bucket, seed, rounds, blocked);
    rows.push(o);
    const verified = Object.entries(o.ms).filter(([l]) => !blocked.includes(l)).sort((x, y) => x[1] - y[1]);
    const best = verified[0];
    const fastestAll = Object.entries(o.ms).sort((x, y) => x[1] - y[1])[0];
    const c = b.choice;
    const tunedMs = c ? o.ms[c.tactic] : undefined;
    const gap = tunedMs !== undefined && best ? tunedMs / best[1] - 1 : undefined;
    if (gap !== undefined) { worstGap = Math.max(worstGap, gap); if (gap <= TARGET_GAP) within++; }
    const note = fastestAll && blocked.includes(fastestAll[0]) ? ` (fastest overall: ${fastestAll[0]}, blocklisted)` : '';
    out(`| ${b.bucket} | ${c?.tactic ?? '—'} | ${f(c?.medianMs)} | ${f(tunedMs)} | ${c?.defaultTactic ?? '—'} | ${f(c ? o.ms[c.defaultTactic] : undefined)} | ${best?.[0] ?? '—'} | ${f(best?.[1])} | ${gap === undefined ? '—' : `${(100 * gap).toFixed(2)}%`} | ${gap === undefined ? '—' : gap <= TARGET_GAP ? 'yes' : `NO (+${(100 * (gap - TARGET_GAP)).toFixed(2)} pts)`}${note} |`);
  }
  out(`within 3% of the oracle-best: ${within} of ${r.buckets.length} buckets; worst gap ${(100 * worstGap).toFixed(2)}%; blocklisted: ${r.blocklist.length ? r.blocklist.map((x) => `${x.tactic}@${x.bucket}`).join(', ') : 'none'}`);
  return { tune: r, oracle: rows, within, worstGap };
}

async function main(): Promise<number> {
  const { options: o } = parseArgs(process.argv.slice(2), OPTIONS, 'bench');
  if (o.help) { console.log(`usage: node dist/harness/tune/bench.js [options]\n\n${optionsHelp(OPTIONS, 'bench')}`); return 0; }
  const out = (s: string): void => console.log(s);
  const { choice, notice } = await chooseKernel(o.kernel !== undefined ? { kernel: o.kernel } : {});
  if (notice) console.error(notice);
  const maxTokens = o['max-tokens'] ?? 4096;
  const rounds = o.rounds ?? 30;
  const names = o.configs ?? ['deepseek-v3', 'qwen3-235b-a22b', 'gpt-oss-120b'];
  const dsLocal = o['deepseek-local-experts'] ?? 32;
  const results: Record<string, unknown> = {};
  out(`# bench:tune — ${new Date().toISOString()}, kernel ${kernelLabel(choice)}, buckets 1..${maxTokens}, ${rounds} oracle rounds`);
  for (const name of names) {
    const problem = configProblem(name, 1, name === 'deepseek-v3' ? { localExperts: dsLocal } : {});
    const r = await benchOne(choice, problem, maxTokens, rounds, out);
    results[name] = { elapsedMs: r.tune.elapsedMs, verifyMs: r.tune.verifyMs, timeMs: r.tune.timeMs, entry: r.tune.entry, oracle: r.oracle, within: r.within, worstGap: r.worstGap };
  }
  if (!o['skip-demo']) {
    const gpu = await gpuAvailability();
    const demoKernel: KernelChoice = choice.kind === 'native' && gpu.faultsBuild
      ? { kind: 'native', fault: 'tactic_skips_last_k_block' } : { kind: 'emulated', fault: 'tactic_skips_last_k_block' };
    const demoProblem = demoKernel.kind === 'native' ? configProblem('qwen3-235b-a22b', 1) : configProblem('qwen3-30b-a3b', 1, { E: 8, localExperts: 8, H: 256, I: 128 });
    out(`\n# fault demonstration: ${kernelLabel(demoKernel)}${demoKernel.kind === 'emulated' ? ' (no native faults build here: node native/build.mjs --faults)' : ''}`);
    const r = await benchOne(demoKernel, demoProblem, demoKernel.kind === 'native' ? 256 : 16, rounds, out);
    for (const b of r.tune.blocklist) out(`blocklisted ${b.tactic} at bucket ${b.bucket} (${b.disposition}): ${b.findings[0] ?? ''}\n  replay: ${b.replay}`);
    results.faultDemo = { kernel: kernelLabel(demoKernel), entry: r.tune.entry, oracle: r.oracle };
  }
  if (o.json) writeFileSync(o.json, JSON.stringify(results, null, 2));
  return 0;
}

main().then((c) => process.exit(c), (e: unknown) => {
  if (e instanceof BadArgumentError) {
    console.error(`bench:tune: ${e.message}`);
    process.exit(2);
  }
  console.error(e);
  process.exit(70);
});
