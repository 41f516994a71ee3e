/**
 * `moe-harness tune`: tune a kernel's tactic per token bucket, verifying every tactic it
 * times (harness/tune/, docs/tuner.md), and `moe-harness tune --check CACHE`.
 *
 *   moe-harness tune --config NAME [--max-tokens 4096] [--buckets 1,16] [--cache FILE] [--kernel K]
 *   moe-harness tune --problem JSON …           a Problem (its T is ignored)
 *   moe-harness tune --check FILE [--kernel K]  re-verify every cached choice
 *
 * Options: entries of the CLI's one table (cli.ts OPTIONS) whose commands include 'tune'.
 * Exit codes (TUNE_EXIT_CODES, a subset of cli.ts EXIT_CODES): 0 tuned (or every cached
 * choice re-verified) with no tactic blocklisted; 1 a tactic failed verification
 * (blocklisted: a kernel bug, reported with finding and replay), a fatal kernel error stopped
 * the tune, a cached choice failed --check, or the cache was refused as stale; 2 bad
 * arguments; 70 the harness could not judge (disposition 'error') and nothing else failed.
 */
import { existsSync, readFileSync } from 'node:fs';
import { configProblem } from '../reference/configs.js';
import { BadArgumentError } from '../reference/errors.js';
import { validateCaseSpec } from '../reference/generate.js';
import { describeProblem, type Problem } from '../reference/problem.js';
import { checkGenerationFits } from '../reference/resourceEstimate.js';
import { checkCasesFit } from './caseFits.js';
import { OPTIONS, requireGpu as requireGpuFromEnv, type CliOptions } from './cli.js';
import { optionsHelp, parseArgs } from './cliArgs.js';
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
import { formatPhases } from './tune/phases.js';
import { DEFAULT_TIMING_MODES, type L2Mode } from './tune/timingModes.js';
import { tune, type ReferenceSchedule } from './tune/tuner.js';
import type { LaunchMode } from './kernels/provider.js';

interface Io {
  readonly out: (s: string) => void;
  readonly err: (s: string) => void;
}

/** tune's exit codes (those of the CLI's EXIT_CODES it uses, with what each means here). */
const TUNE_EXIT_CODES = `exit codes:
    0  tuned with no tactic blocklisted (--check: every cached choice re-verified)
    1  a tactic failed verification (blocklisted), a fatal kernel error stopped the tune, a cached choice failed --check, or the cache was refused as stale
    2  bad arguments or environment (a message names the option, the expected and the actual value)
   70  the harness could not judge a tactic (a reference or judge failure) and no kernel failure: nothing verified, nothing cached`;

/** The CLI's code for "the harness could not judge" (cli.ts EXIT_CODES). */
const HARNESS_ERROR_EXIT = 70;

const cacheFileNote = (file: unknown): string => (typeof file === 'string' ? ` (${file} left unchanged)` : '');

function problemFrom(o: CliOptions): Problem {
  const { config: name, problem } = o;
  let p: Problem;
  if (problem !== undefined && name === undefined) {
    const raw = problem.startsWith('@') ? readFileSync(problem.slice(1), 'utf8') : problem;
    try {
      p = { ...(JSON.parse(raw) as Problem), T: 1 };
    } catch (e) {
      throw new BadArgumentError('--problem', 'a Problem as JSON (or @file)', `${raw.slice(0, 60)}… (${(e as Error).message})`);
    }
  } else if (name !== undefined && problem === undefined) {
    const base = configProblem(name, 1);
    const localOffset = o['local-offset'] ?? 0;
    const localExperts = o['local-experts'] ?? base.E - localOffset;
    if (localOffset + localExperts > base.E) throw new BadArgumentError('--local-offset + --local-experts', `<= E = ${base.E} (${name})`, `${localOffset} + ${localExperts}`);
    p = configProblem(name, 1, { localOffset, localExperts });
  } else {
    throw new BadArgumentError('--config / --problem', 'exactly one of them', name === undefined ? 'neither' : 'both');
  }
  // No size wall: the host estimate (reference/resourceEstimate.ts) against the memory available
  // (a named configuration's problem is well formed, so it is estimated first, naming the option);
  // the device estimate is checked once the kernel and the largest bucket are known (caseFits.ts).
  if (name !== undefined) checkGenerationFits(p, '--local-experts');
  validateCaseSpec({ problem: p, seed: 1, logitFamily: 'normal', scaleFamily: 'normal' });
  return p;
}

