/**
 * `npm run bench:tune` (GPU host; not a test): for each configuration, tune every bucket up
 * to --max-tokens (verification included, timed as a whole against the 2-minute target, with
 * where the time went: phases.ts), then measure an ORACLE per bucket (oracle.ts: every
 * enumerated tactic, blocklisted ones too, interleaved rounds, adaptive: stops when every
 * contender's median is tight, capped by --rounds). Printed per bucket: the tuned tactic and
 * its oracle time, the default tactic and its oracle time, the oracle-best (among verified
 * tactics) and the tuned choice's gap to it (target: within 3%).
 * Then the fault demonstration: the kernel with the catalog fault tactic_skips_last_k_block
 * (native faults build when present, else the emulated kernel) is tuned; the faulty tactic
 * is blocklisted, and the oracle shows where it was the fastest.
 *
 * Nothing is lost when the run is cut short (a device command's time limit): every line is
 * printed as its bucket finishes (tune lines during the tune, oracle rows after), and the
 * JSON file (--json) is rewritten, whole and valid, after every bucket.
 *
 *   node dist/harness/tune/bench.js [--kernel native] [--configs deepseek-v3,qwen3-235b-a22b,gpt-oss-120b]
 *        [--max-tokens 4096] [--rounds 30] [--local-experts 256] [--l2 warm|cold] [--demo after|skip|only] [--json out.json]
 *
 * DeepSeek-V3 runs with all 256 experts by default (--local-experts N: an expert-parallel
 * slice of N). When the memory estimates refuse the whole model here (reference/
 * resourceEstimate.ts), or the kernel refuses it (prepare: not supported), the bench says why
 * and falls back to a slice of 32 experts (EP 8).
 */
import { renameSync, writeFileSync } from 'node:fs';
import { CONFIG_NAMES, configProblem } from '../../reference/configs.js';
import { defaultThreads } from '../../reference/backend.js';
import { BadArgumentError } from '../../reference/errors.js';
import { describeProblem, type Problem } from '../../reference/problem.js';
import { checkGenerationFits, checkReferenceFits } from '../../reference/resourceEstimate.js';
import { optionsHelp, parseArgs, type OptionTable } from '../cliArgs.js';
import { chooseKernel } from '../kernels/kernelSpec.js';
import { createKernel, kernelLabel, type KernelChoice } from '../kernels/select.js';
import { gpuAvailability } from '../gpuAvailability.js';
import { checkMaxTokens } from './buckets.js';
import { tuningCase } from './initializers.js';
import { referenceJudge } from './judge.js';
import { DEFAULT_ORACLE_OPTIONS, oracleOfCase, type OracleResult } from './oracle.js';
import { formatPhases, TUNE_PHASES } from './phases.js';
import { DEFAULT_TIMING_MODES, L2_MODES, timedRunOptions, type L2Mode } from './timingModes.js';
import { REFERENCE_SCHEDULES, tune, type BucketResult, type ReferenceSchedule, type TuneResult } from './tuner.js';

/** This script's own options (the one command 'bench'; the CLI's table is harness/cli.ts OPTIONS). */
const BENCH = ['bench'] as const;
const DEMO_MODES = ['after', 'skip', 'only'] as const;
type DemoMode = (typeof DEMO_MODES)[number];
const OPTIONS = {
  kernel: { kind: 'string', commands: BENCH, help: 'kernel (default native; emulated with a notice without a CUDA device)' },
  configs: { kind: 'list', commands: BENCH, choices: CONFIG_NAMES, help: 'configurations (default deepseek-v3,qwen3-235b-a22b,gpt-oss-120b)' },
  'max-tokens': { kind: 'int', commands: BENCH, min: 1, help: 'largest bucket (default 4096)' },
  rounds: { kind: 'int', commands: BENCH, min: 1, help: `most interleaved oracle rounds per bucket (default ${DEFAULT_ORACLE_OPTIONS.maxRounds}; it stops earlier once every contender's median is tight)` },
  'min-rounds': { kind: 'int', commands: BENCH, min: 1, help: `fewest oracle rounds per bucket (default ${DEFAULT_ORACLE_OPTIONS.minRounds})` },
  'local-experts': { kind: 'int', commands: BENCH, min: 1, help: 'experts of DeepSeek-V3 (default all 256; falls back to 32 when the estimates or the kernel refuse the whole model)' },
  l2: { kind: 'string', commands: BENCH, choices: L2_MODES, help: 'L2 state of timed runs, tune and oracle alike (default warm)' },
  'reference-schedule': { kind: 'string', commands: BENCH, choices: REFERENCE_SCHEDULES, help: "the tune's references: ahead (default) or on_demand" },
  demo: { kind: 'string', commands: BENCH, choices: DEMO_MODES, help: 'the fault demonstration: after the configurations (default), skip, or only it' },
  json: { kind: 'string', commands: BENCH, help: 'also write every number as JSON here (rewritten after every bucket)' },
  help: { kind: 'flag', commands: BENCH, short: 'h', help: 'this help' },
} as const satisfies OptionTable;

