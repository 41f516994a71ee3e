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
 * | routing.scores            | F32   | [T, E] | the same before group masking (routing/evidence.ts) |
 * | routing.expert_tie_class  | I32   | [T, E] | lowest expert index with bit-identical routing inputs (-1 masked) |
 * | routing.group_scores      | F32   | [T, G] | grouped deepseek_v3 only: group scores (G = nGroup) |
 * | routing.group_tie_class   | I32   | [T, G] | grouped deepseek_v3 only: lowest group with identical inputs |
 * | abs_accum                 | F32   | [T, H] | Σ magnitudes FC2 + finalize accumulate (error model) |
 * | flip_allowance            | F32   | [T, H] | allowance for FC2-input re-quantization flips |
 * | fragile_tokens            | U8    | [T]    | 1 where a fragile element feeds the token |
 *
 * `__metadata__` carries the requant counts and the provenance.
 *
 * These are everything the judge reads (harness/judge.ts): a golden case is judged against
 * what is stored, never against a recomputation (except the reference for a kernel's other
 * valid expert choice, which cannot be stored in advance). Decoding checks that `output`
 * is the bf16 rounding of `output_f32`, element by element.
 */
import type { Expected } from '../reference/expected.js';
import { BadArgumentError } from '../reference/errors.js';
import { f32ToBf16 } from '../reference/formats/bf16.js';
import type { Problem } from '../reference/problem.js';
import type { GroupEvidence } from '../reference/routing/evidence.js';
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
      'routing.scores': tensorOf('F32', [T, E], e.routing.evidence.scores),
      'routing.expert_tie_class': tensorOf('I32', [T, E], e.routing.evidence.expertTieClass),
      ...(e.routing.evidence.groups === null ? {} : {
        'routing.group_scores': tensorOf('F32', [T, e.routing.evidence.groups.count], e.routing.evidence.groups.scores),
        'routing.group_tie_class': tensorOf('I32', [T, e.routing.evidence.groups.count], e.routing.evidence.groups.tieClass),
      }),
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
  const nGroup = problem.routing.nGroup ?? 1;
  let groups: GroupEvidence | null = null;
  if (tensors.has('routing.group_scores') || nGroup > 1) {
    groups = {
      count: nGroup, size: E / nGroup, keep: problem.routing.topkGroup ?? 1,
      scores: asFloat32(get('routing.group_scores', 'F32', [T, nGroup])),
      tieClass: asInt32(get('routing.group_tie_class', 'I32', [T, nGroup])),
    };
  }
  const outputBf16 = asUint16(get('output', 'BF16', [T, H]));
  const outputF32 = asFloat32(get('output_f32', 'F32', [T, H]));
  for (let i = 0; i < outputF32.length; i++) {
    if (f32ToBf16(outputF32[i]!) !== outputBf16[i]) {
      throw new BadArgumentError(`${source}: tensor output[${i}] (token ${Math.floor(i / H)}, h ${i % H})`,
        `0x${f32ToBf16(outputF32[i]!).toString(16).padStart(4, '0')}, the bf16 rounding of output_f32[${i}] = ${outputF32[i]}`,
        `0x${outputBf16[i]!.toString(16).padStart(4, '0')}`);
    }
  }
  return {
    outputBf16,
    outputF32,
    routing: {
      ids: asInt32(get('routing.ids', 'I32', [T, topK])),
      weights: asFloat32(get('routing.weights', 'F32', [T, topK])),
      selectionScores: asFloat32(get('routing.selection_scores', 'F32', [T, E])),
      evidence: {
        scores: asFloat32(get('routing.scores', 'F32', [T, E])),
        expertTieClass: asInt32(get('routing.expert_tie_class', 'I32', [T, E])),
        groups,
      },
    },
    absAccum: asFloat32(get('abs_accum', 'F32', [T, H])),
    flipAllowance: asFloat32(get('flip_allowance', 'F32', [T, H])),
    fragileTokens: asUint8(get('fragile_tokens', 'U8', [T])),
    requant: json('requant') as Expected['requant'],
    provenance: json('provenance') as Expected['provenance'],
  };
}
