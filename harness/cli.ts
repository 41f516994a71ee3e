/**
 * moe-harness command line:
 *   moe-harness check    [options]   run a campaign, print a table per tactic, write a report
 *   moe-harness replay   --case JSON [--tactic L|all] [--kernel K]   judge one case
 *   moe-harness tactics  --config NAME --T n | --case JSON [--kernel K]   list a kernel's tactics
 *   moe-harness tune     --config NAME | --check CACHE   tune per token bucket, verifying (tuneCommand.ts)
 * Exit codes: 0 everything passed; 1 something incorrect or crashed; 3 only "not supported"
 * records besides passes; 2 bad arguments.
 */
import { readFileSync, realpathSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import seedrandom from 'seedrandom';
import { LOGIT_FAMILIES, SCALE_FAMILIES, type CaseSpec, type LogitFamily, type ScaleFamily } from '../reference/case.js';
import { CONFIG_NAMES, configProblem } from '../reference/configs.js';
import { BadArgumentError } from '../reference/errors.js';
import { validateCaseSpec } from '../reference/generate.js';
import { QUANT_MODES, ROUTING_METHODS, describeProblem, weightBlock, type Problem, type QuantMode, type RoutingMethodName } from '../reference/problem.js';
import { routingMethod } from '../reference/routing/registry.js';
import { runCampaign, type CampaignCase, type CampaignResult, type Isolation } from './campaign.js';
import { caseMix, MIX_SIZES, type MixSize } from './caseMix.js';
import { optionsHelp, parseArgs, type OptionSpec, type Parsed } from './cliArgs.js';
import { FAULT_NAMES, type FaultName } from './faults.js';
import { chooseKernel as chooseProvider } from './kernels/kernelSpec.js';
import { formatKernelListing, listKernels } from './kernels/listKernels.js';
import { createKernel, kernelLabel, oneOffIsolation, runnerIsolation, type KernelChoice } from './kernels/select.js';
import { Progress } from './progress.js';
import { formatTable, summarize, totals, writeReport } from './report.js';
import { parseTacticFilter } from './tacticFilter.js';

const GENERATORS = ['mix', 'property'] as const;
type Generator = (typeof GENERATORS)[number];

const COMMON: Record<string, OptionSpec> = {
  kernel: { kind: 'string', help: 'kernel under test: native | emulated | cmd:"COMMAND" (default native; emulated, with a notice, when no CUDA device is present; see moe-harness kernels)' },
  'kernel-config': { kind: 'string', help: 'kernel under test from a JSON file: name, kind, command or path, conventions, env (docs/providers.md)' },
  fault: { kind: 'string', choices: FAULT_NAMES, help: 'switch on one fault of harness/faults.ts (emulated kernel, or the native faults build)' },
  tactic: { kind: 'string', help: 'tactic filter: labels "tileTokens/config", either side may be *, comma-separated, or all (default all)' },
  reference: { kind: 'string', choices: ['float32', 'float64'], help: 'reference precision (default float32, the fast path)' },
  isolation: { kind: 'string', choices: ['child', 'inline'], help: 'run tactics in a child process restarted after crashes (default), or in this process' },
  timeout: { kind: 'int', min: 1, help: 'seconds a tactic may run before it is killed and reported crashed (child isolation; default 300)' },
  help: { kind: 'flag', help: 'this help' },
};

const CHECK: Record<string, OptionSpec> = {
  ...COMMON,
  config: { kind: 'string', choices: CONFIG_NAMES, help: 'a named SPEC §6 configuration instead of the random case mix' },
  T: { kind: 'intlist', min: 1, help: 'token counts, comma-separated (with --config default 1,37; else they replace the mix\'s)' },
  H: { kind: 'int', min: 1, help: 'hidden size for every case of the mix' },
  I: { kind: 'int', min: 1, help: 'intermediate size for every case of the mix' },
  'local-experts': { kind: 'int', min: 1, help: 'with --config: experts this call owns (an expert-parallel slice; default all)' },
  'local-offset': { kind: 'int', min: 0, help: 'with --config: first expert this call owns (default 0)' },
  routing: { kind: 'list', choices: ROUTING_METHODS, help: 'routing methods of the mix, comma-separated' },
  quant: { kind: 'list', choices: QUANT_MODES, help: 'quant modes of the mix, comma-separated' },
  logits: { kind: 'list', choices: LOGIT_FAMILIES, help: 'logit families, comma-separated' },
  scales: { kind: 'list', choices: SCALE_FAMILIES, help: 'scale families, comma-separated' },
  size: { kind: 'string', choices: MIX_SIZES, help: 'shape class of the mix (default small)' },
  runs: { kind: 'int', min: 1, help: 'number of cases (default 24, 2 with --config, 100 with --generator property)' },
  seed: { kind: 'int', min: 0, help: 'seed of the case mix, or the fast-check seed (default env MOE_HARNESS_SEED, else 1)' },
  generator: { kind: 'string', choices: GENERATORS, help: 'where cases come from: the scenario mix (default), or a fast-check property that shrinks a failure to a small case' },
  path: { kind: 'string', help: 'with --generator property: the fast-check path to replay (with the same --seed), e.g. "3:0:1"' },
  report: { kind: 'string', help: 'report folder (default reports/<kernel>-<time>)' },
  quiet: { kind: 'flag', help: 'no progress bar' },
};

const REPLAY: Record<string, OptionSpec> = {
  ...COMMON,
  case: { kind: 'string', help: 'the CaseSpec as JSON, or @file holding it' },
};

const TACTICS: Record<string, OptionSpec> = {
  kernel: COMMON.kernel!, 'kernel-config': COMMON['kernel-config']!, fault: COMMON.fault!, help: COMMON.help!,
  config: CHECK.config!, T: { kind: 'int', min: 1, help: 'token count (with --config)' },
  'local-experts': CHECK['local-experts']!, 'local-offset': CHECK['local-offset']!,
  case: REPLAY.case!,
};

const USAGE = `moe-harness: validate a fused FP4 block-scale MoE kernel, every tactic, against a CPU reference

usage:
  moe-harness check   [options]                    run a campaign (random case mix, --generator property, or --config)
  moe-harness replay  --case JSON [options]        judge one case (all tactics, or --tactic L)
  moe-harness tactics --config NAME --T n          list a kernel's tactics for a problem (or --case JSON)
  moe-harness tune    --config NAME [--cache FILE]  tune a tactic per token bucket, every timed tactic verified (--check FILE re-verifies)
  moe-harness kernels                              list the kernel kinds available here, and why any is not

exit codes: 0 all passed · 1 something incorrect or crashed · 2 bad arguments · 3 only not-supported besides passes`;

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

/** The kernel to use: native when a CUDA device is usable; a default native falls back to emulated with a notice. */
async function chooseKernel(o: Parsed['options'], io: Io): Promise<{ choice: KernelChoice; notice?: string }> {
  const r = await chooseProvider({
    ...(o.kernel !== undefined ? { kernel: o.kernel as string } : {}),
    ...(o['kernel-config'] !== undefined ? { kernelConfig: o['kernel-config'] as string } : {}),
    ...(o.fault !== undefined ? { fault: o.fault as FaultName } : {}),
    ...(o.timeout !== undefined ? { timeoutS: o.timeout as number } : {}),
  });
  if (r.notice !== undefined) io.err(r.notice);
  return r;
}

function readCaseSpec(text: string): CaseSpec {
  const raw = text.startsWith('@') ? readFileSync(text.slice(1), 'utf8') : text;
  let spec: CaseSpec;
  try {
    spec = JSON.parse(raw) as CaseSpec;
  } catch (e) {
    throw new BadArgumentError('--case', 'a CaseSpec as JSON (or @file)', `${raw.slice(0, 60)}… (${(e as Error).message})`);
  }
  validateCaseSpec(spec);
  routingMethod(spec.problem.routing.method).validate(spec.problem);
  return spec;
}

const GIB = 2 ** 30;

/** Bytes of the local experts' FP4 weights and scales. */
function weightBytes(p: Problem): number {
  return p.localExperts * 3 * p.I * p.H * (0.5 + 1 / weightBlock(p.quantMode));
}

function configProblemFrom(o: Parsed['options'], T: number, checkSize = true): Problem {
  const name = o.config as string;
  const base = configProblem(name, T);
  const localOffset = (o['local-offset'] as number | undefined) ?? 0;
  const localExperts = (o['local-experts'] as number | undefined) ?? base.E - localOffset;
  if (localOffset + localExperts > base.E) {
    throw new BadArgumentError('--local-offset + --local-experts', `<= E = ${base.E} (${name})`, `${localOffset} + ${localExperts}`);
  }
  const p = configProblem(name, T, { localOffset, localExperts });
  const bytes = weightBytes(p);
  if (checkSize && bytes > 4 * GIB) {
    const per = weightBytes({ ...p, localExperts: 1 });
    throw new BadArgumentError('--local-experts', `a slice whose weights fit in 4 GiB (at most ${Math.floor((4 * GIB) / per)} experts of ${name})`,
      `${localExperts} experts = ${(bytes / GIB).toFixed(1)} GiB`);
  }
  return p;
}

function configCases(o: Parsed['options'], runs: number, seed: number): CampaignCase[] {
  const Ts = (o.T as number[] | undefined) ?? [1, 37];
  const rng = seedrandom(`moe-harness-config:${seed}`);
  const logits = (o.logits as LogitFamily[] | undefined) ?? ['normal'];
  const scales = (o.scales as ScaleFamily[] | undefined) ?? ['normal'];
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

function exitCode(result: CampaignResult): number {
  const t = totals(result.records);
  if (t.incorrect > 0 || t.crashed > 0) return 1;
  return t.not_supported > 0 ? 3 : 0;
}

function printFindings(result: CampaignResult, io: Io, max = 8): void {
  const bad = result.records.filter((r) => r.disposition !== 'passed');
  for (const r of bad.slice(0, max)) {
    io.out(`\n${r.disposition.toUpperCase()}: case ${r.caseIndex} (${r.problem}) tactic ${r.tactic}`);
    for (const l of r.verdict.lines.slice(0, 4)) io.out(`  ${l}`);
    io.out(`  replay: ${r.replay}`);
  }
  if (bad.length > max) io.out(`\n… and ${bad.length - max} more records not passed (see the report)`);
}

async function check(argv: readonly string[], io: Io): Promise<number> {
  const { options: o } = parseArgs(argv, CHECK);
  if (o.help) {
    io.out(`usage: moe-harness check [options]\n\n${optionsHelp(CHECK)}`);
    return 0;
  }
  const generator = (o.generator as Generator | undefined) ?? 'mix';
  if (generator === 'property') return checkProperty(argv, o, io);
  if (o.path !== undefined) throw new BadArgumentError('--path', 'only with --generator property', `--path ${JSON.stringify(o.path)} with --generator mix`);
  const runs = (o.runs as number | undefined) ?? (o.config ? 2 : 24);
  const seed = (o.seed as number | undefined) ?? envInt('MOE_HARNESS_SEED', 1);
  const tactics = o.tactic !== undefined ? parseTacticFilter(o.tactic as string) : undefined;
  const cases: CampaignCase[] = o.config
    ? configCases(o, runs, seed)
    : caseMix({
      runs, seed, size: (o.size as MixSize | undefined) ?? 'small',
      ...(o.routing ? { routing: o.routing as RoutingMethodName[] } : {}),
      ...(o.quant ? { quant: o.quant as QuantMode[] } : {}),
      ...(o.logits ? { logitFamilies: o.logits as LogitFamily[] } : {}),
      ...(o.scales ? { scaleFamilies: o.scales as ScaleFamily[] } : {}),
      ...(o.T ? { T: o.T as number[] } : {}), ...(o.H ? { H: o.H as number } : {}), ...(o.I ? { I: o.I as number } : {}),
    }).map((spec) => ({ spec }));
  const { choice, notice } = await chooseKernel(o, io);
  const isolation = (o.isolation as Isolation | undefined) ?? 'child';
  io.err(`moe-harness check: kernel ${kernelLabel(choice)}, ${cases.length} cases, seed ${seed}, isolation ${runnerIsolation(choice, isolation)}`);
  const progress = new Progress(cases.length, process.stderr, !o.quiet);
  const stats = { passed: 0, failed: 0 };
  const result = await runCampaign(cases, {
    kernel: choice, isolation, ...(tactics ? { tactics } : {}),
    referencePrecision: (o.reference as 'float32' | 'float64' | undefined) ?? 'float32',
    ...(o.timeout ? { timeoutMs: (o.timeout as number) * 1000 } : {}),
    onEvent: (e) => {
      if (e.type === 'record') {
        if (e.record.disposition === 'passed') stats.passed++;
        else stats.failed++;
      }
      if (e.type === 'case_start') progress.update(e.index, e.problem, stats);
      if (e.type === 'case_done') progress.update(e.index + 1, '', stats);
    },
  });
  progress.finish();
  io.out(formatTable(summarize(result.records)));
  const t = totals(result.records);
  io.out(`\n${result.kernel}: ${result.cases} cases, ${result.records.length} (case, tactic) records: passed ${t.passed}, incorrect ${t.incorrect}, ` +
    `crashed ${t.crashed}, not supported ${t.not_supported} (${(result.elapsedMs / 1000).toFixed(1)} s)`);
  printFindings(result, io);
  const dir = (o.report as string | undefined) ?? join('reports', `${kernelLabel(choice).replace(/[^a-z0-9_-]+/gi, '-')}-${new Date().toISOString().replace(/[:.]/g, '-')}`);
  const paths = writeReport(result, dir, { command: `moe-harness check ${argv.join(' ')}`, seed, ...(notice ? { notice } : {}) });
  io.out(`\nreport: ${paths.html}\n        ${paths.json}`);
  return exitCode(result);
}

/** Options that shape a property campaign's cases, in the order a replay command repeats them. */
const PROPERTY_ARGS = ['size', 'routing', 'quant', 'logits', 'scales', 'T', 'tactic', 'reference'] as const;

const shellWord = (w: string): string => (/^[\w,./-]+$/.test(w) ? w : `'${w.replace(/'/g, "'\\''")}'`);

async function checkProperty(argv: readonly string[], o: Parsed['options'], io: Io): Promise<number> {
  for (const name of ['config', 'H', 'I', 'local-experts', 'local-offset'] as const) {
    if (o[name] !== undefined) {
      throw new BadArgumentError(`--${name}`, 'no such option with --generator property (it draws its own shapes; use --generator mix)', `--${name} ${String(o[name])}`);
    }
  }
  const Ts = o.T as number[] | undefined;
  if (Ts !== undefined && Ts.length !== 1) throw new BadArgumentError('--T', 'one token count with --generator property', Ts.join(','));
  const runs = (o.runs as number | undefined) ?? 100;
  const seed = (o.seed as number | undefined) ?? envInt('MOE_HARNESS_SEED', 1);
  const path = o.path as string | undefined;
  const tactics = o.tactic !== undefined ? parseTacticFilter(o.tactic as string) : undefined;
  const replayArgs = PROPERTY_ARGS.filter((k) => o[k] !== undefined)
    .map((k) => `--${k} ${shellWord(Array.isArray(o[k]) ? (o[k] as Array<string | number>).join(',') : String(o[k]))}`).join(' ');
  const { runPropertyCampaign } = await import('./propertyCampaign.js');
  const { choice, notice } = await chooseKernel(o, io);
  const isolation = (o.isolation as Isolation | undefined) ?? 'child';
  io.err(`moe-harness check: kernel ${kernelLabel(choice)}, fast-check property, ${path !== undefined ? `path "${path}"` : `${runs} runs`}, seed ${seed}, isolation ${runnerIsolation(choice, isolation)}`);
  const progress = new Progress(runs, process.stderr, !o.quiet && path === undefined);
  const stats = { passed: 0, failed: 0 };
  let shrinking = false;
  const result = await runPropertyCampaign({
    kernel: choice, runs, seed, ...(path !== undefined ? { path } : {}), isolation,
    size: (o.size as MixSize | undefined) ?? 'small',
    ...(o.routing ? { methods: o.routing as RoutingMethodName[] } : {}),
    ...(o.quant ? { quantModes: o.quant as QuantMode[] } : {}),
    ...(o.logits ? { logitFamilies: o.logits as LogitFamily[] } : {}),
    ...(o.scales ? { scaleFamilies: o.scales as ScaleFamily[] } : {}),
    ...(Ts ? { T: Ts[0]! } : {}),
    ...(tactics ? { tacticFilter: tactics } : {}),
    referencePrecision: (o.reference as 'float32' | 'float64' | undefined) ?? 'float32',
    ...(o.timeout ? { timeoutMs: (o.timeout as number) * 1000 } : {}),
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
          if (r.disposition === 'passed') stats.passed++;
          else stats.failed++;
        }
        progress.update(e.index + 1, '', stats);
      }
    },
  });
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
  const dir = (o.report as string | undefined) ?? join('reports', `${kernelLabel(choice).replace(/[^a-z0-9_-]+/gi, '-')}-${new Date().toISOString().replace(/[:.]/g, '-')}`);
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
  return exitCode(result);
}

