/**
 * `npm run bench:check` (a GPU host; not a test): where the time of one full-size case goes on
 * the main command's path. For each configuration and T it runs exactly
 *   moe-harness check --config NAME --T T --runs 1 --report <tmp> [--kernel K] [--local-experts N]
 * (cli.ts main: the memory checks, the case, the child process, every tactic forced and run
 * twice, the digests, the reference, judging, the report), reads the records it journaled
 * (each carries `phases`, harness/phaseTimes.ts), and prints one table per configuration:
 * phase times, the total wall against the issue's target, peak host RSS (campaign and child),
 * peak GPU memory (device-wide, sampled) next to the device estimate, and the reference's
 * GFLOP/s next to a plain GEMM on the same engine, threads and per-expert shapes
 * (reference/fastpath/gemmBaselineJob.ts, the baseline of reference/bench.ts).
 *
 *   node dist/harness/benchCheck.js [--configs deepseek-v3,qwen3-235b-a22b,gpt-oss-120b] [--T 256]
 *        [--kernel native] [--local-experts N] [--gemm-runs 3] [--json out.json]
 * On a CPU machine: --kernel emulated on a small slice (benchCheck.test.ts runs it tiny).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { defaultThreads } from '../reference/backend.js';
import { CONFIG_NAMES, configProblem } from '../reference/configs.js';
import { BadArgumentError } from '../reference/errors.js';
import { inFastPathQueue, workerPool } from '../reference/fastpath/pool.js';
import { generateRoutingInputs } from '../reference/generate.js';
import { generateCaseParallel } from '../reference/generate/parallel.js';
import { shutdownReference } from '../reference/moe.js';
import { describeProblem, type Problem } from '../reference/problem.js';
import { formatBytes } from '../reference/resourceEstimate.js';
import { routeCase } from '../reference/routing/registry.js';
import { planSlots } from '../reference/slotPlan.js';
import type { CaseRecord } from './campaign.js';
import { optionsHelp, parseArgs, type OptionTable } from './cliArgs.js';
import { main as cliMain } from './cli.js';
import { readJournal } from './recordJournal.js';

const BENCH = ['bench'] as const;
const OPTIONS = {
  configs: { kind: 'list', commands: BENCH, choices: CONFIG_NAMES, help: 'configurations (default deepseek-v3,qwen3-235b-a22b,gpt-oss-120b)' },
  T: { kind: 'intlist', commands: BENCH, min: 1, help: 'token counts (default 256)' },
  kernel: { kind: 'string', commands: BENCH, help: 'kernel, passed to check (default: check\'s choice, native on a GPU host)' },
  'local-experts': { kind: 'int', commands: BENCH, min: 1, help: 'an expert slice instead of every expert (CPU smoke runs)' },
  'gemm-runs': { kind: 'int', commands: BENCH, min: 0, help: 'timed runs of the GEMM baseline (median; default 3; 0: no baseline, to save time)' },
  json: { kind: 'string', commands: BENCH, help: 'also write every number as JSON here' },
  help: { kind: 'flag', commands: BENCH, short: 'h', help: 'this help' },
} as const satisfies OptionTable;

/** The issue's wall-time targets (issue 13), seconds, for T = 256 on the 16-core H200 host. */
const TARGET_S: Readonly<Record<string, number>> = { 'deepseek-v3': 10, 'qwen3-235b-a22b': 5 };

export interface BenchCheckRow {
  readonly config: string;
  readonly T: number;
  readonly problem: string;
  readonly exitCode: number;
  readonly wallMs: number;
  readonly tactics: number;
  readonly dispositions: Readonly<Record<string, number>>;
  /** Largest |out − ref| / bound over every judged element of every tactic (null: none judged). */
  readonly worstRatio: number | null;
  /** Case phases (ms) and tactic phases summed over the tactics (ms), bytes of child traffic. */
  readonly phases: Readonly<Record<string, number>>;
  readonly peakRssBytes: { readonly campaign: number; readonly child: number | null };
  readonly gpu: { readonly peakUsedBytes: number; readonly estimateBytes: number; readonly device: string } | null;
  readonly reference: { readonly flops: number; readonly gflops: number | null; readonly gemmGflops: number | null; readonly gemmMs: number | null; readonly threads: number };
}

