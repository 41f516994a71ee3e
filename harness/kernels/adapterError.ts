/**
 * AdapterError: an out-of-process kernel (process.ts) did something the protocol forbids:
 * it died, timed out, wrote garbage on its message pipe, answered out of turn, or reported
 * a failure. The message names the adapter and what it did. A run that ends in an
 * AdapterError is reported crashed, and the adapter is restarted for the next request.
 */
export class AdapterError extends Error {
  override readonly name = 'AdapterError';
  constructor(
    /** The adapter's name (kernel label). */
    readonly adapter: string,
    /** What it did, e.g. "died (exit code 3) during run of tactic numpy/0". */
    readonly what: string,
  ) {
    super(`adapter ${adapter} ${what}`);
  }
}