async function replay(argv: readonly string[], io: Io): Promise<number> {
  const { options: o } = parseArgs(argv, REPLAY);
  if (o.help) {
    io.out(`usage: moe-harness replay --case JSON [options]\n\n${optionsHelp(REPLAY)}`);
    return 0;
  }
  if (o.case === undefined) throw new BadArgumentError('--case', 'a CaseSpec as JSON (or @file)', 'nothing');
  const spec = readCaseSpec(o.case as string);
  const tactics = o.tactic !== undefined ? parseTacticFilter(o.tactic as string) : undefined;
  const { choice } = await chooseKernel(o, io);
  const isolation = (o.isolation as Isolation | undefined) ?? oneOffIsolation(choice);
  io.err(`moe-harness replay: ${describeProblem(spec.problem)} seed ${spec.seed} on ${kernelLabel(choice)}`);
  const result = await runCampaign([{ spec }], {
    kernel: choice, isolation, ...(tactics ? { tactics } : {}),
    referencePrecision: (o.reference as 'float32' | 'float64' | undefined) ?? 'float32',
    ...(o.timeout ? { timeoutMs: (o.timeout as number) * 1000 } : {}),
  });
  for (const r of result.records) {
    const w = r.verdict.worst;
    io.out(`tactic ${r.tactic}: ${r.disposition}${w ? ` (worst ${w.ratio.toPrecision(3)}× bound at out[t=${w.t},h=${w.h}])` : ''}`);
    for (const l of r.verdict.lines) io.out(`  ${l}`);
  }
  return exitCode(result);
}

