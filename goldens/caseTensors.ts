/**
 * A Case's inputs as named safetensors tensors, exactly as a kernel receives them
 * (canonical layout of SPEC §1: linear scales, FC1 rows 0..I-1 = up, I..2I-1 = gate).
 *
 * | tensor                   | dtype                 | shape           | when |
 * |--------------------------|-----------------------|-----------------|------|
 * | logits                   | F32 or BF16 (bits)    | [T, E]          | always |
 * | bias                     | F32 or BF16           | [E]             | deepseek_v3 with a bias |
 * | hidden.data              | BF16                  | [T, H]          | mxfp4_bf16 |
 * | hidden.packed            | U8 (2 e2m1, low first)| [T, H/2]        | nvfp4 |
 * | hidden.scales            | F8_E4M3               | [T, H/16]       | nvfp4 |
 * | hidden.global_scale      | F32                   | []              | nvfp4 |
 * | hidden.data              | F8_E4M3               | [T, H]          | mxfp4_mxfp8 |
 * | hidden.scales            | U8 (ue8m0)            | [T, H/32]       | mxfp4_mxfp8 |
 * | fc1.packed               | U8                    | [El, 2I, H/2]   | always |
 * | fc1.scales               | F8_E4M3 / U8 (ue8m0)  | [El, 2I, H/sf]  | always |
 * | fc1.global_scale         | F32                   | [El]            | always (1 for MX) |
 * | fc2.packed / scales / global_scale | as fc1      | [El, H, I/2], [El, H, I/sf], [El] | always |
 * | out1_scale, out1_gate_scale, out2_scale | F32    | [El]            | always |
 * | fc2_input_global_scale   | F32                   | []              | always (1 outside NVFP4) |
 * | swiglu.alpha / beta / limit | F32                | [El]            | swiglu_clamped |
 */
import type { Case, CaseSpec, HiddenStates } from '../reference/case.js';
import { BadArgumentError } from '../reference/errors.js';
import { weightBlock, type Problem } from '../reference/problem.js';
import { asFloat32, asUint16, asUint8, tensorOf, type Dtype, type Tensor } from './safetensors.js';

export const INPUTS_KIND = 'moe-harness-golden-inputs/1';

/** A float stored as an F32 scalar must survive the trip; refuse values float32 cannot hold. */
function f32Scalar(name: string, x: number): Tensor {
  if (Math.fround(x) !== x && !Number.isNaN(x)) {
    throw new BadArgumentError(name, 'a float32-representable value (kernels receive float32)', String(x));
  }
  return tensorOf('F32', [], new Float32Array([x]));
}

export function caseToTensors(c: Case): Record<string, Tensor> {
  const p = c.spec.problem;
  const { T, H, I, E, localExperts: El } = p;
  const sf = weightBlock(p.quantMode);
  const scaleDtype: Dtype = p.quantMode === 'nvfp4' ? 'F8_E4M3' : 'U8';
  const t: Record<string, Tensor> = {};
  t.logits = c.logits instanceof Float32Array ? tensorOf('F32', [T, E], c.logits) : tensorOf('BF16', [T, E], c.logits);
  if (c.bias) t.bias = c.bias instanceof Float32Array ? tensorOf('F32', [E], c.bias) : tensorOf('BF16', [E], c.bias);
  const h = c.hidden;
  if (h.format === 'bf16') {
    t['hidden.data'] = tensorOf('BF16', [T, H], h.data);
  } else if (h.format === 'nvfp4') {
    t['hidden.packed'] = tensorOf('U8', [T, H / 2], h.packed);
    t['hidden.scales'] = tensorOf('F8_E4M3', [T, H / 16], h.scales);
    t['hidden.global_scale'] = f32Scalar('hidden.globalScale', h.globalScale);
  } else {
    t['hidden.data'] = tensorOf('F8_E4M3', [T, H], h.data);
    t['hidden.scales'] = tensorOf('U8', [T, H / 32], h.scales);
  }
  const weights = (which: 'fc1' | 'fc2', rows: number, cols: number): void => {
    const w = c[which];
    t[`${which}.packed`] = tensorOf('U8', [El, rows, cols / 2], w.packed);
    t[`${which}.scales`] = tensorOf(scaleDtype, [El, rows, cols / sf], w.scales);
    t[`${which}.global_scale`] = tensorOf('F32', [El], w.globalScale);
  };
  weights('fc1', 2 * I, H);
  weights('fc2', H, I);
  t.out1_scale = tensorOf('F32', [El], c.out1Scale);
  t.out1_gate_scale = tensorOf('F32', [El], c.out1GateScale);
  t.out2_scale = tensorOf('F32', [El], c.out2Scale);
  t.fc2_input_global_scale = f32Scalar('fc2InputGlobalScale', c.fc2InputGlobalScale);
  if (c.swiglu) {
    t['swiglu.alpha'] = tensorOf('F32', [El], c.swiglu.alpha);
    t['swiglu.beta'] = tensorOf('F32', [El], c.swiglu.beta);
    t['swiglu.limit'] = tensorOf('F32', [El], c.swiglu.limit);
  }
  return t;
}

