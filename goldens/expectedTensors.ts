/**
 * The reference's outputs for a golden case as named safetensors tensors:
 *
 * | tensor                    | dtype | shape  | meaning |
 * |---------------------------|-------|--------|---------|
 * | output                    | BF16  | [T, H] | the MoE output, rounded once to bf16 |
 * | output_f32                | F32   | [T, H] | the same before the bf16 rounding |
 * | routing.ids               | I32   | [T, k] | chosen expert ids, best first, ties to the lower index |
 * | routing.weights           | F32   | [T, k] | their weights (llama4: sigmoid(logit), applied before FC1) |
 * | routing.selection_scores  | F32   | [T, E] | the score each expert was ranked by (-inf where masked) |
 * | abs_accum                 | F32   | [T, H] | Σ magnitudes FC2 + finalize accumulate (error model) |
 * | flip_allowance            | F32   | [T, H] | allowance for FC2-input re-quantization flips |
 * | fragile_tokens            | U8    | [T]    | 1 where a fragile element feeds the token |
 *
 * `__metadata__` carries the requant counts and the provenance.
 */
import type { Expected } from '../reference/expected.js';
import { BadArgumentError } from '../reference/errors.js';
import type { Problem } from '../reference/problem.js';
import { asFloat32, asInt32, asUint16, asUint8, tensorOf, type Dtype, type Tensor } from './safetensors.js';

export const EXPECTED_KIND = 'moe-harness-golden-expected/1';

/** What a golden stores of an Expected (everything but the problem, which the manifest holds). */
export type StoredExpected = Omit<Expected, 'problem' | 'analysis'>;

export function expectedToTensors(e: Expected): { tensors: Record<string, Tensor>; metadata: Record<string, string> } {
  const { T, H, E, topK } = e.problem;
  return {
    tensors: {
      output: tensorOf('BF16', [T, H], e.outputBf16),
      output_f32: tensorOf('F32', [T, H], e.outputF32),
      'routing.ids': tensorOf('I32', [T, topK], e.routing.ids),
      'routing.weights': tensorOf('F32', [T, topK], e.routing.weights),
      'routing.selection_scores': tensorOf('F32', [T, E], e.routing.selectionScores),
      abs_accum: tensorOf('F32', [T, H], e.absAccum),
      flip_allowance: tensorOf('F32', [T, H], e.flipAllowance),
      fragile_tokens: tensorOf('U8', [T], e.fragileTokens),
    },
    metadata: {
      requant: JSON.stringify(e.requant),
      provenance: JSON.stringify(e.provenance),
    },
  };
}

export function tensorsToExpected(
  problem: Problem,
  tensors: ReadonlyMap<string, Tensor>,
  metadata: Readonly<Record<string, string>>,
  source = 'expected',
): StoredExpected {
  const { T, H, E, topK } = problem;
  const get = (name: string, dtype: Dtype, shape: readonly number[]): Tensor => {
    const t = tensors.get(name);
    if (!t || t.dtype !== dtype || t.shape.length !== shape.length || t.shape.some((d, i) => d !== shape[i])) {
      throw new BadArgumentError(`${source}: tensor ${name}`, `${dtype}[${shape.join(', ')}]`,
        t ? `${t.dtype}[${t.shape.join(', ')}]` : 'absent');
    }
    return t;
  };
  const json = (key: string): unknown => {
    const s = metadata[key];
    if (s === undefined) throw new BadArgumentError(`${source}: __metadata__.${key}`, 'present', 'absent');
    try {
      return JSON.parse(s);
    } catch {
      throw new BadArgumentError(`${source}: __metadata__.${key}`, 'JSON', JSON.stringify(s));
    }
  };
  return {
    outputBf16: asUint16(get('output', 'BF16', [T, H])),
    outputF32: asFloat32(get('output_f32', 'F32', [T, H])),
    routing: {
      ids: asInt32(get('routing.ids', 'I32', [T, topK])),
      weights: asFloat32(get('routing.weights', 'F32', [T, topK])),
      selectionScores: asFloat32(get('routing.selection_scores', 'F32', [T, E])),
    },
    absAccum: asFloat32(get('abs_accum', 'F32', [T, H])),
    flipAllowance: asFloat32(get('flip_allowance', 'F32', [T, H])),
    fragileTokens: asUint8(get('fragile_tokens', 'U8', [T])),
    requant: json('requant') as Expected['requant'],
    provenance: json('provenance') as Expected['provenance'],
  };
}
