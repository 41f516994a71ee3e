/**
 * `moe-harness tune`: tune a kernel's tactic per token bucket, verifying every tactic it
 * times (harness/tune/, docs/tuner.md), and `moe-harness tune --check CACHE`.
 *
 *   moe-harness tune --config NAME [--max-tokens 4096] [--buckets 1,16] [--cache FILE] [--kernel K]
 *   moe-harness tune --problem JSON …           a Problem (its T is ignored)
 *   moe-harness tune --check FILE [--kernel K]  re-verify every cached choice
 *
 * Exit codes: 0 tuned (or every cached choice re-verified) with no tactic blocklisted; 1 a
 * tactic failed verification (blocklisted: a kernel bug, reported with finding and replay),
 * a cached choice failed --check, or the cache was refused as stale; 2 bad arguments.
 */
import { existsSync, readFileSync } from 'node:fs';
import { CONFIG_NAMES, configProblem } from '../reference/configs.js';
import { BadArgumentError } from '../reference/errors.js';
import { validateCaseSpec } from '../reference/generate.js';
import { describeProblem, weightBlock, type Problem } from '../reference/problem.js';
import { optionsHelp, parseArgs, type OptionSpec } from './cliArgs.js';
import { FAULT_NAMES, type FaultName } from './faults.js';
import { chooseKernel } from './kernels/kernelSpec.js';
import { kernelLabel } from './kernels/select.js';
import { parseTacticFilter } from './tacticFilter.js';
import { formatBlocked } from './tune/blocklist.js';
import { checkMaxTokens } from './tune/buckets.js';
import { assertSameEnvironment, emptyCache, readTuneCache, StaleCacheError, withEntry, writeTuneCache } from './tune/cache.js';
import { checkCache } from './tune/checkCache.js';
import { parseInitializers } from './tune/initializers.js';
import { referenceJudge } from './tune/judge.js';
import { DEFAULT_NOISE_POLICY, checkNoisePolicy, type NoisePolicy } from './tune/timing.js';
import { tune } from './tune/tuner.js';

interface Io {
  readonly out: (s: string) => void;
  readonly err: (s: string) => void;
}

export const TUNE_OPTIONS: Record<string, OptionSpec> = {
  config: { kind: 'string', choices: CONFIG_NAMES, help: 'a named SPEC §6 configuration to tune' },
  problem: { kind: 'string', help: 'a Problem as JSON (or @file) to tune instead of --config (its T is ignored)' },
  'local-experts': { kind: 'int', min: 1, help: 'with --config: experts this call owns (an expert-parallel slice; default all)' },
  'local-offset': { kind: 'int', min: 0, help: 'with --config: first expert this call owns (default 0)' },
  'max-tokens': { kind: 'int', min: 1, help: 'largest bucket, a power of two (default 4096); buckets are 1, 2, 4, …, max' },
  buckets: { kind: 'intlist', min: 1, help: 'tune only these buckets (powers of two <= --max-tokens)' },
  seed: { kind: 'int', min: 0, help: 'seed of the tuning inputs (default 1)' },
  init: { kind: 'string', help: 'per-tensor initializers TENSOR=NAME,… (tensors logits, bias, hidden, fc1, fc2; names random (default), zero)' },
  cache: { kind: 'string', help: 'tune cache file to write (merged with the entries already there, same environment only)' },
  check: { kind: 'string', help: 're-verify every choice of this tune cache file' },
  kernel: { kind: 'string', help: 'kernel under test, as in check (default native; emulated with a notice without a CUDA device)' },
  'kernel-config': { kind: 'string', help: 'kernel under test from a JSON file (docs/providers.md)' },
  fault: { kind: 'string', choices: FAULT_NAMES, help: 'switch on one fault of harness/faults.ts' },
  tactic: { kind: 'string', help: 'tactic filter, as in check (default all)' },
  reference: { kind: 'string', choices: ['float32', 'float64'], help: 'reference precision of the verification (default float32)' },
  warmup: { kind: 'int', min: 0, help: `untimed runs per tactic (default ${DEFAULT_NOISE_POLICY.warmup})` },
  'min-repeats': { kind: 'int', min: 1, help: `timed runs per tactic at least (default ${DEFAULT_NOISE_POLICY.minRepeats})` },
  'max-repeats': { kind: 'int', min: 1, help: `timed runs per tactic at most (default ${DEFAULT_NOISE_POLICY.maxRepeats})` },
  'spread-limit': { kind: 'number', help: `largest MAD/median accepted before the cap (default ${DEFAULT_NOISE_POLICY.spreadLimit})` },
  help: { kind: 'flag', help: 'this help' },
};