/** Periodic samples of this process's RSS and the device's used memory (native only). */
function startSampler(native: typeof import('../native/index.js') | null): { stop: () => Promise<{ rss: number; gpuUsed: number | null; gpuBase: number | null; device: string | null }> } {
  let rss = process.memoryUsage().rss;
  let gpuUsed: number | null = null;
  let gpuBase: number | null = null;
  let device: string | null = null;
  let running = true;
  const sampleGpu = async (): Promise<void> => {
    if (native === null) return;
    try {
      const d = await native.deviceInfo();
      const used = d.memoryBytes - d.freeMemoryBytes;
      device = `${d.name} (${d.sm})`;
      gpuBase ??= used;
      gpuUsed = Math.max(gpuUsed ?? used, used);
    } catch {
      native = null; // no usable device: no GPU figures
    }
  };
  const loop = (async () => {
    await sampleGpu();
    while (running) {
      rss = Math.max(rss, process.memoryUsage().rss);
      await sampleGpu();
      await new Promise((r) => setTimeout(r, 50));
    }
  })();
  return {
    stop: async () => {
      running = false;
      await loop;
      return { rss, gpuUsed, gpuBase, device };
    },
  };
}

/** Slots routed to local experts (the FLOP count's basis) without the GEMM baseline. */
function localSlotsOf(p: Problem, seed: number): number {
  // Routing reads only the logits and bias: the case's weights are not needed for it.
  const spec = { problem: p, seed, logitFamily: 'normal', scaleFamily: 'normal' } as const;
  const plan = planSlots(p, routeCase({ spec, ...generateRoutingInputs(spec) }).ids);
  return plan.start[p.localExperts]! - plan.start[0]!;
}

/**
 * Plain GEMM on the case's per-expert token counts: same engine, same threads (reference/bench.ts's
 * baseline). Through the fast path's queue, so that no reference run shares the pool meanwhile.
 */
async function gemmBaseline(p: Problem, seed: number, runs: number): Promise<{ ms: number; threads: number; localSlots: number }> {
  const c = await generateCaseParallel({ problem: p, seed, logitFamily: 'normal', scaleFamily: 'normal' });
  const plan = planSlots(p, routeCase(c).ids);
  const counts: number[] = [];
  for (let l = 0; l < p.localExperts; l++) counts.push(plan.start[l + 1]! - plan.start[l]!);
  counts.sort((a, b) => b - a);
  const tokens = new Int32Array(new SharedArrayBuffer(4 * counts.length));
  tokens.set(counts);
  const threads = defaultThreads();
  return inFastPathQueue(async () => {
    const pool = await workerPool(threads);
    const once = async (): Promise<number> => {
      const queue = new Int32Array(new SharedArrayBuffer(4));
      const t0 = performance.now();
      await pool.runAll({ kind: 'gemm', H: p.H, I: p.I, tokens, queue });
      return performance.now() - t0;
    };
    await once(); // operands filled, JIT warm
    const ms: number[] = [];
    for (let r = 0; r < runs; r++) ms.push(await once());
    ms.sort((a, b) => a - b);
    return { ms: ms[Math.floor(ms.length / 2)]!, threads: pool.info.threads, localSlots: counts.reduce((a, b) => a + b, 0) };
  });
}

const sumOf = (records: readonly CaseRecord[], pick: (r: CaseRecord) => number | undefined): number =>
  records.reduce((s, r) => s + (pick(r) ?? 0), 0);

