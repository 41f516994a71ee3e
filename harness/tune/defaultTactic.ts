/**
 * The kernel's default tactic: what it runs when nobody tuned it (the cache-miss fallback
 * and the "default" column of the benchmark). A registry keyed by provider kind:
 *   native   the addon's own heuristic (native/index.ts defaultTactic), with its reason;
 *   (other)  the first tactic the kernel enumerates for the problem — the Provider interface
 *            has no notion of a default, and the first listed is what a caller that picks
 *            none gets from our enumeration order.
 */
import type { Problem } from '../../reference/problem.js';
import type { Provider, Tactic } from '../kernels/provider.js';

export interface DefaultTactic {
  readonly tactic: Tactic;
  readonly reason: string;
}

type DefaultRule = (provider: Provider, problem: Problem, enumerated: readonly Tactic[]) => Promise<DefaultTactic | null>;

const firstEnumerated: DefaultRule = async (_p, _problem, enumerated) =>
  enumerated[0] ? { tactic: enumerated[0], reason: 'the first tactic the kernel enumerates' } : null;

const DEFAULT_RULES: Readonly<Record<string, DefaultRule>> = {
  native: async (provider, problem, enumerated) => {
    const { defaultTactic } = await import('../../native/index.js');
    const d = defaultTactic(problem);
    const t = enumerated.find((x) => x.tileTokens === d.tileTokens && x.config === d.config);
    return t ? { tactic: t, reason: `the addon's heuristic: ${d.reason}` } : firstEnumerated(provider, problem, enumerated);
  },
};

/** The default tactic of a provider of `kind` for the problem (null: the kernel enumerates none). */
export async function defaultTacticOf(kind: string, provider: Provider, problem: Problem, enumerated: readonly Tactic[]): Promise<DefaultTactic | null> {
  const rule = Object.prototype.hasOwnProperty.call(DEFAULT_RULES, kind) ? DEFAULT_RULES[kind]! : firstEnumerated;
  return rule(provider, problem, enumerated);
}
