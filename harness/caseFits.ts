/**
 * Whether the cases of a run fit this host's memory and, for the native kernel, the GPU's
 * free memory: checked BEFORE any case is generated or uploaded, so a case that cannot fit is
 * refused at once (BadArgumentError, exit 2) naming the option, the estimate and what is free,
 * instead of failing minutes later. There is no fixed size wall: DeepSeek-V3 at 256 experts is
 * accepted wherever its memory fits (docs/full-size.md).
 *
 * Host estimate of one case (bytes; reference/resourceEstimate.ts has every term):
 *   the campaign's case           generationBytes(p)
 *   the child's case (isolation 'child': it regenerates the case from its spec)
 *                                 + generationBytes(p)
 *   the native addon's copy       + the case's arrays (prepare copies every input before its
 *                                   promise exists; freed when prepare returns), native only
 *   the reference                 + referenceBytes(p, precision, threads)
 *   the observed runs             + 2 processes × repeats × (2·T·H output + 8·T·k ids and weights)
 * against memoryBudget() (free memory, the cgroup limit, or MOE_HARNESS_MEMORY_BYTES).
 *
 * Device estimate (native kernel only): native/src/deviceMemoryEstimate.h through
 * deviceMemoryEstimate() (the same function prepare refuses with), against
 * deviceInfo().freeMemoryBytes (cudaMemGetInfo). Without a usable device nothing is checked
 * here: prepare reports that itself.
 */
import { BadArgumentError } from '../reference/errors.js';
import type { Problem } from '../reference/problem.js';
import { defaultThreads } from '../reference/backend.js';
import { caseArrayBytes, checkGenerationFits, formatBytes, generationBytes, memoryBudget, referenceBytes, type MemoryBudget } from '../reference/resourceEstimate.js';

export interface CaseFitsOptions {
  /** The kernel's kind (KernelChoice.kind): 'native' also checks the device. */
  readonly kernelKind: string;
  /** Where tactics run (runnerIsolation): 'child' regenerates the case in a second process. */
  readonly isolation: 'child' | 'inline';
  readonly precision: 'float32' | 'float64';
  /** Runs of each tactic (>= 2). */
  readonly repeats: number;
  /** Reference worker threads (default: every core). */
  readonly threads?: number;
}

/** The host estimate of one case, by part (see the file comment). */
export function hostCaseBytes(p: Problem, o: CaseFitsOptions): Record<string, number> {
  const gen = generationBytes(p);
  const arrays = Object.values(caseArrayBytes(p)).reduce((s, v) => s + v, 0);
  const parts: Record<string, number> = { 'case (campaign)': gen };
  if (o.isolation === 'child') parts['case (child)'] = gen;
  if (o.kernelKind === 'native') parts['native prepare copy'] = arrays;
  const threads = o.threads ?? defaultThreads();
  parts[`${o.precision} reference`] = referenceBytes(p, o.precision, o.precision === 'float32' ? threads : 0);
  parts.outputs = (o.isolation === 'child' ? 2 : 1) * o.repeats * (2 * p.T * p.H + 8 * p.T * p.topK);
  return parts;
}

const describeParts = (parts: Record<string, number>): string =>
  Object.entries(parts).map(([k, v]) => `${k} ${formatBytes(v)}`).join(', ');

/** Refuse (BadArgumentError naming `argument`) a problem whose host estimate exceeds the budget. */
export function checkHostFits(p: Problem, argument: string, o: CaseFitsOptions, budget: MemoryBudget = memoryBudget()): void {
  checkGenerationFits(p, argument, budget); // one array beyond Node's limit, or generation alone too big
  const parts = hostCaseBytes(p, o);
  const total = Object.values(parts).reduce((s, v) => s + v, 0);
  if (total > budget.bytes) {
    throw new BadArgumentError(argument, `a case that fits in the host memory available: at most ${formatBytes(budget.bytes)} (${budget.source})`,
      `an estimated ${formatBytes(total)} for ${p.name} T=${p.T} (localExperts=${p.localExperts}): ${describeParts(parts)} (harness/caseFits.ts)`);
  }
}

/** What checkDeviceFits needs of the native addon (injectable for tests). */
export interface DeviceMemoryProbe {
  estimate(p: Problem): { readonly peak: number; readonly inputs: number; readonly weights: number; readonly scratch: number; readonly splitK: number; readonly output: number };
  /** Free and total device memory with the device's name; null without a usable device. */
  device(): Promise<{ readonly name: string; readonly freeBytes: number; readonly totalBytes: number } | null>;
}

/** The native addon as a DeviceMemoryProbe. */
export async function nativeDeviceMemoryProbe(): Promise<DeviceMemoryProbe> {
  const native = await import('../native/index.js');
  return {
    estimate: (p) => native.deviceMemoryEstimate(p),
    device: async () => {
      try {
        const d = await native.deviceInfo();
        return { name: d.name, freeBytes: d.freeMemoryBytes, totalBytes: d.memoryBytes };
      } catch {
        return null; // no usable device: prepare says why
      }
    },
  };
}

/** Refuse a problem whose device estimate exceeds the device's free memory now. */
export async function checkDeviceFits(p: Problem, argument: string, probe: DeviceMemoryProbe): Promise<void> {
  const e = probe.estimate(p);
  const d = await probe.device();
  if (d === null || e.peak <= d.freeBytes) return;
  throw new BadArgumentError(argument, `a case that fits in the device memory free now: ${formatBytes(d.freeBytes)} of ${formatBytes(d.totalBytes)} on ${d.name} (cudaMemGetInfo)`,
    `an estimated ${formatBytes(e.peak)} for ${p.name} T=${p.T} (localExperts=${p.localExperts}): inputs ${formatBytes(e.inputs)}, ` +
    `prepared weights ${formatBytes(e.weights)}, scratch ${formatBytes(e.scratch)}, split-K ${formatBytes(e.splitK)}, output ${formatBytes(e.output)} ` +
    '(native/src/deviceMemoryEstimate.h)');
}

/**
 * Check every distinct problem of a run (host, then device for the native kernel), before
 * anything is generated. `argument` names the options that set the size. `at`: the device
 * probe and the host budget (default: the native addon, memoryBudget() now).
 */
export async function checkCasesFit(problems: readonly Problem[], argument: string, o: CaseFitsOptions,
  at: { readonly probe?: DeviceMemoryProbe; readonly budget?: MemoryBudget } = {}): Promise<void> {
  const seen = new Set<string>();
  const distinct = problems.filter((p) => {
    const key = JSON.stringify(p);
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
  const budget = at.budget ?? memoryBudget();
  for (const p of distinct) checkHostFits(p, argument, o, budget);
  if (o.kernelKind !== 'native' || distinct.length === 0) return;
  const dev = at.probe ?? await nativeDeviceMemoryProbe();
  for (const p of distinct) await checkDeviceFits(p, argument, dev);
}