const TARGET_GAP = 0.03;
const TARGET_TUNE_S = 120;
/** DeepSeek-V3's fallback slice: 32 experts (expert parallelism 8). */
const DEEPSEEK_FALLBACK_EXPERTS = 32;

/** The JSON file, rewritten whole (through a temporary file and a rename) after every change. */
class JsonSink {
  private readonly data: Record<string, unknown> = {};
  constructor(private readonly path: string | undefined) {}
  set(key: string, value: unknown): void {
    this.data[key] = value;
    if (this.path === undefined) return;
    writeFileSync(`${this.path}.tmp`, JSON.stringify(this.data, null, 2));
    renameSync(`${this.path}.tmp`, this.path);
  }
}

/** A configuration the memory estimates or the kernel refuse here (the bench falls back, saying why). */
class Refused extends Error {}

const f = (x: number | undefined): string => (x === undefined ? '—' : x.toFixed(4));
const pct = (x: number): string => `${(100 * x).toFixed(2)}%`;

function tuneLine(b: BucketResult): string {
  const c = b.choice;
  const blocked = b.results.filter((x) => x.disposition !== 'passed').map((x) => `${x.tactic} (${x.disposition})`);
  const wall = b.wallMs === undefined ? '' : ` [${(b.wallMs / 1000).toFixed(1)} s]`;
  if (!c) return `  tuned bucket ${b.bucket}: no choice (${b.note ?? 'no tactic passed verification'})${wall}`;
  return `  tuned bucket ${b.bucket}: ${c.tactic} ${c.medianMs.toFixed(4)} ms (se ${c.error === undefined ? '—' : pct(c.error)}, ${c.repeats} repeats${c.stop === 'capped' ? ', capped' : ''}${c.clock === 'host_wall' ? ', HOST WALL CLOCK' : ''}); default ${c.defaultTactic} ${c.defaultMs === null ? 'failed verification' : `${c.defaultMs.toFixed(4)} ms`}; ${c.verified} verified${blocked.length ? `, blocklisted ${blocked.join(', ')}` : ''}${wall}`;
}

interface OracleRow {
  readonly bucket: number;
  readonly oracle: OracleResult;
  readonly blocked: readonly string[];
  readonly tuned?: string;
  readonly tunedMs?: number;
  readonly best?: string;
  readonly bestMs?: number;
  readonly gap?: number;
}

interface BenchOutcome { readonly tune: TuneResult; readonly rows: OracleRow[]; readonly within: number; readonly worstGap: number }