const GIB = 2 ** 30;

const cacheFileNote = (file: unknown): string => (typeof file === 'string' ? ` (${file} left unchanged)` : '');

function problemFrom(o: Record<string, unknown>): Problem {
  if ((o.config === undefined) === (o.problem === undefined)) {
    throw new BadArgumentError('--config / --problem', 'exactly one of them', o.config === undefined ? 'neither' : 'both');
  }
  let p: Problem;
  if (o.problem !== undefined) {
    const text = o.problem as string;
    const raw = text.startsWith('@') ? readFileSync(text.slice(1), 'utf8') : text;
    try {
      p = { ...(JSON.parse(raw) as Problem), T: 1 };
    } catch (e) {
      throw new BadArgumentError('--problem', 'a Problem as JSON (or @file)', `${raw.slice(0, 60)}… (${(e as Error).message})`);
    }
  } else {
    const name = o.config as string;
    const base = configProblem(name, 1);
    const localOffset = (o['local-offset'] as number | undefined) ?? 0;
    const localExperts = (o['local-experts'] as number | undefined) ?? base.E - localOffset;
    if (localOffset + localExperts > base.E) throw new BadArgumentError('--local-offset + --local-experts', `<= E = ${base.E} (${name})`, `${localOffset} + ${localExperts}`);
    p = configProblem(name, 1, { localOffset, localExperts });
  }
  validateCaseSpec({ problem: p, seed: 1, logitFamily: 'normal', scaleFamily: 'normal' });
  const per = 3 * p.I * p.H * (0.5 + 1 / weightBlock(p.quantMode));
  if (p.localExperts * per > 4 * GIB) {
    throw new BadArgumentError('--local-experts', `a slice whose weights fit in 4 GiB (at most ${Math.floor((4 * GIB) / per)} experts)`, `${p.localExperts} experts = ${((p.localExperts * per) / GIB).toFixed(1)} GiB`);
  }
  return p;
}

