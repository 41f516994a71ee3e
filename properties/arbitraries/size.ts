/**
 * Size classes for generated problems. `small` keeps the CPU reference fast enough for
 * property suites on two cores; larger classes are for GPU campaigns. The default class
 * comes from env MOE_HARNESS_SIZE (small | medium | large), else `small`.
 */
import { BadArgumentError } from '../../reference/errors.js';

export const ARB_SIZES = ['small', 'medium', 'large'] as const;
export type ArbSize = (typeof ARB_SIZES)[number];

export interface SizeLimits {
  /** Largest T; T values come from TOKEN_COUNTS below it, or any integer up to it. */
  readonly maxT: number;
  /** Largest H and I (rounded up to the block multiple). */
  readonly maxH: number;
  readonly maxI: number;
  /** Largest E (deepseek grouped: nGroup · group size, itself capped by maxGroupSize). */
  readonly maxE: number;
  readonly maxK: number;
  readonly maxGroupSize: number;
}

export const SIZE_LIMITS: Readonly<Record<ArbSize, SizeLimits>> = {
  small: { maxT: 33, maxH: 128, maxI: 96, maxE: 16, maxK: 4, maxGroupSize: 4 },
  medium: { maxT: 129, maxH: 512, maxI: 256, maxE: 64, maxK: 8, maxGroupSize: 8 },
  large: { maxT: 1024, maxH: 2048, maxI: 1024, maxE: 256, maxK: 10, maxGroupSize: 32 },
};

/**
 * Token counts worth hitting on purpose: 1, small primes, and residues of the usual tile
 * sizes (8, 16, 32, 64, 128 plus or minus one).
 */
export const TOKEN_COUNTS = [1, 2, 3, 5, 7, 8, 9, 13, 16, 17, 31, 33, 63, 65, 127, 129, 255, 257, 1023] as const;

export function defaultArbSize(): ArbSize {
  const s = process.env.MOE_HARNESS_SIZE;
  if (s === undefined || s === '') return 'small';
  if (!(ARB_SIZES as readonly string[]).includes(s)) {
    throw new BadArgumentError('MOE_HARNESS_SIZE', `one of ${ARB_SIZES.join(', ')}`, JSON.stringify(s));
  }
  return s as ArbSize;
}

export function sizeLimits(size: ArbSize | SizeLimits = defaultArbSize()): SizeLimits {
  if (typeof size !== 'string') return size;
  if (!(ARB_SIZES as readonly string[]).includes(size)) {
    throw new BadArgumentError('size', `one of ${ARB_SIZES.join(', ')}`, JSON.stringify(size));
  }
  return SIZE_LIMITS[size];
}