async function benchOne(
  choice: KernelChoice, problem: Problem, maxTokens: number, oracleRounds: { min: number; max: number },
  l2: L2Mode, schedule: ReferenceSchedule, out: (s: string) => void, save: (v: unknown) => void, refusable: boolean,
): Promise<BenchOutcome> {
  const seed = 1;
  out(`\n## ${describeProblem({ ...problem, T: maxTokens })} on ${kernelLabel(choice)}`);
  const tuned: BucketResult[] = [];
  const r = await tune({
    kernel: choice, problem, maxTokens, seed, judge: referenceJudge(), log: () => undefined,
    timingModes: { ...DEFAULT_TIMING_MODES, l2 }, referenceSchedule: schedule,
    onBucket: (b) => {
      // The whole model refused by the kernel (prepare: not supported) at the first bucket: fall back, saying why.
      if (refusable && tuned.length === 0 && b.choice === null && /does not support/.test(b.note ?? '')) throw new Refused(b.note);
      tuned.push(b);
      out(tuneLine(b));
      save({ problem, tunedSoFar: tuned.map((x) => ({ bucket: x.bucket, choice: x.choice, note: x.note, wallMs: x.wallMs, results: x.results.map(({ tactic, disposition, timing }) => ({ tactic, disposition, ms: timing?.medianMs, error: timing?.error, repeats: timing?.repeats })) })) });
    },
  });
  if (refusable && r.abortCause === 'harness_error' && tuned.every((b) => b.choice === null)) throw new Refused(r.aborted);
  if (r.aborted !== undefined) out(`TUNE ABORTED: ${r.aborted}`);
  const tuneS = r.elapsedMs / 1000;
  out(`tune: ${r.buckets.length} buckets in ${tuneS.toFixed(1)} s (verification ${(r.verifyMs / 1000).toFixed(1)} s, timing ${(r.timeMs / 1000).toFixed(1)} s) — target < ${TARGET_TUNE_S} s: ${tuneS < TARGET_TUNE_S ? 'met' : `MISSED by ${(tuneS - TARGET_TUNE_S).toFixed(1)} s`}; device ${r.environment.device}, ${r.environment.smCount} SMs, driver ${r.environment.driver}`);
  out(`  phases: ${formatPhases(r.phases, r.elapsedMs)}; references ${r.referenceSchedule}`);
  out(`  timed with: L2 ${r.timingModes.used.l2}, ${r.timingModes.used.launch} launches${r.timingModes.notes.map((n) => `; NOTE: ${n}`).join('')}`);
  const summary = { problem, elapsedMs: r.elapsedMs, verifyMs: r.verifyMs, timeMs: r.timeMs, phases: r.phases, timingModes: r.timingModes, referenceSchedule: r.referenceSchedule, environment: r.environment, aborted: r.aborted, entry: r.entry };
  save({ ...summary, oracle: [] });

  out(`oracle (interleaved rounds, ${oracleRounds.min}..${oracleRounds.max}, stops when every contender's median se <= ${pct(DEFAULT_ORACLE_OPTIONS.errorLimit)}); a row per bucket as it finishes:`);
  out('| bucket | tuned | tuned ms (tune) | tuned ms (oracle) | default | default ms (oracle) | oracle-best | best ms | gap | within 3% | rounds |');
  out('|---:|---|---:|---:|---|---:|---|---:|---:|---|---:|');
  const rows: OracleRow[] = [];
  let within = 0;
  let worstGap = 0;
  const provider = await createKernel(choice);
  try {
    for (const b of r.buckets) {
      const p = { ...problem, T: b.bucket };
      const blocked = r.blocklist.filter((x) => x.bucket === b.bucket).map((x) => x.tactic);
      const tactics = (await provider.tactics(p)).tactics;
      if (tactics.length === 0 || b.note?.includes('does not support')) continue;
      const o = await oracleOfCase(provider, tuningCase(p, seed).case, tactics, {
        ...DEFAULT_ORACLE_OPTIONS, minRounds: oracleRounds.min, maxRounds: oracleRounds.max, runOptions: timedRunOptions(r.timingModes.used),
      });
      const ms = (l: string | undefined): number | undefined => (l === undefined ? undefined : o.timings[l]?.medianMs);
      const verified = Object.entries(o.timings).filter(([l]) => !blocked.includes(l)).sort((x, y) => x[1].medianMs - y[1].medianMs);
      const best = verified[0];
      const fastestAll = Object.entries(o.timings).sort((x, y) => x[1].medianMs - y[1].medianMs)[0];
      const c = b.choice;
      const tunedMs = ms(c?.tactic);
      const gap = tunedMs !== undefined && best ? tunedMs / best[1].medianMs - 1 : undefined;
      if (gap !== undefined) { worstGap = Math.max(worstGap, gap); if (gap <= TARGET_GAP) within++; }
      const notes = [
        fastestAll && blocked.includes(fastestAll[0]) ? `fastest overall: ${fastestAll[0]}, blocklisted` : '',
        ...Object.entries(o.failures).map(([l, e]) => `${l} failed: ${e}`),
      ].filter((x) => x !== '');
      out(`| ${b.bucket} | ${c?.tactic ?? '—'} | ${f(c?.medianMs)} | ${f(tunedMs)} | ${c?.defaultTactic ?? '—'} | ${f(ms(c?.defaultTactic))} | ${best?.[0] ?? '—'} | ${f(best?.[1].medianMs)} | ${gap === undefined ? '—' : pct(gap)} | ${gap === undefined ? '—' : gap <= TARGET_GAP ? 'yes' : `NO (+${(100 * (gap - TARGET_GAP)).toFixed(2)} pts)`}${notes.length ? ` (${notes.join('; ')})` : ''} | ${o.rounds}${o.stop === 'settled' ? '' : ` ${o.stop}`} |`);
      rows.push({ bucket: b.bucket, oracle: o, blocked, ...(c ? { tuned: c.tactic } : {}), ...(tunedMs !== undefined ? { tunedMs } : {}), ...(best ? { best: best[0], bestMs: best[1].medianMs } : {}), ...(gap !== undefined ? { gap } : {}) });
      save({ ...summary, oracle: rows });
    }
  } finally {
    await provider.close().catch(() => undefined);
  }
  out(`within 3% of the oracle-best: ${within} of ${rows.length} buckets; worst gap ${pct(worstGap)}; blocklisted: ${r.blocklist.length ? r.blocklist.map((x) => `${x.tactic}@${x.bucket}`).join(', ') : 'none'}`);
  save({ ...summary, oracle: rows, within, worstGap });
  return { tune: r, rows, within, worstGap };
}

