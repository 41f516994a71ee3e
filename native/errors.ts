/**
 * Errors of the native addon that have no counterpart in reference/errors.ts. Bad
 * arguments and unsupported problems surface as BadArgumentError and
 * UnsupportedProblemError (re-exported by native/index.ts).
 */

/** A CUDA runtime call or kernel failed; `cudaName` is the CUDA error's enum name. */
export class CudaError extends Error {
  override readonly name = 'CudaError';
  constructor(
    /** e.g. "cudaErrorIllegalAddress", "cudaErrorNoDevice", "cudaErrorInsufficientDriver". */
    readonly cudaName: string,
    /** The CUDA call or pipeline stage that failed, e.g. "FC1 kernel", "cudaMalloc(fc2 output)". */
    readonly call: string,
    /** The forced tactic as "tileTokens/config", or "" outside runMoe. */
    readonly tactic: string,
    message: string,
  ) {
    super(message);
  }
}

/** The addon is not loaded or was built without CUDA; `reason` says why. */
export class NativeUnavailableError extends Error {
  override readonly name = 'NativeUnavailableError';
  constructor(readonly reason: string) {
    super(`native MoE addon unavailable: ${reason}`);
  }
}
