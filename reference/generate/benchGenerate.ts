/**
 * Case generation timings: the serial generator against generateCaseParallel at several
 * thread counts, on one configuration at full size, each result checked bit for bit against
 * the serial one (caseDigest). Run:
 *
 *   node --expose-gc --import tsx reference/generate/benchGenerate.ts [config] [T] [threads,...]
 *   (defaults: qwen3-235b-a22b 256 1,2,<cores>; compiled: node --expose-gc dist/reference/generate/benchGenerate.js)
 *
 * --expose-gc lets it free each case before the next one (else two full-size cases may be
 * alive at once, and a memory limit near twice a case's size makes the kernel reclaim pages:
 * seconds of system time that are not generation's).
 *
 * Prints one line per mode: wall ms, process CPU ms (every thread: what the cores did, which
 * a loaded machine does not distort as it does the wall time), GB/s of weights, and the
 * digest check.
 */
import { availableParallelism } from 'node:os';
import { caseDigest } from '../caseDigest.js';
import { configProblem } from '../configs.js';
import { generateCase } from '../generate.js';
import { generateCaseParallel, shutdownGenerationWorkers, weightBytes, type GenerationInfo } from './parallel.js';

const [config = 'qwen3-235b-a22b', tText = '256', threadsText = `1,2,${availableParallelism()}`] = process.argv.slice(2);
const spec = { problem: configProblem(config, Number(tText)), seed: 1, logitFamily: 'normal' as const, scaleFamily: 'normal' as const };
const bytes = weightBytes(spec);
console.log(`${config} T=${tText}: ${(bytes / 2 ** 30).toFixed(2)} GiB of weights, ${spec.problem.localExperts} local experts, ${availableParallelism()} cores`);

const cpuMs = (u: NodeJS.CpuUsage): string => `${((u.user + u.system) / 1000).toFixed(0).padStart(7)} ms CPU (${(u.system / 1000).toFixed(0)} sys)`;
let t0 = performance.now();
let cpu = process.cpuUsage();
let serial: ReturnType<typeof generateCase> | null = generateCase(spec);
const serialCpu = process.cpuUsage(cpu);
const serialMs = performance.now() - t0;
let want = caseDigest(serial);
serial = null; // one full-size case in memory at a time
if ((globalThis as { gc?: () => void }).gc === undefined) console.log('(no --expose-gc: the previous case may still be alive during the next)');
console.log(`serial (generateCase)        ${serialMs.toFixed(0).padStart(7)} ms  ${cpuMs(serialCpu)}  ${(bytes / serialMs / 1e6).toFixed(2)} GB/s`);
for (const threads of [...new Set(threadsText.split(',').map(Number))]) {
  // Two rounds per thread count: the first starts the workers; the second reuses them below
  // 1 GiB of weights (parallel.ts RELEASE_WORKERS_FROM_BYTES), else starts them again.
  for (const round of ['round 1', 'round 2']) {
    (globalThis as { gc?: () => void }).gc?.();
    let info: GenerationInfo | undefined;
    t0 = performance.now();
    cpu = process.cpuUsage();
    const c = await generateCaseParallel(spec, { threads, parallelFromBytes: 0 }, (i) => { info = i; });
    const used = process.cpuUsage(cpu);
    const ms = performance.now() - t0;
    const same = caseDigest(c) === want;
    console.log(`${String(threads).padStart(3)} thread(s), ${round}  ${ms.toFixed(0).padStart(7)} ms  ${cpuMs(used)}  ${(bytes / ms / 1e6).toFixed(2)} GB/s  speedup ${(serialMs / ms).toFixed(2)}x  ` +
      `experts per worker ${info?.perWorker.join('/')}  ${same ? 'bit-identical' : 'DIFFERENT BYTES'}`);
    if (!same) process.exitCode = 1;
  }
}
want = '';
await shutdownGenerationWorkers();
