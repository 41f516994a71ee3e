/**
 * The one place the reference reads environment variables. Each variable turns into a typed
 * option, checked here (BadArgumentError naming the variable, the expected and the actual
 * value); the rest of reference/ receives the typed options and never reads the environment.
 *
 *   MOE_REFERENCE_SLOT_MEMORY  'wasm' | 'sab'        FastPathOptions.slotMemory
 *   MOE_REFERENCE_ABSACCUM     'blocks' | 'gemm'     FastPathOptions.absAccum
 *   MOE_REFERENCE_CHUNK_BYTES  integer bytes         FastPathOptions.chunkBytes
 *   MOE_HARNESS_MEMORY_BYTES   integer bytes >= 1    the memory budget (resourceEstimate.ts)
 *   MOE_EXPERT_CHUNK_BYTES     integer in [1, 2^32)  the weights' chunk limit (expertBytes.ts; tests lower it)
 *
 * An unset or empty variable leaves the option at its default. (Test-scale variables such as
 * MOE_HARNESS_RUNS and MOE_REFERENCE_FUZZ_RUNS are the tests' own, read by them.)
 */
import { BadArgumentError } from './errors.js';
import { checkFastPathOption, DEFAULT_FAST_PATH_OPTIONS, type FastPathOptions } from './fastpath/fastPathOptions.js';

export type Environment = Readonly<Record<string, string | undefined>>;

export interface ReferenceEnvironment {
  readonly fastPath: FastPathOptions;
  /** An explicit memory budget in bytes, or undefined: the machine's (resourceEstimate.ts). */
  readonly memoryBytes: number | undefined;
}

/** Variable → fast-path option, keyed by variable name. */
const FAST_PATH_VARIABLES: { readonly [variable: string]: { key: keyof FastPathOptions; parse: (s: string) => unknown } } = {
  MOE_REFERENCE_SLOT_MEMORY: { key: 'slotMemory', parse: (s) => s },
  MOE_REFERENCE_ABSACCUM: { key: 'absAccum', parse: (s) => s },
  MOE_REFERENCE_CHUNK_BYTES: { key: 'chunkBytes', parse: integerOrText },
};

function integerOrText(s: string): unknown {
  return /^\s*\d+\s*$/.test(s) ? Number(s) : s;
}

function set(env: Environment, name: string): string | undefined {
  const v = env[name];
  return v === undefined || v === '' ? undefined : v;
}

/** The typed options the environment asks for (default: this process's environment). */
export function referenceEnvironment(env: Environment = process.env): ReferenceEnvironment {
  const fastPath: Record<string, unknown> = { ...DEFAULT_FAST_PATH_OPTIONS };
  for (const [variable, { key, parse }] of Object.entries(FAST_PATH_VARIABLES)) {
    const raw = set(env, variable);
    if (raw !== undefined) fastPath[key] = checkFastPathOption(key, parse(raw), variable);
  }
  return { fastPath: fastPath as unknown as FastPathOptions, memoryBytes: memoryBytesFrom(env) };
}

/** MOE_HARNESS_MEMORY_BYTES alone (read at every memory check). */
export function memoryBytesFrom(env: Environment = process.env): number | undefined {
  const raw = set(env, 'MOE_HARNESS_MEMORY_BYTES');
  if (raw === undefined) return undefined;
  const n = Number(raw);
  if (!Number.isSafeInteger(n) || n < 1) {
    throw new BadArgumentError('MOE_HARNESS_MEMORY_BYTES', 'a positive integer number of bytes', JSON.stringify(raw));
  }
  return n;
}

/** MOE_EXPERT_CHUNK_BYTES alone: the largest chunk of per-expert weight storage (read at each allocation). */
export function expertChunkBytesFrom(env: Environment = process.env): number | undefined {
  const raw = set(env, 'MOE_EXPERT_CHUNK_BYTES');
  if (raw === undefined) return undefined;
  const n = Number(raw);
  if (!/^\s*\d+\s*$/.test(raw) || !Number.isSafeInteger(n) || n < 1 || n >= 2 ** 32) {
    throw new BadArgumentError('MOE_EXPERT_CHUNK_BYTES', 'an integer number of bytes in [1, 2^32 - 1]', JSON.stringify(raw));
  }
  return n;
}
