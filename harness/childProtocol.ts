/**
 * Messages between the campaign (parent) and the child process that runs tactics.
 * Sent with Node's 'advanced' IPC serialization, so typed arrays travel as such.
 */
import type { CaseSpec } from '../reference/case.js';
import type { KernelChoice } from './kernels/select.js';
import type { TacticOutcome } from './caseRunner.js';
import type { ProviderDescription, Tactic } from './kernels/provider.js';

export type ParentMessage =
  | { readonly type: 'init'; readonly kernel: KernelChoice }
  /** Run `spec` (regenerated in the child); only tactics matching `filter` and not in `skip`. */
  | { readonly type: 'case'; readonly id: number; readonly spec: CaseSpec; readonly filter: readonly string[] | undefined; readonly skip: readonly string[] }
  | { readonly type: 'exit' };

export type ChildMessage =
  | { readonly type: 'ready'; readonly kernel: string; readonly description: ProviderDescription }
  | { readonly type: 'init_failed'; readonly message: string }
  | { readonly type: 'tactics'; readonly id: number; readonly tactics: readonly Tactic[] }
  | { readonly type: 'not_supported'; readonly id: number; readonly message: string }
  | { readonly type: 'prepare_crashed'; readonly id: number; readonly message: string }
  | { readonly type: 'tactic_start'; readonly id: number; readonly label: string }
  | { readonly type: 'tactic_done'; readonly id: number; readonly outcome: TacticOutcome; readonly fatal: boolean }
  | { readonly type: 'case_done'; readonly id: number };