async function benchOne(config: string, T: number, o: { kernel?: string; localExperts?: number; gemmRuns: number }, log: (s: string) => void): Promise<BenchCheckRow> {
  const dir = mkdtempSync(join(tmpdir(), 'moe-bench-check-'));
  const report = join(dir, 'report');
  const argv = ['check', '--config', config, '--T', String(T), '--runs', '1', '--report', report,
    ...(o.kernel !== undefined ? ['--kernel', o.kernel] : []),
    ...(o.localExperts !== undefined ? ['--local-experts', String(o.localExperts)] : [])];
  const native = o.kernel === undefined || o.kernel === 'native' ? await import('../native/index.js').catch(() => null) : null;
  const sampler = startSampler(native);
  const lines: string[] = [];
  const t0 = performance.now();
  let exitCode: number;
  try {
    exitCode = await cliMain(argv, { out: (s) => lines.push(s), err: (s) => lines.push(s) });
  } catch (e) {
    await sampler.stop();
    throw e;
  }
  const wallMs = performance.now() - t0;
  const samples = await sampler.stop();
  if (exitCode === 2) throw new BadArgumentError('--configs / --T', `a case check accepts (check ${argv.slice(1).join(' ')})`, lines.slice(-3).join(' | '));
  const records = readJournal(report).records;
  rmSync(dir, { recursive: true, force: true });
  const first = records[0];
  if (first === undefined) throw new Error(`check ${argv.join(' ')} wrote no record (exit ${exitCode}): ${lines.slice(-5).join(' | ')}`);
  const p = first.spec.problem;
  const cp = first.phases?.case ?? {};
  const phases: Record<string, number> = {
    generate: cp.generate ?? NaN, reference: cp.reference ?? NaN, regenerate: cp.regenerate ?? NaN, prepare: cp.prepare ?? NaN,
    runs: sumOf(records, (r) => r.phases?.tactic.runs), digests: sumOf(records, (r) => r.phases?.tactic.digests),
    traffic: sumOf(records, (r) => r.phases?.tactic.traffic), trafficBytes: sumOf(records, (r) => r.phases?.tactic.trafficBytes),
    judge: sumOf(records, (r) => r.phases?.tactic.judge),
  };
  const dispositions: Record<string, number> = {};
  for (const r of records) dispositions[r.disposition] = (dispositions[r.disposition] ?? 0) + 1;
  const childRss = records.map((r) => r.phases?.tactic.childMaxRss).filter((x): x is number => x !== undefined);
  let worstRatio: number | null = null;
  for (const r of records) if (r.verdict.worst && (worstRatio === null || r.verdict.worst.ratio > worstRatio)) worstRatio = r.verdict.worst.ratio;
  const gemm = o.gemmRuns > 0 ? await (log(`  (GEMM baseline: ${o.gemmRuns} runs on the case's per-expert token counts)`), gemmBaseline(p, first.spec.seed, o.gemmRuns)) : null;
  // FC1 and FC2 of the slots routed to local experts (T·k with every expert local), as bench:reference counts.
  const localSlots = gemm?.localSlots ?? localSlotsOf(p, first.spec.seed);
  const flops = 2 * localSlots * (2 * p.I * p.H + p.H * p.I);
  let gpu: BenchCheckRow['gpu'] = null;
  if (native !== null && samples.gpuUsed !== null && samples.gpuBase !== null) {
    gpu = { peakUsedBytes: samples.gpuUsed - samples.gpuBase, estimateBytes: native.deviceMemoryEstimate(p).peak, device: samples.device ?? '?' };
  }
  return {
    config, T, problem: describeProblem(p), exitCode, wallMs, tactics: records.length, dispositions, worstRatio, phases,
    peakRssBytes: { campaign: samples.rss, child: childRss.length > 0 ? Math.max(...childRss) : null },
    gpu,
    reference: {
      flops, gflops: Number.isFinite(phases.reference!) ? flops / phases.reference! / 1e6 : null,
      gemmGflops: gemm === null ? null : flops / gemm.ms / 1e6, gemmMs: gemm?.ms ?? null, threads: gemm?.threads ?? defaultThreads(),
    },
  };
}

