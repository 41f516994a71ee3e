/** The one-line command that replays one case for one tactic (or all). */
import type { CaseSpec } from '../reference/case.js';
import { kernelArgs, shellQuote, type KernelChoice } from './kernels/select.js';

/** Provenance of a case that came from a fast-check property. */
export interface CaseOrigin {
  readonly fcSeed?: number;
  readonly fcPath?: string;
}

/** A kernel's environment (e.g. a lib:'s MOE_ABI_TESTLIB_MODE) as a command prefix, unless its config file carries it. */
export function kernelEnvPrefix(kernel: KernelChoice): string {
  return kernel.configFile !== undefined ? '' : Object.entries(kernel.env ?? {}).map(([k, v]) => `${k}=${shellQuote(v)} `).join('');
}

export function replayCommand(spec: CaseSpec, tactic: string, kernel: KernelChoice, origin?: CaseOrigin): string {
  const json = JSON.stringify(spec).replace(/'/g, "'\\''");
  const fc = origin?.fcSeed !== undefined ? `  # fast-check seed ${origin.fcSeed}${origin.fcPath !== undefined ? ` path "${origin.fcPath}"` : ''}` : '';
  return `${kernelEnvPrefix(kernel)}npx moe-harness replay --case '${json}' --tactic ${tactic === '*' ? 'all' : tactic} ${kernelArgs(kernel)}${fc}`;
}
