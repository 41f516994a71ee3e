/**
 * Messages between the campaign (parent) and the child process that runs tactics.
 * Sent with Node's 'advanced' IPC serialization, so typed arrays travel as such; a tactic's
 * large arrays cross by a file on shared memory instead (outcomeTransfer.ts).
 */
import type { CaseSpec } from '../reference/case.js';
import type { KernelChoice } from './kernels/select.js';
import type { OutcomeTransfer } from './outcomeTransfer.js';
import type { ProviderDescription, Tactic } from './kernels/provider.js';

export type ParentMessage =
  /**
   * repeats: runs of each tactic on identical inputs (default 2). outcomeDir: the child's folder
   * for outcome files (absent: every outcome inline); inlineBytes: outcomes with fewer bytes of
   * arrays stay inline (default DEFAULT_INLINE_BYTES).
   */
  | { readonly type: 'init'; readonly kernel: KernelChoice; readonly repeats?: number; readonly outcomeDir?: string; readonly inlineBytes?: number }
  /**
   * Run `spec` (regenerated in the child); only tactics matching `filter` and not in `skip`.
   * `attempt`: how many children ran this case before (0 the first time; test hooks use it).
   */
  | { readonly type: 'case'; readonly id: number; readonly spec: CaseSpec; readonly filter: readonly string[] | undefined; readonly skip: readonly string[]; readonly attempt: number }
  | { readonly type: 'exit' };

export type ChildMessage =
  | { readonly type: 'ready'; readonly kernel: string; readonly description: ProviderDescription }
  | { readonly type: 'init_failed'; readonly message: string }
  /** The case's selected tactics, enumerated from its problem before anything else. */
  | { readonly type: 'tactics'; readonly id: number; readonly tactics: readonly Tactic[] }
  /** The child enters a phase of the case: a death from here on is attributed to it. */
  | { readonly type: 'phase'; readonly id: number; readonly phase: 'regenerate' | 'prepare' }
  | { readonly type: 'not_supported'; readonly id: number; readonly message: string }
  /** Enumerating (no tactics known yet), regenerating or preparing threw (not a death). */
  | { readonly type: 'prepare_crashed'; readonly id: number; readonly message: string }
  | { readonly type: 'tactic_start'; readonly id: number; readonly label: string }
  /**
   * outcome: inline or its arrays in a file (outcomeTransfer.ts). sentAt: epochMs() before the
   * outcome was written or serialized; writeMs: how long writing its file took (file mode;
   * phaseTimes.ts: traffic). maxRss: the child's peak resident bytes so far.
   */
  | { readonly type: 'tactic_done'; readonly id: number; readonly outcome: OutcomeTransfer; readonly fatal: boolean; readonly sentAt?: number; readonly writeMs?: number; readonly maxRss?: number }
  | { readonly type: 'case_done'; readonly id: number };
