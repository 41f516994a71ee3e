/**
 * moe-harness command line (docs/cli.md is its manual):
 *   moe-harness check    [options]   run a campaign, print a table per tactic, write a report
 *   moe-harness replay   --case JSON [--tactic L|all] [--kernel K]   judge one case
 *   moe-harness tactics  --config NAME --T n | --case JSON [--kernel K]   list a kernel's tactics
 *   moe-harness tune     --config NAME | --check CACHE   tune per token bucket, verifying (tuneCommand.ts)
 * Every option is declared once, in OPTIONS (one entry: its type, help, the commands that
 * take it); exit codes are listed once, in EXIT_CODES.
 */
import { accessSync, constants as fsConstants, existsSync, mkdirSync, readdirSync, readFileSync, realpathSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import seedrandom from 'seedrandom';
import { LOGIT_FAMILIES, SCALE_FAMILIES, type CaseSpec } from '../reference/case.js';
import { CONFIG_NAMES, configProblem } from '../reference/configs.js';
import { BadArgumentError } from '../reference/errors.js';
import { validateCaseSpec } from '../reference/generate.js';
import { QUANT_MODES, ROUTING_METHODS, describeProblem, type Problem } from '../reference/problem.js';
import { checkGenerationFits } from '../reference/resourceEstimate.js';
import { checkCasesFit } from './caseFits.js';
import { routingMethod } from '../reference/routing/registry.js';
import { runCampaign, type CampaignCase, type CampaignResult, type CaseRecord } from './campaign.js';
import { caseMix, MIX_SIZES } from './caseMix.js';
import { projectRoot } from './childEntry.js';
import { MAX_TIMER_MS } from './childRunner.js';
import { optionsHelp, parseArgs, type OptionTable, type OptionValues } from './cliArgs.js';
import { DEFAULT_BUDGET_S, DEFAULT_RUN_REPEATS, DEFAULT_RUN_SHAPING_OPTIONS, coverageLine, planDefaultRun, type DefaultRunPlan } from './defaultRun.js';
import { FAULT_NAMES } from './faults.js';
import { DEFAULT_NOISE_POLICY } from './tune/timing.js';
import { gpuAvailability } from './gpuAvailability.js';
import { chooseKernel as chooseProvider, requestedKernel } from './kernels/kernelSpec.js';
import { formatKernelListing, listKernels } from './kernels/listKernels.js';
import { makeTactic, type Tactic } from './kernels/provider.js';
import { createKernel, kernelForms, kernelLabel, kindEntry, oneOffIsolation, runnerIsolation, type KernelChoice } from './kernels/select.js';
import { Progress } from './progress.js';
import { RecordJournal } from './recordJournal.js';
import { formatTable, formatTerminalReport, summarize, totals, writeReport, type ReportMeta } from './report.js';
import { bindingOptions, loadResumeState, readInvocation, resumeOptions, writeInvocation, type Invocation, type ResumeState } from './resume.js';
import { matchesTactic, parseTacticFilter } from './tacticFilter.js';
import type { Disposition } from './verdict.js';
import { junitSuite, writeJunit, type JunitSuite } from './junit.js';
import { mergeReports, readReport } from './merge.js';
import { listDevices, parseGpus, planGpus, runWorkers, type WorkerOutcome } from './multiGpu.js';
import { resolveShard, shardFromEnv, shardItems, shardLabel } from './shard.js';

const GENERATORS = ['mix', 'property'] as const;

const ALL = ['check', 'replay', 'tactics'] as const;
const RUNS = ['check', 'replay'] as const;
/** Commands that run a kernel: check, replay, tactics, and tune (tuneCommand.ts). */
const KERNEL_COMMANDS = [...ALL, 'tune'] as const;
const RUNS_AND_TUNE = [...RUNS, 'tune'] as const;

/** Every option of every command, declared once. Adding an option is one entry here. */
export const OPTIONS = {
  kernel: { kind: 'string', commands: KERNEL_COMMANDS, help: `kernel under test: ${kernelForms()} (lib: a shared library behind the C ABI, docs/c-abi.md, child isolation; cmd: a command speaking docs/process-protocol.md) (default native; emulated, with a notice, when no CUDA device is present; see moe-harness kernels)` },
  'kernel-config': { kind: 'string', commands: KERNEL_COMMANDS, help: 'kernel under test from a JSON file: name, kind, command or library, conventions, env, timeoutS (docs/providers.md); not with --kernel' },
  fault: { kind: 'string', commands: KERNEL_COMMANDS, choices: FAULT_NAMES, help: 'switch on one fault of harness/faults.ts (emulated kernel, or the native faults build)' },
  tactic: { kind: 'string', commands: RUNS_AND_TUNE, help: 'tactic filter: labels "tileTokens/config", either side may be *, comma-separated, or all (default all); each pattern must match the kernel\'s table' },
  reference: { kind: 'string', commands: RUNS_AND_TUNE, choices: ['float32', 'float64'], help: 'reference precision (default float32, the fast path; tune: of the verification)' },
  isolation: { kind: 'string', commands: RUNS, choices: ['child', 'inline'], help: 'run tactics in a child process restarted after crashes (default), or in this process' },
  timeout: { kind: 'int', commands: RUNS, min: 1, max: Math.floor(MAX_TIMER_MS / 1000), help: 'seconds a tactic may run before it is killed and reported crashed (child isolation, and each request to a cmd: adapter unless its config sets timeoutS; default 300; at most setTimeout\'s 2^31-1 ms)' },
  config: { kind: 'string', commands: ['check', 'tactics', 'tune'], choices: CONFIG_NAMES, help: 'a named SPEC §6 configuration instead of the random case mix (tune: the configuration to tune)' },
  T: { kind: 'intlist', commands: ['check', 'tactics'], min: 1, help: 'token counts, comma-separated (check --config: default 1,37; else they replace the mix\'s; tactics: one)' },
  H: { kind: 'int', commands: ['check'], min: 1, help: 'hidden size for every case of the mix' },
  I: { kind: 'int', commands: ['check'], min: 1, help: 'intermediate size for every case of the mix' },
  'local-experts': { kind: 'int', commands: ['check', 'tactics', 'tune'], min: 1, help: 'with --config: experts this call owns (an expert-parallel slice; default all)' },
  'local-offset': { kind: 'int', commands: ['check', 'tactics', 'tune'], min: 0, help: 'with --config: first expert this call owns (default 0)' },
  routing: { kind: 'list', commands: ['check'], choices: ROUTING_METHODS, help: 'routing methods of the mix, comma-separated' },
  quant: { kind: 'list', commands: ['check'], choices: QUANT_MODES, help: 'quant modes of the mix, comma-separated' },
  logits: { kind: 'list', commands: ['check'], choices: LOGIT_FAMILIES, help: 'logit families, comma-separated' },
  scales: { kind: 'list', commands: ['check'], choices: SCALE_FAMILIES, help: 'scale families, comma-separated' },
  size: { kind: 'string', commands: ['check'], choices: MIX_SIZES, help: 'shape class of the mix (default small)' },
  runs: { kind: 'int', commands: ['check'], min: 1, help: 'number of cases (default 24, 2 with --config, 100 with --generator property)' },
  seed: { kind: 'int', commands: ['check', 'tune'], min: 0, help: 'seed of the case mix, or the fast-check seed (default env MOE_HARNESS_SEED, else 1); tune: seed of the tuning inputs (default 1)' },
  generator: { kind: 'string', commands: ['check'], choices: GENERATORS, help: 'where cases come from: the scenario mix (default), or a fast-check property that shrinks a failure to a small case' },
  path: { kind: 'string', commands: ['check'], help: 'with --generator property: the fast-check path to replay (with the same --seed), e.g. "3:0:1"' },
  report: { kind: 'string', commands: ['check', 'merge'], resume: 'free', help: 'report folder, new or empty (default reports/<kernel>-<time>; merge: required); checked before anything runs' },
  resume: { kind: 'string', commands: ['check'], resume: 'free', help: 'continue the interrupted campaign of this report folder: same options (stored there), finished (case, tactic) pairs not run again' },
  quiet: { kind: 'flag', commands: ['check'], resume: 'free', help: 'no progress bar' },
  case: { kind: 'string', commands: ['replay', 'tactics'], help: 'the CaseSpec as JSON, or @file holding it' },
  budget: { kind: 'number', commands: ['check'], min: 0, help: `time budget of the default run in seconds (default ${DEFAULT_BUDGET_S}); only without --runs, --config and the mix options (docs/default-run.md)` },
  repeats: { kind: 'int', commands: RUNS, min: 2, help: `runs of every tactic on identical inputs, compared bit for bit (default ${DEFAULT_RUN_REPEATS}; not with --generator property)` },
  junit: { kind: 'string', commands: ['check', 'merge'], resume: 'free', help: 'also write JUnit XML to this file: one testcase per (case, tactic) (docs/ci.md)' },
  shard: { kind: 'string', commands: ['check'], help: 'run shard I/N of the cases, 0-based (case i runs on shard i mod N); default CI_NODE_INDEX/CI_NODE_TOTAL; none: all cases' },
  gpus: { kind: 'string', commands: ['check'], help: 'all, or N: one worker process per GPU (CUDA_VISIBLE_DEVICES), cases spread over them, one merged report' },
  shards: { kind: 'intlist', commands: ['merge'], min: 0, help: 'the shard indices to expect, comma-separated (default every shard of the total): merging part of a sharded campaign' },
  problem: { kind: 'string', commands: ['tune'], help: 'a Problem as JSON (or @file) to tune instead of --config (its T is ignored)' },
  'max-tokens': { kind: 'int', commands: ['tune'], min: 1, help: 'largest bucket, a power of two (default 4096); buckets are 1, 2, 4, …, max' },
  buckets: { kind: 'intlist', commands: ['tune'], min: 1, help: 'tune only these buckets (powers of two <= --max-tokens)' },
  init: { kind: 'string', commands: ['tune'], help: 'per-tensor initializers TENSOR=NAME,… (tensors logits, bias, hidden, fc1, fc2; names random (default), zero)' },
  cache: { kind: 'string', commands: ['tune'], help: 'tune cache file to write (merged with the entries already there, same environment only)' },
  check: { kind: 'string', commands: ['tune'], help: 're-verify every choice of this tune cache file' },
  warmup: { kind: 'int', commands: ['tune'], min: 0, help: `untimed runs per tactic (default ${DEFAULT_NOISE_POLICY.warmup})` },
  'min-repeats': { kind: 'int', commands: ['tune'], min: 1, help: `timed runs per tactic at least (default ${DEFAULT_NOISE_POLICY.minRepeats})` },
  'max-repeats': { kind: 'int', commands: ['tune'], min: 1, help: `timed runs per tactic at most (default ${DEFAULT_NOISE_POLICY.maxRepeats})` },
  'error-limit': { kind: 'number', commands: ['tune'], min: 0, help: `largest relative standard error of a tactic's median time accepted before the cap (default ${DEFAULT_NOISE_POLICY.errorLimit}: wrong picks <= 4x it)` },
  l2: { kind: 'string', commands: ['tune'], choices: ['warm', 'cold'], help: 'L2 state of timed runs: warm (default), or cold (scratch written between runs where the kernel supports it; reported otherwise, refused under MOE_HARNESS_REQUIRE_GPU=1)' },
  launch: { kind: 'string', commands: ['tune'], choices: ['stream', 'graph'], help: 'timed runs launched on the stream (default) or replayed from a CUDA graph where the kernel supports it (reported otherwise, refused under MOE_HARNESS_REQUIRE_GPU=1)' },
  'reference-schedule': { kind: 'string', commands: ['tune'], choices: ['ahead', 'on_demand'], help: "ahead (default): the next bucket's reference computed while this bucket's tactics run; on_demand: when first needed" },
  help: { kind: 'flag', commands: [...ALL, 'merge', 'kernels', 'tune'], short: 'h', resume: 'free', help: 'this help' },
} as const satisfies OptionTable;

/** The parsed options of every command, typed by OPTIONS. */
export type CliOptions = OptionValues<typeof OPTIONS>;

/** Every exit code, in the help and in docs/cli.md. */
export const EXIT_CODES: ReadonlyArray<readonly [number, string]> = [
  [0, 'every record passed'],
  [1, 'a record incorrect or crashed (the kernel failed)'],
  [2, 'bad arguments or environment (a message names the option, the expected and the actual value); nothing ran'],
  [3, 'only "not supported" records besides passes'],
  [70, 'the harness could not judge: "error" records (generation or reference failed) and nothing incorrect or crashed, or an internal error'],
  [130, 'interrupted by SIGINT: the report of what finished is written, marked partial; --resume DIR continues'],
  [143, 'interrupted by SIGTERM: as 130'],
];

const exitCodesHelp = (): string => `exit codes:\n${EXIT_CODES.map(([c, m]) => `  ${String(c).padStart(3)}  ${m}`).join('\n')}`;

const USAGE = `moe-harness: validate a fused FP4 block-scale MoE kernel, every tactic, against a CPU reference

usage:
  moe-harness check   [options]                    run a campaign (random case mix, --generator property, or --config)
  moe-harness replay  --case JSON [options]        judge one case (all tactics, or --tactic L)
  moe-harness tactics --config NAME --T n          list a kernel's tactics for a problem (or --case JSON)
  moe-harness merge   DIR... --report OUT [--junit FILE]   merge shard reports into one report (and JUnit)
  moe-harness tune    --config NAME [--cache FILE]  tune a tactic per token bucket, every timed tactic verified (--check FILE re-verifies)
  moe-harness kernels                              list the kernel kinds available here, and why any is not
  moe-harness COMMAND --help                       a command's options
  moe-harness --version

${exitCodesHelp()}`;

interface Io {
  readonly out: (s: string) => void;
  readonly err: (s: string) => void;
}

const stdio: Io = { out: (s) => process.stdout.write(s + '\n'), err: (s) => process.stderr.write(s + '\n') };

function envInt(name: string, fallback: number): number {
  const v = process.env[name];
  if (v === undefined || v === '') return fallback;
  if (!/^\d+$/.test(v)) throw new BadArgumentError(name, 'a non-negative integer', JSON.stringify(v));
  return Number(v);
}

/**
 * The kernel to use: native when a CUDA device is usable; a default native falls back to
 * emulated with a notice, except under MOE_HARNESS_REQUIRE_GPU=1 (every fallback a failure).
 */
async function chooseKernel(o: CliOptions, io: Io): Promise<{ choice: KernelChoice; notice?: string }> {
  const r = await chooseProvider({
    ...(o.kernel !== undefined ? { kernel: o.kernel } : {}),
    ...(o['kernel-config'] !== undefined ? { kernelConfig: o['kernel-config'] } : {}),
    ...(o.fault !== undefined ? { fault: o.fault } : {}),
    ...(o.timeout !== undefined ? { timeoutS: o.timeout } : {}),
    fallback: requireGpu() ? 'refuse' : 'emulated_with_notice',
  });
  if (r.notice !== undefined) io.err(r.notice);
  return r;
}

/** MOE_HARNESS_REQUIRE_GPU: 1 (every skip and fallback a failure), 0 or unset; anything else is a bad argument. */
export function requireGpu(): boolean {
  const v = process.env.MOE_HARNESS_REQUIRE_GPU;
  if (v === undefined || v === '' || v === '0') return false;
  if (v !== '1') throw new BadArgumentError('MOE_HARNESS_REQUIRE_GPU', '1, 0 or unset', JSON.stringify(v));
  return true;
}

/**
 * A kernel's tactic enumeration, without running anything. The native kernel's table comes
 * from the addon and needs no CUDA device, only the addon loaded (native/index.ts).
 */
async function tacticEnumeration(choice: KernelChoice): Promise<{ name: string; tactics: (p: Problem) => Promise<Tactic[]>; close: () => Promise<void> }> {
  if (choice.kind === 'native') {
    const native = await import('../native/index.js');
    if (choice.fault !== undefined) native.selectNativeVariant('faults');
    const s = native.nativeStatus();
    if (!s.loaded) throw new BadArgumentError('--kernel', 'emulated, or native with the addon built (npm run build:native)', `native (${s.reason ?? 'addon not loaded'})`);
    return { name: kernelLabel(choice), tactics: async (p) => native.validTactics(p).map((t) => makeTactic(t.tileTokens, t.config)), close: async () => undefined };
  }
  const k = await createKernel(choice);
  return { name: k.name, tactics: async (p) => [...(await k.tactics(p)).tactics], close: () => k.close() };
}

/**
 * Refuse a tactic filter before anything runs: each pattern must match a tactic the kernel
 * enumerates for at least one of the problems, else it would only produce "not supported".
 */
async function checkTacticFilter(patterns: readonly string[] | undefined, choice: KernelChoice, problems: readonly Problem[]): Promise<void> {
  // Only kinds loaded in this process are asked here: a library is loaded only in a child, an
  // adapter runs in a process of its own (started once, by the campaign): their filters are judged as they run.
  if (patterns === undefined || problems.length === 0 || kindEntry(choice.kind).isolation !== 'child') return;
  const { name, tactics, close } = await tacticEnumeration(choice);
  const labels = new Set<string>();
  try {
    for (const p of problems) {
      try {
        for (const t of await tactics(p)) labels.add(t.label);
      } catch {
        // A problem the kernel refuses outright is judged (not supported) when it runs.
      }
    }
  } finally {
    await close();
  }
  const sorted = [...labels].sort((a, b) => Number(a.split('/')[0]) - Number(b.split('/')[0]) || Number(a.split('/')[1]) - Number(b.split('/')[1]));
  for (const pat of patterns) {
    if (!sorted.some((l) => matchesTactic(l, [pat]))) {
      throw new BadArgumentError('--tactic', `patterns matching tactics ${name} enumerates for ${problems.length === 1 ? 'this problem' : `these ${problems.length} problems`}: ${sorted.join(' ') || '(none)'}`,
        JSON.stringify(pat));
    }
  }
}

/** CaseSpec fields and the option that sets each (spec validation errors name the option). */
const SPEC_FIELD_OPTIONS: Readonly<Record<string, string>> = {
  T: '--T', H: '--H', I: '--I', localExperts: '--local-experts', localOffset: '--local-offset', routing: '--routing', quantMode: '--quant',
};

/** Run `build`, turning a spec validation error ("spec.problem.H: …") into one naming the option that set the field. */
function namingOptions<T>(build: () => T): T {
  try {
    return build();
  } catch (e) {
    if (!(e instanceof BadArgumentError)) throw e;
    const m = /^spec\.problem\.(\w+)/.exec(e.argument);
    const option = m ? SPEC_FIELD_OPTIONS[m[1]!] : undefined;
    if (option === undefined) throw e;
    throw new BadArgumentError(option, e.expected, e.actual, `checked as ${e.argument}`);
  }
}

function readCaseSpec(text: string): CaseSpec {
  let raw = text;
  if (text.startsWith('@')) {
    const file = text.slice(1);
    try {
      raw = readFileSync(file, 'utf8');
    } catch (e) {
      throw new BadArgumentError('--case', 'a CaseSpec as JSON, or @FILE naming a readable file', `${JSON.stringify(text)} (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
    }
  }
  let spec: CaseSpec;
  try {
    spec = JSON.parse(raw) as CaseSpec;
  } catch (e) {
    throw new BadArgumentError('--case', 'a CaseSpec as JSON (or @file)', `${raw.slice(0, 60)}… (${(e as Error).message})`);
  }
  try {
    validateCaseSpec(spec);
    routingMethod(spec.problem.routing.method).validate(spec.problem);
  } catch (e) {
    if (e instanceof BadArgumentError) throw new BadArgumentError(`--case ${e.argument}`, e.expected, e.actual);
    throw e;
  }
  return spec;
}

/**
 * A named configuration's problem at T (with --local-offset/--local-experts). No size wall:
 * with `checkSize` the case is refused only when one of its arrays exceeds Node's array limit
 * or its generation exceeds the memory available (reference/resourceEstimate.ts); check()
 * then holds every case to the whole host and device estimates (caseFits.ts).
 */
function configProblemFrom(o: CliOptions, T: number, checkSize = true): Problem {
  const name = o.config;
  if (name === undefined) throw new BadArgumentError('--config', `a named configuration (${CONFIG_NAMES.join(', ')})`, 'nothing');
  const base = configProblem(name, T);
  const localOffset = o['local-offset'] ?? 0;
  const localExperts = o['local-experts'] ?? base.E - localOffset;
  if (localOffset + localExperts > base.E) {
    throw new BadArgumentError('--local-offset + --local-experts', `<= E = ${base.E} (${name})`, `${localOffset} + ${localExperts}`);
  }
  const p = configProblem(name, T, { localOffset, localExperts });
  if (checkSize) checkGenerationFits(p, '--T / --local-experts');
  return p;
}

function configCases(o: CliOptions, runs: number, seed: number): CampaignCase[] {
  const Ts = o.T ?? [1, 37];
  const rng = seedrandom(`moe-harness-config:${seed}`);
  const logits = o.logits ?? ['normal'];
  const scales = o.scales ?? ['normal'];
  const out: CampaignCase[] = [];
  for (let n = 0; n < Math.max(runs, 1); n++) {
    const spec: CaseSpec = {
      problem: configProblemFrom(o, Ts[n % Ts.length]!), seed: Math.floor(rng() * 2 ** 32) >>> 0,
      logitFamily: logits[n % logits.length]!, scaleFamily: scales[n % scales.length]!,
    };
    out.push({ spec });
  }
  return out;
}

/** The exit code of finished records (EXIT_CODES): a kernel failure first, then a harness error. */
export function exitCodeOf(records: ReadonlyArray<Pick<CaseRecord, 'disposition'>>): number {
  const t: Record<string, number> = {};
  for (const r of records) t[r.disposition] = (t[r.disposition] ?? 0) + 1;
  const n = (d: Disposition): number => t[d] ?? 0;
  if (n('incorrect') > 0 || n('crashed') > 0) return 1;
  if (n('error') > 0) return 70;
  return n('not_supported') > 0 ? 3 : 0;
}

const SIGNAL_EXIT: Readonly<Record<string, number>> = { SIGINT: 130, SIGTERM: 143 };

/** --junit: the JUnit file of a finished campaign (extra: workers that died, as errors). */
function writeJunitIfAsked(result: CampaignResult, meta: ReportMeta, o: CliOptions, io: Io, extra: JunitSuite['extraErrors'] = []): void {
  if (o.junit !== undefined) io.out(`junit:  ${writeJunit(o.junit, [junitSuite(result, meta, extra)])}`);
}

/** Terminal report, report folder and JUnit file of merged results (merge, --gpus); the exit code. */
function finishMerged(result: CampaignResult, meta: ReportMeta, dir: string, o: CliOptions, io: Io, dead: readonly WorkerOutcome[] = []): number {
  io.out(formatTerminalReport(result));
  for (const x of dead) io.out(`\nWORKER FAILED: GPU ${x.gpu}, shard ${shardLabel(x.shard)}: ${x.failure}; its cases have NO results`);
  const paths = writeReport(result, dir, meta);
  io.out(`\nreport: ${paths.html}\n        ${paths.json}`);
  writeJunitIfAsked(result, meta, o, io, dead.map((x) => ({
    classname: `worker GPU ${x.gpu}`, name: `shard ${shardLabel(x.shard)}`, message: `worker failed: ${x.failure}`,
    text: `the cases of shard ${shardLabel(x.shard)} have no results; see ${x.log}`,
  })));
  return dead.length > 0 ? 1 : exitCodeOf(result.records);
}

/** `merge DIR... --report OUT`: shard reports (report.json) into one report and one JUnit file. */
async function merge(argv: readonly string[], io: Io): Promise<number> {
  const { options: o, positionals: dirs } = parseArgs(argv, OPTIONS, 'merge', 'allowed');
  if (o.help) {
    io.out(`usage: moe-harness merge DIR... --report OUT [--junit FILE]\n\n${optionsHelp(OPTIONS, 'merge')}\n\n${exitCodesHelp()}`);
    return 0;
  }
  if (o.report === undefined) throw new BadArgumentError('--report', 'the folder of the merged report', 'nothing');
  if (dirs.length === 0) throw new BadArgumentError('DIR', 'one or more shard report folders', 'none');
  const out = prepareReportDir(o.report, '--report');
  const { result, meta } = mergeReports(dirs.map((d) => readReport(d)), dirs, o.shards ? { shards: o.shards } : {});
  io.err(`moe-harness merge: ${dirs.length} reports, ${result.cases} cases, ${result.records.length} records`);
  return finishMerged(result, meta, out, o, io);
}

const defaultReportDir = (choice: KernelChoice): string =>
  join('reports', `${kernelLabel(choice).replace(/[^a-z0-9_-]+/gi, '-')}-${new Date().toISOString().replace(/[:.]/g, '-')}`);

/**
 * Make sure the report folder can take the report before anything runs: it must be new or
 * empty (an existing file, or a folder holding files, is refused: --resume continues one),
 * creatable and writable. Returns its absolute path, created.
 */
function prepareReportDir(dir: string, option: string): string {
  const abs = resolve(dir);
  if (existsSync(abs)) {
    if (!statSync(abs).isDirectory()) throw new BadArgumentError(option, 'a new or empty folder for the report', `${JSON.stringify(dir)}, an existing file`);
    const entries = readdirSync(abs);
    if (entries.length > 0) {
      throw new BadArgumentError(option, 'a new or empty folder for the report (or --resume DIR to continue an interrupted run there)',
        `${JSON.stringify(dir)}, a folder holding ${entries.slice(0, 3).join(', ')}${entries.length > 3 ? ', …' : ''}`);
    }
  }
  try {
    mkdirSync(abs, { recursive: true });
    accessSync(abs, fsConstants.W_OK);
  } catch (e) {
    throw new BadArgumentError(option, 'a folder that can be created and written', `${JSON.stringify(dir)} (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
  return abs;
}

/** SIGINT/SIGTERM stop the campaign (the abort signal); a second one exits at once (records are already on disk). */
function interruptHandlers(io: Io, stopNow?: (sig: NodeJS.Signals) => never): { signal: AbortSignal; received: () => string | null; remove: () => void } {
  const ac = new AbortController();
  let received: string | null = null;
  const handler = (sig: NodeJS.Signals): void => {
    if (received !== null) {
      io.err(`moe-harness: ${sig} again: exiting now; the records written so far are in records.jsonl`);
      process.exit(SIGNAL_EXIT[sig] ?? 130);
    }
    received = sig;
    if (stopNow !== undefined) stopNow(sig);
    io.err(`moe-harness: ${sig}: stopping; writing the report of what finished (${sig} again to exit at once)`);
    ac.abort();
  };
  process.on('SIGINT', handler);
  process.on('SIGTERM', handler);
  return {
    signal: ac.signal, received: () => received,
    remove: () => {
      process.off('SIGINT', handler);
      process.off('SIGTERM', handler);
    },
  };
}

async function check(argv: readonly string[], io: Io): Promise<number> {
  let { options: o } = parseArgs(argv, OPTIONS, 'check');
  if (o.help) {
    io.out(`usage: moe-harness check [options]\n\n${optionsHelp(OPTIONS, 'check')}\n\n${exitCodesHelp()}`);
    return 0;
  }
  let stored: Invocation | null = null;
  const resumeDir = o.resume;
  if (resumeDir !== undefined) {
    if (o.report !== undefined && resolve(o.report) !== resolve(resumeDir)) {
      throw new BadArgumentError('--report', `no --report with --resume (the report goes to ${resumeDir})`, JSON.stringify(o.report));
    }
    stored = readInvocation(resumeDir);
    if (stored.command !== 'check') throw new BadArgumentError('--resume', 'the folder of a `moe-harness check` run', `${resumeDir} of \`${stored.command}\``);
    const envSeed = o.seed === undefined && process.env.MOE_HARNESS_SEED ? envInt('MOE_HARNESS_SEED', stored.seed) : undefined;
    o = resumeOptions(stored, o, OPTIONS, envSeed);
  }
  const generator = o.generator ?? 'mix';
  if (generator === 'property') {
    if (resumeDir !== undefined) throw new BadArgumentError('--resume', 'a campaign of the case mix or --config (a property campaign is not resumable: rerun it with the same --seed)', '--generator property');
    return checkProperty(argv, o, io);
  }
  if (o.path !== undefined) throw new BadArgumentError('--path', 'only with --generator property', `--path ${JSON.stringify(o.path)} with --generator mix`);
  const { shard } = resolveShard(o.shard);
  const runs = o.runs ?? (o.config ? 2 : 24);
  const seed = stored?.seed ?? o.seed ?? envInt('MOE_HARNESS_SEED', 1);
  const tactics = o.tactic !== undefined ? parseTacticFilter(o.tactic) : undefined;
  const repeats = o.repeats ?? DEFAULT_RUN_REPEATS;
  // The default run: no option that shapes the cases (defaultRun.ts); --budget only there.
  const shaping = DEFAULT_RUN_SHAPING_OPTIONS.filter((k) => o[k] !== undefined);
  if (o.budget !== undefined && shaping.length > 0) {
    throw new BadArgumentError('--budget', 'only for the default run (without ' + DEFAULT_RUN_SHAPING_OPTIONS.map((k) => `--${k}`).join(', ') + ')', `--budget with --${shaping[0]}`);
  }
  if (o.budget !== undefined && !(o.budget > 0)) throw new BadArgumentError('--budget', 'seconds > 0', String(o.budget));
  const shaped: CampaignCase[] | null = shaping.length === 0 ? null : namingOptions(() => (o.config
    ? configCases(o, runs, seed)
    : caseMix({
      runs, seed, size: o.size ?? 'small',
      ...(o.routing ? { routing: o.routing } : {}),
      ...(o.quant ? { quant: o.quant } : {}),
      ...(o.logits ? { logitFamilies: o.logits } : {}),
      ...(o.scales ? { scaleFamilies: o.scales } : {}),
      ...(o.T ? { T: o.T } : {}), ...(o.H ? { H: o.H } : {}), ...(o.I ? { I: o.I } : {}),
    }).map((spec) => ({ spec }))));
  const { choice, notice } = await chooseKernel(o, io);
  const plan: DefaultRunPlan | null = shaped === null
    ? planDefaultRun({
      seed, budgetS: o.budget ?? DEFAULT_BUDGET_S, kernel: choice.kind, repeats,
      referencePrecision: o.reference ?? 'float32',
    })
    : null;
  const allCases: CampaignCase[] = shaped ?? plan!.cases.map((c) => ({ spec: c.spec }));
  // Sharding (CI_NODE_INDEX/CI_NODE_TOTAL or --shard): case i runs on shard i mod N; records keep i.
  const cases: CampaignCase[] = shardItems(allCases, shard).map(({ item, index }) => ({ ...item, index }));
  if (shard && resumeDir !== undefined) throw new BadArgumentError('--resume', 'an unsharded run (resume each shard\'s folder without CI_NODE_* / --shard)', `shard ${shardLabel(shard)}`);
  const gpuPlan = o.gpus !== undefined ? planGpus(parseGpus(o.gpus), choice.kind, listDevices()) : null;
  const shardMeta: ReportMeta = shard ? { shard: { ...shard, casesTotal: allCases.length } } : {};
  if (stored !== null && kernelLabel(choice) !== stored.kernel) {
    throw new BadArgumentError('--kernel', `the kernel of the run being resumed (${stored.kernel})`, `${kernelLabel(choice)}${notice ? ' (the fallback: no usable CUDA device)' : ''}`);
  }
  await checkTacticFilter(tactics, choice, cases.map((c) => c.spec.problem));
  // The isolation actually used: a cmd: adapter isolates itself (inline), a lib: kernel only ever runs in a child.
  const isolation = runnerIsolation(choice, o.isolation ?? 'child');
  // Host and device memory of every --config case, before any is generated (caseFits.ts).
  if (o.config !== undefined) {
    await checkCasesFit(cases.map((c) => c.spec.problem), '--T / --local-experts',
      { kernelKind: choice.kind, isolation, precision: o.reference ?? 'float32', repeats });
  }
  if (gpuPlan && gpuPlan.devices.length > 1) {
    if (resumeDir !== undefined) throw new BadArgumentError('--resume', 'a one-process run (resume each GPU worker\'s folder)', `--gpus ${String(o.gpus)}`);
    return checkOnGpus();
  }
  // From here a signal stops the campaign cleanly (even before its first case).
  const interrupt = interruptHandlers(io);
  try {
    return await runCheck();
  } finally {
    interrupt.remove();
  }

  /** One worker process per GPU (multiGpu.ts), each a sharded `check` of its own; one merged report. */
  async function checkOnGpus(): Promise<number> {
    const dir = prepareReportDir(o.report ?? defaultReportDir(choice), '--report');
    io.err(`moe-harness check: kernel ${kernelLabel(choice)}, ${cases.length} cases${shard ? ` (shard ${shardLabel(shard)} of ${allCases.length})` : ''}, seed ${seed}, ` +
      `--gpus ${String(o.gpus)}: ${gpuPlan!.devices.length} workers (${gpuPlan!.detail})`);
    const w = await runWorkers({ argv, plan: gpuPlan!, parentShard: shard, kernel: choice.kind, reportDir: dir, onLine: (l) => io.err(`moe-harness check: ${l}`) });
    const dead = w.workers.filter((x) => x.failure !== undefined);
    for (const x of dead) io.err(`moe-harness check: WORKER FAILED: GPU ${x.gpu} (shard ${shardLabel(x.shard)}): ${x.failure}`);
    const result = w.merged?.result ?? { kernel: kernelLabel(choice), cases: 0, records: [], elapsedMs: 0, childStarts: 0 };
    const meta: ReportMeta = { ...shardMeta, command: `moe-harness check ${argv.join(' ')}`, seed, ...(notice ? { notice } : {}) };
    return finishMerged(result, meta, dir, o, io, dead);
  }

  async function runCheck(): Promise<number> {
    // The report folder, the invocation and the journal exist before the first case runs.
    let dir: string;
    let resumed: ResumeState | null = null;
    let journal: RecordJournal;
    if (resumeDir !== undefined) {
      dir = resolve(resumeDir);
      resumed = loadResumeState(dir);
      journal = new RecordJournal(dir, 'append');
    } else {
      dir = prepareReportDir(o.report ?? defaultReportDir(choice), '--report');
      writeInvocation(dir, { command: 'check', options: bindingOptions(o, OPTIONS), seed, kernel: kernelLabel(choice), version: packageVersion() });
      journal = new RecordJournal(dir, 'new');
    }
    const skipped = resumed ? [...resumed.done.values()].filter((d) => d === 'case').length : 0;
    io.err(`moe-harness check: kernel ${kernelLabel(choice)}, ${cases.length} cases${shard ? ` (shard ${shardLabel(shard)} of ${allCases.length})` : ''}, seed ${seed}, isolation ${isolation}` +
      `${gpuPlan ? `, --gpus ${String(o.gpus)}: this process (${gpuPlan.detail})` : ''}` +
      `${resumed ? `; resuming ${dir}: ${skipped} cases and ${resumed.records.length} records done` : ''}`);
    if (plan) io.err(coverageLine(plan));
    const progress = new Progress(cases.length, process.stderr, o.quiet ? 'quiet' : 'shown');
    const stats = { passed: 0, failed: 0 };
    let result: CampaignResult;
    try {
      result = await runCampaign(cases, {
        kernel: choice, isolation, ...(tactics ? { tactics } : {}), repeats,
        referencePrecision: o.reference ?? 'float32',
        ...(o.timeout ? { timeoutMs: o.timeout * 1000 } : {}),
        signal: interrupt.signal,
        ...(resumed ? { resumeFrom: resumed.done } : {}),
        onEvent: (e) => {
          if (e.type === 'record') {
            journal.record(e.record);
            if (e.record.disposition === 'passed') stats.passed++;
            else stats.failed++;
          }
          if (e.type === 'case_start') progress.update(e.index, e.problem, stats);
          if (e.type === 'case_done') {
            journal.caseDone(e.index);
            progress.update(e.index + 1, '', stats);
          }
        },
      });
    } finally {
      journal.close();
    }
    progress.finish();
    const records = [...(resumed?.records ?? []), ...result.records].sort((a, b) => a.caseIndex - b.caseIndex);
    const all: CampaignResult = { ...result, records };
    const sig = result.interrupted !== undefined ? interrupt.received() ?? 'SIGINT' : null;
    io.out(formatTerminalReport(all));
    if (plan) io.out(`(default run: ${(result.elapsedMs / 1000).toFixed(1)} s; the plan estimated ${(plan.estimateMs / 1000).toFixed(1)} s of a ${plan.options.budgetS} s budget)`);
    const resumeCommand = `npx moe-harness check --resume ${dir}`;
    const meta: ReportMeta = {
      ...shardMeta, command: `moe-harness check ${argv.join(' ')}`, seed, ...(notice ? { notice } : {}),
      ...(sig !== null ? {
        partial: true,
        interrupted: { signal: sig, ...(result.interrupted ? { case: result.interrupted.caseIndex, problem: result.interrupted.problem } : {}), resume: resumeCommand },
      } : {}),
    };
    const paths = writeReport(all, dir, meta);
    io.out(`\nreport: ${paths.html}\n        ${paths.json}`);
    writeJunitIfAsked(all, meta, o, io);
    if (sig !== null) {
      io.out(`\nPARTIAL: interrupted by ${sig}${result.interrupted ? ` during case ${result.interrupted.caseIndex}` : ''}; ${records.length} records kept. Continue with:\n  ${resumeCommand}`);
      return SIGNAL_EXIT[sig] ?? 130;
    }
    return exitCodeOf(records);
  }
}

function packageVersion(): string {
  return (JSON.parse(readFileSync(join(projectRoot(), 'package.json'), 'utf8')) as { version: string }).version;
}

/** Options that shape a property campaign's cases, in the order a replay command repeats them. */
const PROPERTY_ARGS = ['size', 'routing', 'quant', 'logits', 'scales', 'T', 'tactic', 'reference'] as const;

const shellWord = (w: string): string => (/^[\w,./-]+$/.test(w) ? w : `'${w.replace(/'/g, "'\\''")}'`);

/** Problems like those a property campaign draws (the case mix with its options), to check --tactic against. */
function propertyProblems(o: CliOptions, seed: number): Problem[] {
  return caseMix({
    runs: 48, seed, size: o.size ?? 'small',
    ...(o.routing ? { routing: o.routing } : {}),
    ...(o.quant ? { quant: o.quant } : {}),
    ...(o.T ? { T: o.T } : {}),
  }).map((s) => s.problem);
}

async function checkProperty(argv: readonly string[], o: CliOptions, io: Io): Promise<number> {
  for (const name of ['budget', 'repeats'] as const) {
    if (o[name] !== undefined) throw new BadArgumentError(`--${name}`, 'no such option with --generator property (it runs each tactic twice; use --generator mix)', `--${name} ${String(o[name])}`);
  }
  for (const name of ['config', 'H', 'I', 'local-experts', 'local-offset'] as const) {
    if (o[name] !== undefined) {
      throw new BadArgumentError(`--${name}`, 'no such option with --generator property (it draws its own shapes; use --generator mix)', `--${name} ${String(o[name])}`);
    }
  }
  for (const name of ['shard', 'gpus'] as const) {
    if (o[name] !== undefined) throw new BadArgumentError(`--${name}`, 'no such option with --generator property (fast-check draws its cases one after another; use --generator mix)', `--${name} ${String(o[name])}`);
  }
  if (shardFromEnv() !== null) io.err('moe-harness check: NOTICE: CI_NODE_INDEX/CI_NODE_TOTAL are set, but --generator property is not sharded: this runner runs the whole property');
  const Ts = o.T;
  if (Ts !== undefined && Ts.length !== 1) throw new BadArgumentError('--T', 'one token count with --generator property', Ts.join(','));
  const runs = o.runs ?? 100;
  const seed = o.seed ?? envInt('MOE_HARNESS_SEED', 1);
  const path = o.path;
  const tactics = o.tactic !== undefined ? parseTacticFilter(o.tactic) : undefined;
  const replayArgs = PROPERTY_ARGS.filter((k) => o[k] !== undefined)
    .map((k) => `--${k} ${shellWord(Array.isArray(o[k]) ? (o[k] as Array<string | number>).join(',') : String(o[k]))}`).join(' ');
  const { runPropertyCampaign } = await import('./propertyCampaign.js');
  const { choice, notice } = await chooseKernel(o, io);
  await checkTacticFilter(tactics, choice, propertyProblems(o, seed));
  const isolation = runnerIsolation(choice, o.isolation ?? 'child');
  const dir = prepareReportDir(o.report ?? defaultReportDir(choice), '--report');
  io.err(`moe-harness check: kernel ${kernelLabel(choice)}, fast-check property, ${path !== undefined ? `path "${path}"` : `${runs} runs`}, seed ${seed}, isolation ${isolation}`);
  writeInvocation(dir, { command: 'check', options: bindingOptions(o, OPTIONS), seed, kernel: kernelLabel(choice), version: packageVersion() });
  const journal = new RecordJournal(dir, 'new');
  const progress = new Progress(runs, process.stderr, o.quiet || path !== undefined ? 'quiet' : 'shown');
  const stats = { passed: 0, failed: 0 };
  let shrinking = false;
  const judged: CaseRecord[] = [];
  const started = performance.now();
  // fast-check cannot be stopped between cases: on SIGINT/SIGTERM the report of the cases
  // judged so far is written, marked partial, and the process exits (the child follows).
  const interrupt = interruptHandlers(io, (sig) => {
    progress.finish();
    journal.close();
    const rest = argv.filter((w, i) => !w.startsWith('--report') && argv[i - 1] !== '--report');
    if (o.seed === undefined) rest.push('--seed', String(seed));
    const again = `npx moe-harness check ${rest.map(shellWord).join(' ')} --report NEW_DIR   # not resumable: the same --seed draws the same cases`;
    const paths = writeReport({ kernel: kernelLabel(choice), cases: new Set(judged.map((r) => r.caseIndex)).size, records: judged, elapsedMs: performance.now() - started, childStarts: 0 }, dir, {
      command: `moe-harness check ${argv.join(' ')}`, seed, ...(notice ? { notice } : {}),
      partial: true, interrupted: { signal: sig, resume: again },
    });
    io.out(`\nPARTIAL: interrupted by ${sig}; ${judged.length} records of the property campaign kept in ${paths.json}`);
    process.exit(SIGNAL_EXIT[sig] ?? 130);
  });
  let result;
  try {
    result = await runPropertyCampaign({
      kernel: choice, runs, seed, ...(path !== undefined ? { path } : {}), isolation,
      size: o.size ?? 'small',
      ...(o.routing ? { methods: o.routing } : {}),
      ...(o.quant ? { quantModes: o.quant } : {}),
      ...(o.logits ? { logitFamilies: o.logits } : {}),
      ...(o.scales ? { scaleFamilies: o.scales } : {}),
      ...(Ts ? { T: Ts[0]! } : {}),
      ...(tactics ? { tacticFilter: tactics } : {}),
      referencePrecision: o.reference ?? 'float32',
      ...(o.timeout ? { timeoutMs: o.timeout * 1000 } : {}),
      replayArgs,
      onEvent: (e) => {
        if (e.type === 'case' && e.phase === 'run') progress.update(e.index, e.problem, stats);
        if (e.type === 'case' && e.phase === 'shrink' && !shrinking) {
          shrinking = true;
          progress.finish();
          if (!o.quiet) io.err('moe-harness: a case failed; shrinking it…');
        }
        if (e.type === 'judged' && e.phase === 'run') {
          for (const r of e.records) {
            judged.push(r);
            journal.record(r);
            if (r.disposition === 'passed') stats.passed++;
            else stats.failed++;
          }
          progress.update(e.index + 1, '', stats);
        }
      },
    });
  } finally {
    interrupt.remove();
    journal.close();
  }
  if (!shrinking) progress.finish();
  io.out(formatTable(summarize(result.records)));
  const t = totals(result.records);
  io.out(`\n${result.kernel}: fast-check seed ${seed}, ${result.generated} generated case${result.generated === 1 ? '' : 's'}` +
    `${result.counterexample ? `, counterexample shrunk in ${result.counterexample.shrinks} steps (${result.shrinkRecords.length} records while shrinking)` : ''}; ` +
    `${result.records.length} (case, tactic) records: passed ${t.passed}, incorrect ${t.incorrect}, crashed ${t.crashed}, not supported ${t.not_supported} (${(result.elapsedMs / 1000).toFixed(1)} s)`);
  const cx = result.counterexample;
  if (cx) {
    io.out(`\nCOUNTEREXAMPLE (fast-check seed ${cx.fcSeed} path "${cx.fcPath}"): ${describeProblem(cx.spec.problem)}, ` +
      `logits ${cx.spec.logitFamily}, scales ${cx.spec.scaleFamily}, data seed ${cx.spec.seed}`);
    io.out(`  case: ${JSON.stringify(cx.spec)}`);
    if (cx.error !== undefined) io.out(`  ERROR: ${cx.error}`);
    for (const r of cx.findings.slice(0, 4)) {
      io.out(`  ${r.disposition.toUpperCase()} tactic ${r.tactic}:`);
      for (const l of r.verdict.lines.slice(0, 3)) io.out(`    ${l}`);
    }
    if (cx.findings.length > 4) io.out(`  … and ${cx.findings.length - 4} more tactics not passed`);
    io.out(`replay: ${cx.replay}`);
  }
  const paths = writeReport(result, dir, {
    command: `moe-harness check ${argv.join(' ')}`, seed, ...(notice ? { notice } : {}),
    ...(cx ? {
      counterexample: {
        problem: describeProblem(cx.spec.problem), spec: cx.spec, fcSeed: cx.fcSeed, fcPath: cx.fcPath, shrinks: cx.shrinks,
        findings: cx.error !== undefined ? [cx.error] : cx.findings.flatMap((r) => r.verdict.lines), replay: cx.replay,
      },
    } : {}),
  });
  io.out(`\nreport: ${paths.html}\n        ${paths.json}`);
  if (cx?.error !== undefined) return 70;
  return exitCodeOf(result.records);
}

async function replay(argv: readonly string[], io: Io): Promise<number> {
  const { options: o } = parseArgs(argv, OPTIONS, 'replay');
  if (o.help) {
    io.out(`usage: moe-harness replay --case JSON [options]\n\n${optionsHelp(OPTIONS, 'replay')}\n\n${exitCodesHelp()}`);
    return 0;
  }
  if (o.case === undefined) throw new BadArgumentError('--case', 'a CaseSpec as JSON (or @file)', 'nothing');
  const spec = readCaseSpec(o.case);
  const tactics = o.tactic !== undefined ? parseTacticFilter(o.tactic) : undefined;
  const { choice } = await chooseKernel(o, io);
  await checkTacticFilter(tactics, choice, [spec.problem]);
  const isolation = runnerIsolation(choice, o.isolation ?? oneOffIsolation(choice));
  io.err(`moe-harness replay: ${describeProblem(spec.problem)} seed ${spec.seed} on ${kernelLabel(choice)}`);
  const result = await runCampaign([{ spec }], {
    kernel: choice, isolation, ...(tactics ? { tactics } : {}), repeats: o.repeats ?? DEFAULT_RUN_REPEATS,
    referencePrecision: o.reference ?? 'float32',
    ...(o.timeout ? { timeoutMs: o.timeout * 1000 } : {}),
  });
  for (const r of result.records) {
    const w = r.verdict.worst;
    io.out(`tactic ${r.tactic}: ${r.disposition}${w ? ` (worst ${w.ratio.toPrecision(3)}× bound at out[t=${w.t},h=${w.h}])` : ''}`);
    for (const l of r.verdict.lines) io.out(`  ${l}`);
  }
  return exitCodeOf(result.records);
}

/**
 * List a kernel's tactics. The native kernel's table is the addon's and needs no CUDA
 * device: without one it is still shown (and said so); the emulated kernel only when asked.
 */
async function tacticsCommand(argv: readonly string[], io: Io): Promise<number> {
  const { options: o } = parseArgs(argv, OPTIONS, 'tactics');
  if (o.help) {
    io.out(`usage: moe-harness tactics --config NAME --T n [options]\n\n${optionsHelp(OPTIONS, 'tactics')}\n\n${exitCodesHelp()}`);
    return 0;
  }
  const Ts = o.T;
  if (Ts !== undefined && Ts.length !== 1) throw new BadArgumentError('--T', 'one token count with tactics', Ts.join(','));
  let problem: Problem;
  if (o.case !== undefined) problem = readCaseSpec(o.case).problem;
  else if (o.config !== undefined) problem = namingOptions(() => configProblemFrom(o, Ts?.[0] ?? 1, false));
  else throw new BadArgumentError('--config or --case', 'a named configuration (with --T) or a CaseSpec', 'neither');
  const fault = o.fault;
  const requested = requestedKernel({
    ...(o.kernel !== undefined ? { kernel: o.kernel } : {}),
    ...(o['kernel-config'] !== undefined ? { kernelConfig: o['kernel-config'] } : {}),
    ...(fault !== undefined ? { fault } : {}),
  });
  if (requested?.kind === 'lib') return libTactics(requested, problem, io);
  if (requested !== undefined && requested.kind !== 'native') return providerTactics(requested, problem, io);
  const choice: KernelChoice = requested ?? { kind: 'native', ...(fault ? { fault } : {}) };
  let table: Awaited<ReturnType<typeof tacticEnumeration>>;
  try {
    table = await tacticEnumeration(choice);
  } catch (e) {
    // The addon is not even built: the emulated kernel's table, with a notice (unless native was asked for).
    if (requested !== undefined || requireGpu() || !(e instanceof BadArgumentError)) throw e;
    io.err(`NOTICE: ${e.actual}; listing the EMULATED kernel's tactics instead. Pass --kernel emulated to silence this notice.`);
    table = await tacticEnumeration({ kind: 'emulated', ...(fault ? { fault } : {}) });
  }
  const list = await table.tactics(problem);
  await table.close();
  io.out(`${table.name} · ${describeProblem(problem)}: ${list.length} tactics`);
  for (const t of list) io.out(`  ${t.label}`);
  if (choice.kind === 'native' && table.name.startsWith('native')) {
    const gpu = await gpuAvailability();
    if (!gpu.available) io.err(`note: no usable CUDA device (${gpu.detail}); this is the native kernel's tactic table, which needs none (nothing was run)`);
  }
  return list.length > 0 ? 0 : 3;
}

/** `tactics` of a provider loaded here (emulated, a cmd: adapter): its tactics, and why each other it knows cannot run (stderr). */
async function providerTactics(choice: KernelChoice, problem: Problem, io: Io): Promise<number> {
  const kernel = await createKernel(choice);
  try {
    const { tactics: list, unavailable } = await kernel.tactics(problem);
    io.out(`${kernel.name} · ${describeProblem(problem)}: ${list.length} tactics`);
    for (const t of list) io.out(`  ${t.label}`);
    if (unavailable.length > 0) io.err(`not runnable for this problem: ${unavailable.length}`);
    for (const u of unavailable) io.err(`  ${u.label}: ${u.reason}`);
    return list.length > 0 ? 0 : 3;
  } finally {
    await kernel.close();
  }
}

/** `moe-harness kernels`: every kind of the registry (kernels/select.ts), whether it runs here, and why not. */
async function kernelsCommand(argv: readonly string[], io: Io): Promise<number> {
  const { options: o } = parseArgs(argv, OPTIONS, 'kernels');
  if (o.help) {
    io.out(`usage: moe-harness kernels

${optionsHelp(OPTIONS, 'kernels')}

${exitCodesHelp()}`);
    return 0;
  }
  for (const line of formatKernelListing(await listKernels())) io.out(line);
  return 0;
}

/** `tactics --kernel lib:PATH`: asked in a child process (a library is never loaded here). */
async function libTactics(choice: KernelChoice, problem: Problem, io: Io): Promise<number> {
  const { probeLibrary } = await import('./kernels/libProbe.js');
  const r = await probeLibrary(choice, problem);
  if (!r.ok) {
    io.err(`moe-harness tactics: ${kernelLabel(choice)}: ${r.error}`);
    return 1;
  }
  const d = r.description;
  io.out(`${kernelLabel(choice)}: ${d.name} (${d.version}) on ${d.device}, C ABI ${d.abi}`);
  if (r.unsupported !== undefined) {
    io.out(`${describeProblem(problem)}: not supported: ${r.unsupported}`);
    return 3;
  }
  io.out(`${describeProblem(problem)}: ${r.runnable!.length} tactics`);
  for (const t of r.runnable!) io.out(`  ${t.label}`);
  for (const x of r.refused!) io.out(`  ${x.tactic.label}  cannot run: ${x.reason}`);
  return r.runnable!.length > 0 ? 0 : 3;
}

interface Command {
  readonly run: (argv: readonly string[], io: Io) => Promise<number>;
}

/** The commands, by name. */
const COMMANDS: Readonly<Record<string, Command>> = {
  check: { run: check },
  replay: { run: replay },
  tactics: { run: tacticsCommand },
  merge: { run: merge },
  tune: { run: async (argv, io) => (await import('./tuneCommand.js')).tuneCommand(argv, io) },
  kernels: { run: kernelsCommand },
};

/** Top-level words that are not commands. */
const TOP_LEVEL: Readonly<Record<string, (io: Io) => number>> = {
  help: (io) => (io.out(USAGE), 0),
  '--help': (io) => (io.out(USAGE), 0),
  '-h': (io) => (io.out(USAGE), 0),
  '--version': (io) => (io.out(`moe-harness ${packageVersion()}`), 0),
};

/** Run the CLI; returns the exit code (never exits by itself). */
export async function main(argv: readonly string[], io: Io = stdio): Promise<number> {
  const [command, ...rest] = argv;
  try {
    if (command === undefined) {
      io.err(USAGE);
      return 2;
    }
    const top = TOP_LEVEL[command];
    if (top !== undefined) {
      if (rest.length > 0) throw new BadArgumentError('argument', `nothing after ${command}`, JSON.stringify(rest.join(' ')));
      return top(io);
    }
    const cmd = Object.hasOwn(COMMANDS, command) ? COMMANDS[command] : undefined;
    if (cmd === undefined) throw new BadArgumentError('command', `${Object.keys(COMMANDS).join(', ')}, help or --version`, JSON.stringify(command));
    return await cmd.run(rest, io);
  } catch (e) {
    if (e instanceof BadArgumentError) {
      io.err(`moe-harness: ${e.message}`);
      return 2;
    }
    throw e;
  }
}

function invokedDirectly(): boolean {
  const arg = process.argv[1];
  if (arg === undefined) return false;
  try {
    return import.meta.url === pathToFileURL(realpathSync(arg)).href;
  } catch {
    return false;
  }
}

if (invokedDirectly()) {
  main(process.argv.slice(2)).then((code) => process.exit(code), (e: unknown) => {
    console.error(`moe-harness: internal error (exit 70): ${e instanceof Error ? e.stack ?? e.message : String(e)}`);
    process.exit(70);
  });
}
