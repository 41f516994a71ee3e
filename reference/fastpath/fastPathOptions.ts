/**
 * The fast path's tuning and test switches, as one typed object. Every value gives the same
 * outputs bit for bit (reference/moe.test.ts compares them); they choose how, not what.
 * Callers pass them as ReferenceOptions.fastPath; the environment variables that set them
 * are read in one place, reference/referenceEnvironment.ts.
 */
import { BadArgumentError, describeValue } from '../errors.js';

/**
 * Where the per-slot rows and token sums live: 'wasm', one shared WebAssembly.Memory read
 * by the WebAssembly finalize kernel (falls back to 'sab' where the runtime has no shared
 * WebAssembly memory); 'sab', plain shared scratch and the JS finalize.
 */
export type SlotMemoryMode = 'wasm' | 'sab';
export const SLOT_MEMORY_MODES: readonly SlotMemoryMode[] = ['wasm', 'sab'];

/**
 * How absAccum's Σ|W2|·|â| is computed: 'blocks', by exact integer block products where the
 * engine has them and both operands are NVFP4 (fp4AbsProduct.ts), else the GEMM; 'gemm',
 * always the float32 GEMM |W2|·|Â|ᵀ.
 */
export type AbsAccumMode = 'blocks' | 'gemm';
export const ABS_ACCUM_MODES: readonly AbsAccumMode[] = ['blocks', 'gemm'];

export interface FastPathOptions {
  readonly slotMemory: SlotMemoryMode;
  readonly absAccum: AbsAccumMode;
  /**
   * Bytes of float32 weights a worker decodes at a time (both halves of a W1 chunk, or W2
   * and |W2|): smaller chunks stay in cache, larger ones make fewer, more efficient GEMM calls.
   */
  readonly chunkBytes: number;
}

export const DEFAULT_FAST_PATH_OPTIONS: FastPathOptions = {
  slotMemory: 'wasm',
  absAccum: 'blocks',
  chunkBytes: 4 * 2 ** 20,
};

/** Smallest chunkBytes accepted: one 16-row chunk of a 16-column float32 matrix. */
export const MIN_CHUNK_BYTES = 16 * 16 * 4;

/** One checker per option, keyed by name: `where` names the option or variable in the error. */
const CHECKS: { readonly [K in keyof FastPathOptions]: (v: unknown, where: string) => FastPathOptions[K] } = {
  slotMemory: (v, where) => oneOf(v, SLOT_MEMORY_MODES, where),
  absAccum: (v, where) => oneOf(v, ABS_ACCUM_MODES, where),
  chunkBytes: (v, where) => {
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < MIN_CHUNK_BYTES) {
      throw new BadArgumentError(where, `an integer number of bytes >= ${MIN_CHUNK_BYTES}`, describeValue(v));
    }
    return v;
  },
};

function oneOf<T extends string>(v: unknown, values: readonly T[], where: string): T {
  if (typeof v !== 'string' || !(values as readonly string[]).includes(v)) {
    throw new BadArgumentError(where, values.map((x) => `'${x}'`).join(' or '), describeValue(v));
  }
  return v as T;
}

/**
 * `given` checked option by option (BadArgumentError naming `${where}.<option>`), over
 * `base` for the options it leaves out.
 */
export function resolveFastPathOptions(given: unknown, base: FastPathOptions = DEFAULT_FAST_PATH_OPTIONS, where = 'opts.fastPath'): FastPathOptions {
  if (given === undefined) return base;
  if (typeof given !== 'object' || given === null || Array.isArray(given)) {
    throw new BadArgumentError(where, 'an object of fast-path options', describeValue(given));
  }
  const out: Record<string, unknown> = { ...base };
  for (const [key, value] of Object.entries(given)) {
    const check = (CHECKS as Record<string, (v: unknown, w: string) => unknown>)[key];
    if (check === undefined) {
      throw new BadArgumentError(`${where}.${key}`, `one of the options ${Object.keys(CHECKS).join(', ')}`, 'an unknown option');
    }
    if (value !== undefined) out[key] = check(value, `${where}.${key}`);
  }
  return out as unknown as FastPathOptions;
}

/** One option's value checked (for the environment reader: `where` is the variable). */
export function checkFastPathOption<K extends keyof FastPathOptions>(key: K, value: unknown, where: string): FastPathOptions[K] {
  return CHECKS[key](value, where);
}