export async function tuneCommand(argv: readonly string[], io: Io): Promise<number> {
  const { options: o } = parseArgs(argv, OPTIONS, 'tune');
  if (o.help) {
    io.out(`usage: moe-harness tune --config NAME | --problem JSON [options]\n       moe-harness tune --check CACHE [--kernel K]\n\n${optionsHelp(OPTIONS, 'tune')}\n\n${TUNE_EXIT_CODES}`);
    return 0;
  }
  const requireGpu = requireGpuFromEnv();
  // Under MOE_HARNESS_REQUIRE_GPU=1 the fallback to the emulated kernel is refused (exit 2, naming the variable), as in check.
  const { choice, notice } = await chooseKernel({
    ...(o.kernel !== undefined ? { kernel: o.kernel } : {}),
    ...(o['kernel-config'] !== undefined ? { kernelConfig: o['kernel-config'] } : {}),
    ...(o.fault !== undefined ? { fault: o.fault } : {}),
    fallback: requireGpu ? 'refuse' : 'emulated_with_notice',
  });
  if (notice !== undefined) io.err(notice);
  const judge = referenceJudge({ precision: o.reference ?? 'float32' });

  if (o.check !== undefined) {
    const file = o.check;
    const cache = readTuneCache(file, '--check');
    try {
      const checked = await checkCache(cache, { kernel: choice, judge, file });
      let bad = 0;
      let errors = 0;
      for (const c of checked) {
        // A harness error re-verifies nothing: reported apart from the kernel's failures, never as a pass.
        const mark = c.disposition === 'passed' ? 'ok   ' : c.disposition === 'error' ? 'ERROR' : 'FAIL ';
        io.out(`${mark} bucket ${c.bucket} tactic ${c.tactic}: ${c.disposition === 'error' ? 'error (the harness could not judge it; not verified)' : c.disposition}`);
        if (c.disposition === 'passed') continue;
        if (c.disposition === 'error') errors++;
        else bad++;
        for (const l of c.lines) io.out(`    ${l}`);
        io.out(`    replay: ${c.replay}`);
      }
      const passed = checked.length - bad - errors;
      io.out(`moe-harness tune --check ${file}: ${passed} of ${checked.length} cached choices re-verified${bad ? `, ${bad} FAILED` : ''}${errors ? `, ${errors} NOT VERIFIED (harness error)` : ''}`);
      return bad > 0 ? 1 : errors > 0 ? HARNESS_ERROR_EXIT : 0;
    } catch (e) {
      if (e instanceof StaleCacheError) {
        io.err(`moe-harness tune --check: REFUSED: ${e.message}`);
        return 1;
      }
      throw e;
    }
  }

  const problem = problemFrom(o);
  const maxTokens = o['max-tokens'] ?? 4096;
  checkMaxTokens(maxTokens, '--max-tokens');
  const buckets = o.buckets;
  for (const b of buckets ?? []) {
    if ((b & (b - 1)) !== 0 || b > maxTokens) throw new BadArgumentError('--buckets', `powers of two <= --max-tokens ${maxTokens}`, String(b));
  }
  const policy: NoisePolicy = {
    ...DEFAULT_NOISE_POLICY,
    ...(o.warmup !== undefined ? { warmup: o.warmup } : {}),
    ...(o['min-repeats'] !== undefined ? { minRepeats: o['min-repeats'] } : {}),
    ...(o['max-repeats'] !== undefined ? { maxRepeats: o['max-repeats'] } : {}),
    ...(o['error-limit'] !== undefined ? { errorLimit: o['error-limit'] } : {}),
  };
  checkNoisePolicy(policy);
  const cacheFile = o.cache;
  const existing = cacheFile !== undefined && existsSync(cacheFile) ? readTuneCache(cacheFile) : undefined;
  const tactics = o.tactic !== undefined ? parseTacticFilter(o.tactic) : undefined;
  await checkCasesFit([{ ...problem, T: Math.max(maxTokens, ...(buckets ?? [])) }], '--local-experts / --max-tokens',
    { kernelKind: choice.kind, isolation: 'inline', precision: o.reference ?? 'float32', repeats: 2 });
  io.err(`moe-harness tune: ${describeProblem(problem)} (T per bucket) on ${kernelLabel(choice)}, buckets ${buckets?.join(',') ?? `1..${maxTokens}`}`);
  const r = await tune({
    kernel: choice, problem, maxTokens, seed: o.seed ?? 1, policy, judge,
    ...(buckets ? { buckets } : {}), ...(tactics ? { tactics } : {}),
    ...(o.init !== undefined ? { initializers: parseInitializers(o.init) } : {}),
    clockFallback: requireGpu ? 'refuse' : 'host_wall', log: (l) => io.err(l),
    timingModes: { ...DEFAULT_TIMING_MODES, ...(o.l2 !== undefined ? { l2: o.l2 as L2Mode } : {}), ...(o.launch !== undefined ? { launch: o.launch as LaunchMode } : {}) },
    unsupportedTiming: requireGpu ? 'refuse' : 'report',
    ...(o['reference-schedule'] !== undefined ? { referenceSchedule: o['reference-schedule'] as ReferenceSchedule } : {}),
  });
  io.out(`${'bucket'.padStart(6)}  ${'tuned'.padEnd(10)} ${'ms'.padStart(10)}  ${'default'.padEnd(10)} ${'ms'.padStart(10)}  repeats spread  se     clock`);
  for (const b of r.buckets) {
    const c = b.choice;
    if (!c) { io.out(`${String(b.bucket).padStart(6)}  (none: ${b.note})`); continue; }
    io.out(`${String(b.bucket).padStart(6)}  ${c.tactic.padEnd(10)} ${c.medianMs.toPrecision(4).padStart(10)}  ${c.defaultTactic.padEnd(10)} ${(c.defaultMs === null ? 'failed' : c.defaultMs.toPrecision(4)).padStart(10)}  ${String(c.repeats).padStart(7)} ${(100 * c.spread).toFixed(2).padStart(5)}% ${c.error === undefined ? '   —  ' : `${(100 * c.error).toFixed(2).padStart(5)}%`} ${c.stop === 'capped' ? '(capped) ' : ''}${c.clock}`);
  }
  if (r.buckets.some((b) => b.choice?.clock === 'host_wall')) io.err('warning: the kernel reports no kernel time; tactics were timed by the host wall clock around run()');
  for (const b of r.blocklist) for (const l of formatBlocked(b)) io.out(l);
  io.out(`phases: ${formatPhases(r.phases, r.elapsedMs)}; references ${r.referenceSchedule}`);
  io.out(`timed with: L2 ${r.timingModes.used.l2}${r.timingModes.used.l2 === 'cold' ? ` (${r.timingModes.used.flushL2Bytes} bytes written between runs)` : ''}, ${r.timingModes.used.launch} launches${r.timingModes.notes.map((n) => `; NOTE: ${n}`).join('')}`);
  if (r.aborted !== undefined) {
    io.err(`moe-harness tune: ABORTED: ${r.aborted}${cacheFileNote(o.cache)}`);
    return r.abortCause === 'harness_error' && r.blocklist.length === 0 ? HARNESS_ERROR_EXIT : 1;
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
