/**
 * `node dist/native/bench/copyBench.js` (any host with the addon built; no GPU needed):
 * prepare()'s host copy of a case (native/src/problem_args.cc, ownedCopy) with one thread —
 * the baseline — and with the default choice of threads, side by side in one run.
 *
 * It times the synchronous part of the addon's copiedInputsDigest probe, which is prepare()'s
 * own parse → validate → copy (the hash runs afterwards in a worker thread and is not timed);
 * each repetition alternates the two settings. The hashes must agree (the same bytes for any
 * thread count), or the bench exits 1.
 *
 * Options: --config deepseek-v3 --local-experts 64 --T 256 --reps 5
 * Exit: 0 done, 1 the copies differ, 2 bad option (named), 3 the addon is not built.
 */
import { availableParallelism, cpus } from 'node:os';
import { pathToFileURL } from 'node:url';
import { CONFIG_NAMES, configProblem } from '../../reference/configs.js';
import { BadArgumentError } from '../../reference/errors.js';
import { generateCaseParallel } from '../../reference/generate/parallel.js';
import { optionsHelp, parseArgs, type OptionTable } from '../../harness/cliArgs.js';
import { nativeBindingForTests, nativeStatus } from '../index.js';
import { rawCase } from '../rawArgs.js';

const BENCH = ['bench'] as const;
const OPTIONS = {
  config: { kind: 'string', commands: BENCH, choices: CONFIG_NAMES, help: 'configuration (default deepseek-v3)' },
  'local-experts': { kind: 'int', commands: BENCH, min: 1, help: 'experts in the slice (default 64: 2.2 GiB of deepseek-v3 weights)' },
  T: { kind: 'int', commands: BENCH, min: 1, help: 'tokens (default 256)' },
  reps: { kind: 'int', commands: BENCH, min: 1, help: 'repetitions of each setting, alternated (default 5)' },
  help: { kind: 'flag', commands: BENCH, short: 'h', help: 'this help' },
} as const satisfies OptionTable;

const median = (xs: readonly number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

export async function copyBench(argv: readonly string[], out: (s: string) => void): Promise<number> {
  const { options: o } = parseArgs(argv, OPTIONS, 'bench');
  if (o.help) {
    out(`usage: node dist/native/bench/copyBench.js [options]\n\n${optionsHelp(OPTIONS, 'bench')}`);
    return 0;
  }
  const status = nativeStatus();
  if (!status.loaded) {
    out(`copyBench: the native addon is not built (${status.reason}): node native/build.mjs`);
    return 3;
  }
  const raw = nativeBindingForTests();
  const problem = configProblem(o.config ?? 'deepseek-v3', o.T ?? 256, { localExperts: o['local-experts'] ?? 64 });
  const c = await generateCaseParallel({ problem, seed: 1, logitFamily: 'normal', scaleFamily: 'normal' });
  const args = rawCase(raw.enums(), c);
  const bytes = [c.fc1.packed, c.fc1.scales, c.fc2.packed, c.fc2.scales].reduce((s, w) => s + w.byteLength, 0);
  const settings = [{ name: 'one thread (baseline)', env: '1' }, { name: 'default threads', env: '' }] as const;
  const times: number[][] = settings.map(() => []);
  const digests = new Set<string>();
  const before = process.env.MOE_NATIVE_COPY_THREADS;
  try {
    for (let r = 0; r < (o.reps ?? 5); r++) {
      for (const [i, s] of settings.entries()) {
        process.env.MOE_NATIVE_COPY_THREADS = s.env;
        const t0 = performance.now();
        const pending = raw.copiedInputsDigest!(args, 0);
        times[i]!.push(performance.now() - t0);
        digests.add(await pending);
      }
    }
  } finally {
    if (before === undefined) delete process.env.MOE_NATIVE_COPY_THREADS;
    else process.env.MOE_NATIVE_COPY_THREADS = before;
  }
  const gib = bytes / 2 ** 30;
  out(`# prepare()'s host copy — ${new Date().toISOString()}, ${cpus()[0]?.model ?? '?'}, ${availableParallelism()} cores`);
  out(`${problem.name} T=${problem.T}, ${problem.localExperts} experts: ${gib.toFixed(2)} GiB of weights, median of ${o.reps ?? 5}, alternated\n`);
  out('| copy | median ms | GiB/s | vs baseline |');
  out('| --- | ---: | ---: | ---: |');
  const base = median(times[0]!);
  for (const [i, s] of settings.entries()) {
    const m = median(times[i]!);
    out(`| ${s.name} | ${m.toFixed(1)} | ${(gib / (m / 1000)).toFixed(2)} | ${(base / m).toFixed(2)}× |`);
  }
  if (digests.size !== 1) {
    out(`the copies differ between settings: ${[...digests].join(', ')}`);
    return 1;
  }
  out(`\nthe same bytes every time (hash ${[...digests][0]})`);
  return 0;
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  copyBench(process.argv.slice(2), (s) => console.log(s)).then((c) => process.exit(c), (e: unknown) => {
    if (e instanceof BadArgumentError) {
      console.error(`copyBench: ${e.message}`);
      process.exit(2);
    }
    console.error(e);
    process.exit(70);
  });
}
