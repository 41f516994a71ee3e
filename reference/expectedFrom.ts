/** Assemble an Expected from the finalized arrays (shared by both precisions). */
import type { Expected, RoutingResult } from './expected.js';
import type { FinalOutputs } from './finalize.js';
import { f32ArrayToBf16 } from './formats/bf16.js';
import type { Problem } from './problem.js';

export function expectedFrom(
  p: Problem, routing: RoutingResult, out: FinalOutputs, fragileTokens: Uint8Array,
  requant: Expected['requant'], provenance: Expected['provenance'],
  extra: { readonly outputBf16?: Uint16Array; readonly analysis?: 'full' | 'output' } = {},
): Expected {
  return {
    problem: p,
    routing,
    outputF32: out.outputF32,
    /** extra.outputBf16: the same rounding done elsewhere (the fast path's finalize workers). */
    outputBf16: extra.outputBf16 ?? f32ArrayToBf16(out.outputF32),
    absAccum: out.absAccum,
    flipAllowance: out.flipAllowance,
    fragileTokens,
    requant,
    ...(extra.analysis === 'output' ? { analysis: 'output' as const } : {}),
    provenance,
  };
}