export async function tuneCommand(argv: readonly string[], io: Io): Promise<number> {
  const { options: o } = parseArgs(argv, TUNE_OPTIONS);
  if (o.help) {
    io.out(`usage: moe-harness tune --config NAME | --problem JSON [options]\n       moe-harness tune --check CACHE [--kernel K]\n\n${optionsHelp(TUNE_OPTIONS)}`);
    return 0;
  }
  const requireGpu = process.env.MOE_HARNESS_REQUIRE_GPU === '1';
  const { choice, notice } = await chooseKernel({
    ...(o.kernel !== undefined ? { kernel: o.kernel as string } : {}),
    ...(o['kernel-config'] !== undefined ? { kernelConfig: o['kernel-config'] as string } : {}),
    ...(o.fault !== undefined ? { fault: o.fault as FaultName } : {}),
  });
  if (notice !== undefined) {
    io.err(notice);
    if (requireGpu) {
      io.err('moe-harness tune: MOE_HARNESS_REQUIRE_GPU=1 turns the fallback to the emulated kernel into a failure');
      return 1;
    }
  }
  const judge = referenceJudge({ precision: (o.reference as 'float32' | 'float64' | undefined) ?? 'float32' });

  if (o.check !== undefined) {
    const file = o.check as string;
    const cache = readTuneCache(file);
    try {
      const checked = await checkCache(cache, { kernel: choice, judge, file });
      let bad = 0;
      for (const c of checked) {
        io.out(`${c.disposition === 'passed' ? 'ok  ' : 'FAIL'} bucket ${c.bucket} tactic ${c.tactic}: ${c.disposition}`);
        if (c.disposition !== 'passed') {
          bad++;
          for (const l of c.lines) io.out(`    ${l}`);
          io.out(`    replay: ${c.replay}`);
        }
      }
      io.out(`moe-harness tune --check ${file}: ${checked.length - bad} of ${checked.length} cached choices re-verified${bad ? `, ${bad} FAILED` : ''}`);
      return bad ? 1 : 0;
    } catch (e) {
      if (e instanceof StaleCacheError) {
        io.err(`moe-harness tune --check: REFUSED: ${e.message}`);
        return 1;
      }
      throw e;
    }
  }

  const problem = problemFrom(o);
  const maxTokens = (o['max-tokens'] as number | undefined) ?? 4096;
  checkMaxTokens(maxTokens, '--max-tokens');
  const buckets = o.buckets as number[] | undefined;
  for (const b of buckets ?? []) {
    if ((b & (b - 1)) !== 0 || b > maxTokens) throw new BadArgumentError('--buckets', `powers of two <= --max-tokens ${maxTokens}`, String(b));
  }
  const policy: NoisePolicy = {
    ...DEFAULT_NOISE_POLICY,
    ...(o.warmup !== undefined ? { warmup: o.warmup as number } : {}),
    ...(o['min-repeats'] !== undefined ? { minRepeats: o['min-repeats'] as number } : {}),
    ...(o['max-repeats'] !== undefined ? { maxRepeats: o['max-repeats'] as number } : {}),
    ...(o['spread-limit'] !== undefined ? { spreadLimit: o['spread-limit'] as number } : {}),
  };
  checkNoisePolicy(policy);
  const cacheFile = o.cache as string | undefined;
  const existing = cacheFile !== undefined && existsSync(cacheFile) ? readTuneCache(cacheFile) : undefined;
  const tactics = o.tactic !== undefined ? parseTacticFilter(o.tactic as string) : undefined;
  io.err(`moe-harness tune: ${describeProblem(problem)} (T per bucket) on ${kernelLabel(choice)}, buckets ${buckets?.join(',') ?? `1..${maxTokens}`}`);
  const r = await tune({
    kernel: choice, problem, maxTokens, seed: (o.seed as number | undefined) ?? 1, policy, judge,
    ...(buckets ? { buckets } : {}), ...(tactics ? { tactics } : {}),
    ...(o.init !== undefined ? { initializers: parseInitializers(o.init as string) } : {}),
    requireKernelClock: requireGpu, log: (l) => io.err(l),
  });
  io.out(`${'bucket'.padStart(6)}  ${'tuned'.padEnd(10)} ${'ms'.padStart(10)}  ${'default'.padEnd(10)} ${'ms'.padStart(10)}  repeats spread   clock`);
  for (const b of r.buckets) {
    const c = b.choice;
    if (!c) { io.out(`${String(b.bucket).padStart(6)}  (none: ${b.note})`); continue; }
    io.out(`${String(b.bucket).padStart(6)}  ${c.tactic.padEnd(10)} ${c.medianMs.toPrecision(4).padStart(10)}  ${c.defaultTactic.padEnd(10)} ${(c.defaultMs === null ? 'failed' : c.defaultMs.toPrecision(4)).padStart(10)}  ${String(c.repeats).padStart(7)} ${(100 * c.spread).toFixed(2).padStart(5)}% ${c.stop === 'capped' ? '(capped) ' : ''}${c.clock}`);
  }
  if (r.buckets.some((b) => b.choice?.clock === 'host_wall')) io.err('warning: the kernel reports no kernel time; tactics were timed by the host wall clock around run()');
  for (const b of r.blocklist) for (const l of formatBlocked(b)) io.out(l);
  if (r.aborted !== undefined) {
    for (const b of r.blocklist) for (const l of formatBlocked(b)) io.out(l);
    io.err(`moe-harness tune: ABORTED: ${r.aborted}${cacheFileNote(o.cache)}`);
    return 1;
  }
  io.out(`tuned ${r.buckets.length} buckets in ${(r.elapsedMs / 1000).toFixed(1)} s (verification ${(r.verifyMs / 1000).toFixed(1)} s, timing ${(r.timeMs / 1000).toFixed(1)} s); ${r.blocklist.length} tactic(s) blocklisted`);
  if (cacheFile !== undefined) {
    if (existing) {
      try {
        assertSameEnvironment(existing, r.environment, cacheFile);
      } catch (e) {
        if (!(e instanceof StaleCacheError)) throw e;
        io.err(`moe-harness tune: REFUSED to merge into ${cacheFile}: ${e.message}; write to another --cache file`);
        return 1;
      }
    }
    writeTuneCache(cacheFile, withEntry(existing ?? emptyCache(r.environment), r.entry));
    io.out(`cache: ${cacheFile}`);
  }
  return r.blocklist.length > 0 ? 1 : 0;
}