/**
 * Whether an error of the whole model's attempt means "refused here" (fall back to the slice):
 * the bench's own refusal, an array beyond Node's limit, a refused argument or problem, or the
 * device out of memory (not a sticky CUDA error: the next attempt may run).
 */
function refusedHere(e: unknown): e is Error {
  if (e instanceof Refused || e instanceof RangeError) return true;
  if (!(e instanceof Error)) return false;
  if (e.name === 'UnsupportedProblemError' || e.name === 'BadArgumentError') return true;
  return e.name === 'CudaError' && /cudaErrorMemoryAllocation|out of memory/i.test(`${e.message} ${String((e as { cudaName?: unknown }).cudaName ?? '')}`);
}

/** Why the memory estimates refuse the problem's largest bucket here, or undefined when they accept it. */
function estimateRefusal(problem: Problem, maxTokens: number): string | undefined {
  const p = { ...problem, T: maxTokens };
  try {
    checkGenerationFits(p, `${problem.name ?? 'the problem'} with ${problem.localExperts} experts`);
    checkReferenceFits(p, 'float32', defaultThreads());
    return undefined;
  } catch (e) {
    if (e instanceof BadArgumentError) return e.message;
    throw e;
  }
}

async function main(): Promise<number> {
  const { options: o } = parseArgs(process.argv.slice(2), OPTIONS, 'bench');
  if (o.help) { console.log(`usage: node dist/harness/tune/bench.js [options]\n\n${optionsHelp(OPTIONS, 'bench')}`); return 0; }
  const out = (s: string): void => console.log(s);
  const { choice, notice } = await chooseKernel(o.kernel !== undefined ? { kernel: o.kernel } : {});
  if (notice) console.error(notice);
  const maxTokens = o['max-tokens'] ?? 4096;
  checkMaxTokens(maxTokens, '--max-tokens');
  const rounds = { min: o['min-rounds'] ?? DEFAULT_ORACLE_OPTIONS.minRounds, max: o.rounds ?? DEFAULT_ORACLE_OPTIONS.maxRounds };
  if (rounds.min > rounds.max) throw new BadArgumentError('--min-rounds', `at most --rounds (${rounds.max})`, String(rounds.min));
  const names = o.configs ?? ['deepseek-v3', 'qwen3-235b-a22b', 'gpt-oss-120b'];
  const demo = (o.demo ?? 'after') as DemoMode;
  const l2 = (o.l2 ?? 'warm') as L2Mode;
  const schedule = (o['reference-schedule'] ?? 'ahead') as ReferenceSchedule;
  const sink = new JsonSink(o.json);
  let failed = 0;
  const tunes: Array<{ readonly name: string; readonly r: TuneResult }> = [];
  out(`# bench:tune — ${new Date().toISOString()}, kernel ${kernelLabel(choice)}, buckets 1..${maxTokens}, oracle rounds ${rounds.min}..${rounds.max}, L2 ${l2}, references ${schedule}`);
  for (const name of demo === 'only' ? [] : names) {
    const base = configProblem(name, 1);
    const local = name === 'deepseek-v3' ? o['local-experts'] ?? base.E : base.E;
    if (local > base.E) throw new BadArgumentError('--local-experts', `at most ${base.E} (deepseek-v3's experts)`, String(local));
    let problem = configProblem(name, 1, { localExperts: local });
    const fallback = name === 'deepseek-v3' && local > DEEPSEEK_FALLBACK_EXPERTS ? configProblem(name, 1, { localExperts: DEEPSEEK_FALLBACK_EXPERTS }) : undefined;
    const fallBack = (why: string): void => {
      out(`\n${name}: ${local} experts refused here (${why}); falling back to an expert-parallel slice of ${DEEPSEEK_FALLBACK_EXPERTS} experts (EP ${base.E / DEEPSEEK_FALLBACK_EXPERTS})`);
      problem = fallback!;
    };
    const refusal = fallback ? estimateRefusal(problem, maxTokens) : undefined;
    if (refusal !== undefined) fallBack(`memory estimate: ${refusal}`);
    const save = (v: unknown): void => sink.set(name, v);
    try {
      try {
        tunes.push({ name, r: (await benchOne(choice, problem, maxTokens, rounds, l2, schedule, out, save, fallback !== undefined && problem !== fallback)).tune });
      } catch (e) {
        if (!(fallback && problem !== fallback && refusedHere(e))) throw e;
        fallBack(`${e.name}: ${e.message}`);
        tunes.push({ name: `${name} (${problem.localExperts} experts)`, r: (await benchOne(choice, problem, maxTokens, rounds, l2, schedule, out, save, false)).tune });
      }
    } catch (e) {
      failed++;
      out(`${name}: FAILED: ${e instanceof Error ? `${e.name}: ${e.message}` : String(e)}`);
      sink.set(name, { failed: e instanceof Error ? `${e.name}: ${e.message}` : String(e) });
    }
  }
  if (tunes.length > 0) {
    // Where each tune's time went (phases.ts), side by side: seconds per phase.
    out(`\n# where the tune's time went (s; reference = waited, computed = every reference's own time, overlapped or not)`);
    out(`| configuration | tune | ${TUNE_PHASES.join(' | ')} | computed | other | < ${TARGET_TUNE_S} s |`);
    out(`|---|${'---:|'.repeat(TUNE_PHASES.length + 4)}`);
    for (const { name, r } of tunes) {
      const sec = (ms: number): string => (ms / 1000).toFixed(1);
      const other = r.elapsedMs - TUNE_PHASES.reduce((a, p) => a + r.phases.ms[p], 0);
      out(`| ${name} | ${sec(r.elapsedMs)} | ${TUNE_PHASES.map((p) => sec(r.phases.ms[p])).join(' | ')} | ${sec(r.phases.referenceComputedMs)} | ${sec(Math.max(0, other))} | ${r.elapsedMs / 1000 < TARGET_TUNE_S ? 'met' : `MISSED by ${sec(r.elapsedMs - TARGET_TUNE_S * 1000)} s`} |`);
    }
  }
  if (demo !== 'skip') {
    const gpu = await gpuAvailability();
    const demoKernel: KernelChoice = choice.kind === 'native' && gpu.faultsBuild
      ? { kind: 'native', fault: 'tactic_skips_last_k_block' } : { kind: 'emulated', fault: 'tactic_skips_last_k_block' };
    const demoProblem = demoKernel.kind === 'native' ? configProblem('qwen3-235b-a22b', 1) : configProblem('qwen3-30b-a3b', 1, { E: 8, localExperts: 8, H: 256, I: 128 });
    out(`\n# fault demonstration: ${kernelLabel(demoKernel)}${demoKernel.kind === 'emulated' ? ' (no native faults build here: node native/build.mjs --faults)' : ''}`);
    const r = await benchOne(demoKernel, demoProblem, demoKernel.kind === 'native' ? 256 : 16, rounds, l2, schedule, out, (v) => sink.set('faultDemo', { kernel: kernelLabel(demoKernel), ...(v as object) }), false);
    for (const b of r.tune.blocklist) out(`blocklisted ${b.tactic} at bucket ${b.bucket} (${b.disposition}): ${b.findings[0] ?? ''}\n  replay: ${b.replay}`);
  }
  return failed > 0 ? 1 : 0;
}

main().then((c) => process.exit(c), (e: unknown) => {
  if (e instanceof BadArgumentError) {
    console.error(`bench:tune: ${e.message}`);
    process.exit(2);
  }
  console.error(e);
  process.exit(70);
});
