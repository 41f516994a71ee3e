/** The one-line command that replays one case for one tactic (or all). */
import type { CaseSpec } from '../reference/case.js';
import { kernelArgument, type KernelChoice } from './kernels/select.js';

/** Provenance of a case that came from a fast-check property. */
export interface CaseOrigin {
  readonly fcSeed?: number;
  readonly fcPath?: string;
}

export function replayCommand(spec: CaseSpec, tactic: string, kernel: KernelChoice, origin?: CaseOrigin): string {
  const json = JSON.stringify(spec).replace(/'/g, "'\\''");
  const fault = kernel.fault ? ` --fault ${kernel.fault}` : '';
  const fc = origin?.fcSeed !== undefined ? `  # fast-check seed ${origin.fcSeed}${origin.fcPath !== undefined ? ` path "${origin.fcPath}"` : ''}` : '';
  const quote = (x: string): string => (/^[\w@%+=:,./-]+$/.test(x) ? x : `'${x.replace(/'/g, "'\\''")}'`);
  // A lib: kernel's environment (e.g. MOE_ABI_TESTLIB_MODE) prefixes the command.
  const env = Object.entries(kernel.environment ?? {}).map(([k, v]) => `${k}=${quote(v)} `).join('');
  return `${env}npx moe-harness replay --case '${json}' --tactic ${tactic === '*' ? 'all' : tactic} --kernel ${quote(kernelArgument(kernel))}${fault}${fc}`;
}
