/**
 * How tactics are timed beyond the noise policy: warm or cold L2, stream launches or a
 * CUDA-graph replay. Each is asked of the provider through RunOptions, only where its
 * description says it honours it (ProviderDescription.timing). A requested mode the provider
 * does not support is never silently ignored: the tuner times with what the provider can do
 * and says so (a note in TuneResult.timingModes, a warning line), or, under
 * MOE_HARNESS_REQUIRE_GPU=1 ('refuse'), refuses to tune (BadArgumentError naming the option).
 *
 * Cold L2: before each timed run (warm-up included) the provider writes `flushL2Bytes` of
 * scratch on the kernel's stream, outside the timed region, evicting what the previous run
 * left in L2 (the weights of the experts it used). Default 256 MiB: at least twice the L2 of
 * the GPUs this harness targets (H100 and H200: 50 MiB; B200: 126 MiB), written at HBM speed
 * in ≈ 0.1 ms per run.
 */
import { BadArgumentError } from '../../reference/errors.js';
import type { LaunchMode, ProviderDescription, RunOptions } from '../kernels/provider.js';

export type L2Mode = 'warm' | 'cold';
export const L2_MODES: readonly L2Mode[] = ['warm', 'cold'];
export const LAUNCH_MODES: readonly LaunchMode[] = ['stream', 'graph'];

/** Bytes written between timed runs in cold-L2 mode (see the file comment). */
export const DEFAULT_FLUSH_L2_BYTES = 256 * 2 ** 20;

export interface TimingModes {
  readonly l2: L2Mode;
  readonly launch: LaunchMode;
  /** Scratch bytes written per run in cold-L2 mode. */
  readonly flushL2Bytes: number;
}

export const DEFAULT_TIMING_MODES: TimingModes = { l2: 'warm', launch: 'stream', flushL2Bytes: DEFAULT_FLUSH_L2_BYTES };

/** What a requested mode the provider cannot do becomes: timed without it and reported, or refused (MOE_HARNESS_REQUIRE_GPU=1). */
export type UnsupportedTiming = 'report' | 'refuse';

/** The modes actually used, with a note per requested mode the provider could not honour. */
export interface AppliedTimingModes {
  readonly requested: TimingModes;
  readonly used: TimingModes;
  readonly notes: readonly string[];
}

/** The modes to time with on this provider (a note, or a BadArgumentError under 'refuse', for each it cannot do). */
export function applyTimingModes(requested: TimingModes, d: ProviderDescription, onUnsupported: UnsupportedTiming): AppliedTimingModes {
  if (!L2_MODES.includes(requested.l2)) throw new BadArgumentError('--l2', `one of ${L2_MODES.join(', ')}`, JSON.stringify(requested.l2));
  if (!LAUNCH_MODES.includes(requested.launch)) throw new BadArgumentError('--launch', `one of ${LAUNCH_MODES.join(', ')}`, JSON.stringify(requested.launch));
  if (!Number.isSafeInteger(requested.flushL2Bytes) || requested.flushL2Bytes < 1) {
    throw new BadArgumentError('flushL2Bytes', 'a positive integer number of bytes', String(requested.flushL2Bytes));
  }
  const notes: string[] = [];
  let { l2, launch } = requested;
  const refuse = (option: string, what: string): never => {
    throw new BadArgumentError(option, `a kernel whose provider supports ${what} (MOE_HARNESS_REQUIRE_GPU=1 refuses timing without it)`, `${d.name}, which reports ${what} unsupported`);
  };
  if (l2 === 'cold' && d.timing?.coldL2 !== 'supported') {
    if (onUnsupported === 'refuse') refuse('--l2', 'cold-L2 flushes');
    notes.push(`cold L2 was requested but kernel ${d.name} does not support L2 flushes between runs: timed with a WARM L2`);
    l2 = 'warm';
  }
  if (launch === 'graph' && d.timing?.graphReplay !== 'supported') {
    if (onUnsupported === 'refuse') refuse('--launch', 'CUDA-graph replay');
    notes.push(`CUDA-graph replay was requested but kernel ${d.name} does not support it: timed with STREAM launches`);
    launch = 'stream';
  }
  return { requested, used: { ...requested, l2, launch }, notes };
}

/** The RunOptions fields of a timed run under the modes used. */
export function timedRunOptions(used: TimingModes): Pick<RunOptions, 'flushL2Bytes' | 'launch'> {
  return {
    ...(used.l2 === 'cold' ? { flushL2Bytes: used.flushL2Bytes } : {}),
    ...(used.launch === 'graph' ? { launch: 'graph' as const } : {}),
  };
}