/** One table (markdown) for a row. */
export function formatRow(r: BenchCheckRow): string[] {
  const ms = (v: number | undefined): string => (v === undefined || !Number.isFinite(v) ? '—' : `${v.toFixed(0)} ms`);
  const ph = r.phases;
  const target = r.T === 256 ? TARGET_S[r.config] : undefined;
  const totalS = r.wallMs / 1000;
  const verdict = target === undefined ? 'no target set for this configuration and T'
    : totalS <= target ? `target ≤ ${target} s: met` : `target ≤ ${target} s: MISSED by ${(totalS - target).toFixed(1)} s (×${(totalS / target).toFixed(1)})`;
  const row = (a: string, b: string): string => `| ${a} | ${b} |`;
  const disp = Object.entries(r.dispositions).map(([d, n]) => `${n} ${d}`).join(', ');
  return [
    `\n## ${r.problem}: ${r.tactics} records (${disp}), worst |out − ref|/bound ${r.worstRatio === null ? '—' : r.worstRatio.toFixed(4)}, check exit ${r.exitCode}`,
    row('phase', 'wall time'),
    row('---', '---:'),
    row('generate (campaign)', ms(ph.generate)),
    row('reference (runs while the kernel runs)', ms(ph.reference)),
    row('regenerate (child) — alongside the campaign\'s generation', ms(ph.regenerate)),
    row('prepare (upload + layout)', ms(ph.prepare)),
    row(`tactic runs (all ${r.tactics} tactics, every repeat)`, ms(ph.runs)),
    row('input digests (2 per tactic)', ms(ph.digests)),
    row(`child → campaign traffic (${formatBytes(ph.trafficBytes ?? 0)})`, ms(ph.traffic)),
    row('judging', ms(ph.judge)),
    row('**total wall (check command)**', `**${totalS.toFixed(2)} s** — ${verdict}`),
    row('peak host RSS', `campaign ${formatBytes(r.peakRssBytes.campaign)}, child ${r.peakRssBytes.child === null ? '— (inline)' : formatBytes(r.peakRssBytes.child)}`),
    row('peak GPU memory (device-wide, sampled every 50 ms)', r.gpu === null ? '— (no CUDA device)' : `${formatBytes(r.gpu.peakUsedBytes)} above the idle level; estimate ${formatBytes(r.gpu.estimateBytes)} (${r.gpu.device})`),
    row('reference vs plain GEMM, same engine and threads', `${r.reference.gflops === null ? '—' : r.reference.gflops.toPrecision(3)} GFLOP/s vs ` +
      (r.reference.gemmGflops === null || r.reference.gemmMs === null ? 'no GEMM baseline (--gemm-runs 0) (' : `${r.reference.gemmGflops.toPrecision(3)} GFLOP/s (${r.reference.gemmMs.toPrecision(3)} ms; `) +
      `${(r.reference.flops / 1e9).toPrecision(3)} GFLOP counted 2·(local slots)·3·I·H; ${r.reference.threads} threads)`),
  ];
}

export async function benchCheck(argv: readonly string[], out: (s: string) => void): Promise<number> {
  const { options: o } = parseArgs(argv, OPTIONS, 'bench');
  if (o.help) {
    out(`usage: node dist/harness/benchCheck.js [options]\n\n${optionsHelp(OPTIONS, 'bench')}`);
    return 0;
  }
  const configs = o.configs ?? ['deepseek-v3', 'qwen3-235b-a22b', 'gpt-oss-120b'];
  const Ts = o.T ?? [256];
  out(`# bench:check — ${new Date().toISOString()}, ${cpus()[0]?.model ?? '?'}, ${availableParallelism()} cores, kernel ${o.kernel ?? '(check\'s default)'}`);
  const rows: BenchCheckRow[] = [];
  let worst = 0;
  try {
    for (const config of configs) {
      for (const T of Ts) {
        configProblem(config, T); // a bad name or T is refused before anything runs
        out(`\nrunning check --config ${config} --T ${T}${o['local-experts'] !== undefined ? ` --local-experts ${o['local-experts']}` : ''} …`);
        const r = await benchOne(config, T, {
          ...(o.kernel !== undefined ? { kernel: o.kernel } : {}),
          ...(o['local-experts'] !== undefined ? { localExperts: o['local-experts'] } : {}),
          gemmRuns: o['gemm-runs'] ?? 3,
        }, out);
        rows.push(r);
        worst = Math.max(worst, r.exitCode);
        for (const l of formatRow(r)) out(l);
      }
    }
  } finally {
    await shutdownReference();
  }
  if (o.json !== undefined) writeFileSync(o.json, JSON.stringify(rows, null, 2));
  return worst;
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  benchCheck(process.argv.slice(2), (s) => console.log(s)).then((c) => process.exit(c), (e: unknown) => {
    if (e instanceof BadArgumentError) {
      console.error(`bench:check: ${e.message}`);
      process.exit(2);
    }
    console.error(e);
    process.exit(70);
  });
}
