/**
 * Shapes of block-quantized tensors. Blocks run along the last (contracted) dimension;
 * every leading dimension folds into rows: rows = product of leading dims, cols = last dim.
 */
import { BadArgumentError, describeValue } from '../errors.js';

/** rows × cols of a tensor of any leading shape ([cols] alone is one row). */
export function matrixShape(shape: readonly number[], name = 'shape'): { rows: number; cols: number } {
  if (shape.length === 0) throw new BadArgumentError(name, 'at least one dimension', '[]');
  for (let i = 0; i < shape.length; i++) {
    const d = shape[i]!;
    if (!Number.isInteger(d) || d < 0) throw new BadArgumentError(`${name}[${i}]`, 'an integer >= 0', String(d));
  }
  const cols = shape[shape.length - 1]!;
  let rows = 1;
  for (let i = 0; i < shape.length - 1; i++) rows *= shape[i]!;
  return { rows, cols };
}

/** Validate rows, cols and the block multiple; `length` (if given) must be rows·cols. */
export function checkBlockShape(rows: number, cols: number, block: number, format: string): void {
  if (!Number.isSafeInteger(rows) || rows < 0) throw new BadArgumentError('rows', 'an integer >= 0', String(rows));
  if (!Number.isSafeInteger(cols) || cols < 0) throw new BadArgumentError('cols', 'an integer >= 0', String(cols));
  if (cols % block !== 0) {
    throw new BadArgumentError('cols', `a multiple of the ${format} block size ${block}`, String(cols));
  }
}

/** Validate that an array argument has exactly `expected` elements. */
export function checkLength(argument: string, array: ArrayLike<number>, expected: number, what: string): void {
  if (array.length !== expected) {
    throw new BadArgumentError(argument, `${expected} elements (${what})`, describeValue(array));
  }
}

/**
 * Largest |x| of x[offset, offset+length). Throws BadArgumentError naming the tensor for
 * NaN or ±Infinity (block formats have no code for them, and a global scale needs a finite amax).
 */
export function finiteAmax(x: Float32Array, offset: number, length: number, name: string): number {
  let amax = 0;
  let bad = false;
  for (let i = offset, end = offset + length; i < end; i++) {
    const v = x[i]!;
    const a = v < 0 ? -v : v;
    if (a > amax) amax = a;
    else if (!(a <= amax)) bad = true; // NaN
  }
  if (bad || amax === Infinity) {
    let at = offset;
    while (at < offset + length && Number.isFinite(x[at]!)) at++;
    throw new BadArgumentError(name, 'finite values', `${x[at]} at element ${at}`);
  }
  return amax;
}
