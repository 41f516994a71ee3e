/**
 * The reference fused MoE (SPEC §4 under README "Arithmetic contract"): runReference
 * computes what a kernel must produce for a Case, plus what the comparator needs
 * (absAccum, the re-quantization flip allowance, fragile tokens). Two precisions:
 *  - 'float32' (default): the fast path, GEMMs on tfjs (reference/backend.ts) spread over
 *    worker threads, grouped by expert (reference/fastpath/);
 *  - 'float64': the plain-JS oracle (reference/oracle64.ts), an independent check for
 *    small problems.
 */
import type { Case } from './case.js';
import type { Expected } from './expected.js';
import { releaseFastPathScratch, runFast } from './fastpath/runFast.js';
import { endWorkerPool, inFastPathQueue } from './fastpath/pool.js';
import { runOracle64 } from './oracle64.js';
import type { ReferenceOptions } from './referenceOptions.js';

export type { ReferenceOptions } from './referenceOptions.js';
export { defaultFc1RelativeError } from './errorWindow.js';

/**
 * The reference output of a case (see Expected), always of the case's current contents:
 * the fast path reuses its shared-memory copy of an array only after checking it byte for
 * byte against the array (runFast.ts sharedCached), so editing a case in place is safe.
 */
export async function runReference(c: Case, opts: ReferenceOptions = {}): Promise<Expected> {
  if (opts?.precision === 'float64') {
    const ex = runOracle64(c, opts);
    // The oracle always computes the whole analysis; 'output' gets the same shape as the fast path's.
    return opts.analysis === 'output' ? outputOnly(ex) : ex;
  }
  return runFast(c, opts);
}

/** An Expected reduced to analysis 'output' (see ReferenceOptions.analysis). */
function outputOnly(ex: Expected): Expected {
  return {
    ...ex,
    absAccum: new Float32Array(ex.absAccum.length),
    flipAllowance: new Float32Array(ex.flipAllowance.length),
    fragileTokens: new Uint8Array(ex.fragileTokens.length),
    requant: { elements: ex.requant.elements, fragileElements: 0, fragileBlocks: 0 },
    analysis: 'output',
  };
}

/**
 * End the fast path's worker threads and drop its scratch memory (idle workers never keep
 * a process alive anyway; the next run starts them again). It waits for the runs already
 * queued, so a caller sharing the process with another never ends the pool mid-run.
 */
export function shutdownReference(): Promise<void> {
  return inFastPathQueue(() => {
    releaseFastPathScratch();
    return endWorkerPool();
  });
}
