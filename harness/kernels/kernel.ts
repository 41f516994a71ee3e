/**
 * Compatibility names: the interface is Provider (provider.ts). Kept so that code written
 * against the old names (KernelUnderTest) still compiles; new code imports provider.ts.
 */
export type { Observed, RunOptions, Tactic, Provider as KernelUnderTest } from './provider.js';
export { makeTactic, tacticLabel } from './provider.js';
