/**
 * One error type per kind of failure. Every message names the argument, what was
 * expected and what was found, so a caller can fix the call without reading code.
 */

/** A caller passed a value that violates the contract (length, shape, range, enum). */
export class BadArgumentError extends Error {
  override readonly name = 'BadArgumentError';
  constructor(
    readonly argument: string,
    readonly expected: string,
    readonly actual: string,
    hint?: string,
  ) {
    super(`${argument}: expected ${expected}, got ${actual}${hint ? ` (${hint})` : ''}`);
  }
}

/** The problem is well formed but outside what an implementation supports. */
export class UnsupportedProblemError extends Error {
  override readonly name = 'UnsupportedProblemError';
  constructor(
    readonly argument: string,
    readonly expected: string,
    readonly actual: string,
  ) {
    super(`unsupported ${argument}: expected ${expected}, got ${actual}`);
  }
}

/** Describe a value briefly for an error message (arrays by type and length). */
export function describeValue(v: unknown): string {
  if (v === null) return 'null';
  if (v === undefined) return 'undefined';
  if (ArrayBuffer.isView(v)) {
    const ctor = (v as { constructor: { name: string } }).constructor.name;
    const len = (v as unknown as { length?: number }).length ?? (v as ArrayBufferView).byteLength;
    return `${ctor}(${len})`;
  }
  if (Array.isArray(v)) return `Array(${v.length})`;
  if (typeof v === 'string') return JSON.stringify(v);
  if (typeof v === 'number' || typeof v === 'boolean' || typeof v === 'bigint') return String(v);
  return typeof v;
}

/** Throw BadArgumentError unless `cond`; the message parts are built lazily. */
export function check(cond: boolean, argument: string, expected: () => string, actual: () => string): asserts cond {
  if (!cond) throw new BadArgumentError(argument, expected(), actual());
}