async function tacticsCommand(argv: readonly string[], io: Io): Promise<number> {
  const { options: o } = parseArgs(argv, TACTICS);
  if (o.help) {
    io.out(`usage: moe-harness tactics --config NAME --T n [options]\n\n${optionsHelp(TACTICS)}`);
    return 0;
  }
  let problem: Problem;
  if (o.case !== undefined) problem = readCaseSpec(o.case as string).problem;
  else if (o.config !== undefined) problem = configProblemFrom(o, (o.T as number | undefined) ?? 1, false);
  else throw new BadArgumentError('--config or --case', 'a named configuration (with --T) or a CaseSpec', 'neither');
  const { choice } = await chooseKernel(o, io);
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

/** Run the CLI; returns the exit code (never exits by itself). */
export async function main(argv: readonly string[], io: Io = stdio): Promise<number> {
  const [command, ...rest] = argv;
  try {
    switch (command) {
      case 'check': return await check(rest, io);
      case 'replay': return await replay(rest, io);
      case 'tactics': return await tacticsCommand(rest, io);
      case 'tune': return await (await import('./tuneCommand.js')).tuneCommand(rest, io);
      case 'kernels':
        for (const line of formatKernelListing(await listKernels())) io.out(line);
        return 0;
      case undefined: case 'help': case '--help': case '-h':
        io.out(USAGE);
        return command === undefined ? 2 : 0;
      default:
        throw new BadArgumentError('command', 'check, replay, tactics, tune, kernels or help', JSON.stringify(command));
    }
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
    console.error(e);
    process.exit(70);
  });
}