function take(tensors: ReadonlyMap<string, Tensor>, name: string, dtype: Dtype, shape: readonly number[], source: string): Tensor {
  const t = tensors.get(name);
  if (!t) throw new BadArgumentError(`${source}: tensor ${name}`, `present (${dtype}[${shape.join(', ')}])`, 'absent');
  if (t.dtype !== dtype || t.shape.length !== shape.length || t.shape.some((d, i) => d !== shape[i])) {
    throw new BadArgumentError(`${source}: tensor ${name}`, `${dtype}[${shape.join(', ')}]`, `${t.dtype}[${t.shape.join(', ')}]`);
  }
  return t;
}

/** Rebuild the Case of `spec` from stored tensors, checking every dtype and shape against the problem. */
export function tensorsToCase(spec: CaseSpec, tensors: ReadonlyMap<string, Tensor>, source = 'inputs'): Case {
  const p: Problem = spec.problem;
  const { T, H, I, E, localExperts: El } = p;
  const sf = weightBlock(p.quantMode);
  const scaleDtype: Dtype = p.quantMode === 'nvfp4' ? 'F8_E4M3' : 'U8';
  const get = (name: string, dtype: Dtype, shape: readonly number[]): Tensor => take(tensors, name, dtype, shape, source);
  const f32 = (name: string, shape: readonly number[]): Float32Array => asFloat32(get(name, 'F32', shape), name);

  const expectedNames = new Set<string>();
  const note = <X>(name: string, x: X): X => {
    expectedNames.add(name);
    return x;
  };
  const logits = note('logits', p.logitsDtype === 'float32' ? f32('logits', [T, E]) : asUint16(get('logits', 'BF16', [T, E])));
  const bias = p.biasDtype === 'none' ? null
    : note('bias', p.biasDtype === 'float32' ? f32('bias', [E]) : asUint16(get('bias', 'BF16', [E])));
  let hidden: HiddenStates;
  if (p.quantMode === 'mxfp4_bf16') {
    hidden = { format: 'bf16', data: note('hidden.data', asUint16(get('hidden.data', 'BF16', [T, H]))) };
  } else if (p.quantMode === 'nvfp4') {
    hidden = {
      format: 'nvfp4',
      packed: note('hidden.packed', asUint8(get('hidden.packed', 'U8', [T, H / 2]))),
      scales: note('hidden.scales', asUint8(get('hidden.scales', 'F8_E4M3', [T, H / 16]))),
      globalScale: note('hidden.global_scale', f32('hidden.global_scale', [])[0]!),
    };
  } else {
    hidden = {
      format: 'mxfp8',
      data: note('hidden.data', asUint8(get('hidden.data', 'F8_E4M3', [T, H]))),
      scales: note('hidden.scales', asUint8(get('hidden.scales', 'U8', [T, H / 32]))),
    };
  }
  const weights = (which: 'fc1' | 'fc2', rows: number, cols: number) => ({
    packed: note(`${which}.packed`, asUint8(get(`${which}.packed`, 'U8', [El, rows, cols / 2]))),
    scales: note(`${which}.scales`, asUint8(get(`${which}.scales`, scaleDtype, [El, rows, cols / sf]))),
    globalScale: note(`${which}.global_scale`, f32(`${which}.global_scale`, [El])),
  });
  const swiglu = p.activation.kind === 'swiglu_clamped'
    ? {
      alpha: note('swiglu.alpha', f32('swiglu.alpha', [El])),
      beta: note('swiglu.beta', f32('swiglu.beta', [El])),
      limit: note('swiglu.limit', f32('swiglu.limit', [El])),
    }
    : null;
  const c: Case = {
    spec,
    logits,
    bias,
    hidden,
    fc1: weights('fc1', 2 * I, H),
    fc2: weights('fc2', H, I),
    out1Scale: note('out1_scale', f32('out1_scale', [El])),
    out1GateScale: note('out1_gate_scale', f32('out1_gate_scale', [El])),
    out2Scale: note('out2_scale', f32('out2_scale', [El])),
    fc2InputGlobalScale: note('fc2_input_global_scale', f32('fc2_input_global_scale', [])[0]!),
    swiglu,
  };
  const extra = [...tensors.keys()].filter((n) => !expectedNames.has(n));
  if (extra.length > 0) throw new BadArgumentError(`${source}: tensors`, 'only the inputs of this problem', `also ${extra.join(', ')}`);
  return c;
}
