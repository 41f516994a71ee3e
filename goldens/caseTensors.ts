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
 *
 * Weights are per-expert storage (reference/expertBytes.ts): `caseTensorParts` gives every
 * tensor as a list of byte parts without copying (a weight tensor: its chunks), for the
 * streaming safetensors writer (harness/kernels/largeFiles.ts) of tensors of any size;
 * `caseToTensors` the contiguous Tensors of small cases (goldens). `tensorsToCase` takes
 * either a contiguous Tensor or a ChunkedTensor (parts of whole experts) per weight tensor.
 */
import type { Case, CaseSpec, HiddenStates } from '../reference/case.js';
import { BadArgumentError } from '../reference/errors.js';
import { ExpertBytes } from '../reference/expertBytes.js';
import { weightBlock, type Problem } from '../reference/problem.js';
import { asFloat32, asUint16, asUint8, DTYPE_SIZES, tensorOf, type Dtype, type Tensor } from './safetensors.js';

export const INPUTS_KIND = 'moe-harness-golden-inputs/1';

/** A float stored as an F32 scalar must survive the trip; refuse values float32 cannot hold. */
function f32Scalar(name: string, x: number): Tensor {
  if (Math.fround(x) !== x && !Number.isNaN(x)) {
    throw new BadArgumentError(name, 'a float32-representable value (kernels receive float32)', String(x));
  }
  return tensorOf('F32', [], new Float32Array([x]));
}

/** A tensor as consecutive byte parts (no part ≥ 4 GiB; the whole may be larger). */
export interface ChunkedTensor {
  readonly dtype: Dtype;
  readonly shape: readonly number[];
  readonly parts: readonly Uint8Array[];
}

const partsOf = (dtype: Dtype, shape: readonly number[], a: ArrayBufferView): ChunkedTensor => {
  const want = shape.reduce((x, y) => x * y, 1) * DTYPE_SIZES[dtype];
  if (a.byteLength !== want) throw new BadArgumentError('values', `${want} bytes for ${dtype}[${shape.join(', ')}]`, `${a.byteLength} bytes`);
  return { dtype, shape: [...shape], parts: [new Uint8Array(a.buffer, a.byteOffset, a.byteLength)] };
};

/** Every input tensor of `c` as byte parts, aliasing the case (nothing copied but scalars). */
export function caseTensorParts(c: Case): Record<string, ChunkedTensor> {
  const p = c.spec.problem;
  const { T, H, I, E, localExperts: El } = p;
  const sf = weightBlock(p.quantMode);
  const scaleDtype: Dtype = p.quantMode === 'nvfp4' ? 'F8_E4M3' : 'U8';
  const t: Record<string, ChunkedTensor> = {};
  const scalar = (name: string, x: number): ChunkedTensor => {
    const s = f32Scalar(name, x);
    return { dtype: s.dtype, shape: s.shape, parts: [s.data] };
  };
  t.logits = c.logits instanceof Float32Array ? partsOf('F32', [T, E], c.logits) : partsOf('BF16', [T, E], c.logits);
  if (c.bias) t.bias = c.bias instanceof Float32Array ? partsOf('F32', [E], c.bias) : partsOf('BF16', [E], c.bias);
  const h = c.hidden;
  if (h.format === 'bf16') {
    t['hidden.data'] = partsOf('BF16', [T, H], h.data);
  } else if (h.format === 'nvfp4') {
    t['hidden.packed'] = partsOf('U8', [T, H / 2], h.packed);
    t['hidden.scales'] = partsOf('F8_E4M3', [T, H / 16], h.scales);
    t['hidden.global_scale'] = scalar('hidden.globalScale', h.globalScale);
  } else {
    t['hidden.data'] = partsOf('F8_E4M3', [T, H], h.data);
    t['hidden.scales'] = partsOf('U8', [T, H / 32], h.scales);
  }
  const experts = (name: string, dtype: Dtype, shape: readonly number[], x: ExpertBytes): ChunkedTensor => {
    const want = shape.reduce((a, b) => a * b, 1);
    if (x.byteLength !== want) throw new BadArgumentError(name, `${want} bytes for ${dtype}[${shape.join(', ')}]`, `${x.byteLength} bytes`);
    return { dtype, shape: [...shape], parts: x.chunks };
  };
  const weights = (which: 'fc1' | 'fc2', rows: number, cols: number): void => {
    const w = c[which];
    t[`${which}.packed`] = experts(`${which}.packed`, 'U8', [El, rows, cols / 2], w.packed);
    t[`${which}.scales`] = experts(`${which}.scales`, scaleDtype, [El, rows, cols / sf], w.scales);
    t[`${which}.global_scale`] = partsOf('F32', [El], w.globalScale);
  };
  weights('fc1', 2 * I, H);
  weights('fc2', H, I);
  t.out1_scale = partsOf('F32', [El], c.out1Scale);
  t.out1_gate_scale = partsOf('F32', [El], c.out1GateScale);
  t.out2_scale = partsOf('F32', [El], c.out2Scale);
  t.fc2_input_global_scale = scalar('fc2InputGlobalScale', c.fc2InputGlobalScale);
  if (c.swiglu) {
    t['swiglu.alpha'] = partsOf('F32', [El], c.swiglu.alpha);
    t['swiglu.beta'] = partsOf('F32', [El], c.swiglu.beta);
    t['swiglu.limit'] = partsOf('F32', [El], c.swiglu.limit);
  }
  return t;
}

/** Every input tensor of `c`, each in one array (copies; for small cases: a weight tensor ≥ 4 GiB is refused). */
export function caseToTensors(c: Case): Record<string, Tensor> {
  const out: Record<string, Tensor> = {};
  for (const [name, t] of Object.entries(caseTensorParts(c))) {
    let bytes: Uint8Array;
    if (t.parts.length === 1) {
      bytes = t.parts[0]!.slice();
    } else {
      const total = t.parts.reduce((a, b) => a + b.length, 0);
      if (total >= 2 ** 32) throw new BadArgumentError(`tensor ${name}`, 'under 4 GiB for one array (write it with writeSafetensorsFile)', `${total} bytes`);
      bytes = new Uint8Array(total);
      let o = 0;
      for (const part of t.parts) { bytes.set(part, o); o += part.length; }
    }
    out[name] = { dtype: t.dtype, shape: t.shape, data: bytes };
  }
  return out;
}

function take<X extends Tensor | ChunkedTensor>(tensors: ReadonlyMap<string, X>, name: string, dtype: Dtype, shape: readonly number[], source: string): X {
  const t = tensors.get(name);
  if (!t) throw new BadArgumentError(`${source}: tensor ${name}`, `present (${dtype}[${shape.join(', ')}])`, 'absent');
  if (t.dtype !== dtype || t.shape.length !== shape.length || t.shape.some((d, i) => d !== shape[i])) {
    throw new BadArgumentError(`${source}: tensor ${name}`, `${dtype}[${shape.join(', ')}]`, `${t.dtype}[${t.shape.join(', ')}]`);
  }
  return t;
}

/** Rebuild the Case of `spec` from stored tensors, checking every dtype and shape against the problem. */
export function tensorsToCase(spec: CaseSpec, tensors: ReadonlyMap<string, Tensor | ChunkedTensor>, source = 'inputs'): Case {
  const p: Problem = spec.problem;
  const { T, H, I, E, localExperts: El } = p;
  const sf = weightBlock(p.quantMode);
  const scaleDtype: Dtype = p.quantMode === 'nvfp4' ? 'F8_E4M3' : 'U8';
  const getAny = (name: string, dtype: Dtype, shape: readonly number[]): Tensor | ChunkedTensor => take(tensors, name, dtype, shape, source);
  const get = (name: string, dtype: Dtype, shape: readonly number[]): Tensor => {
    const t = getAny(name, dtype, shape);
    if ('data' in t) return t;
    const data = new Uint8Array(t.parts.reduce((a, b) => a + b.length, 0));
    let o = 0;
    for (const part of t.parts) { data.set(part, o); o += part.length; }
    return { dtype: t.dtype, shape: t.shape, data };
  };
  // A weight tensor [El, ...] as per-expert storage: a contiguous one is split (views of a
  // fresh copy), a chunked one kept when every part holds the same whole number of experts.
  const experts = (name: string, dtype: Dtype, shape: readonly number[]): ExpertBytes => {
    const t = getAny(name, dtype, shape);
    if ('data' in t) return ExpertBytes.fromContiguous(asUint8(t, name), El);
    const bytesPerExpert = shape.slice(1).reduce((a, b) => a * b, 1);
    const per = t.parts.length === 0 || bytesPerExpert === 0 ? 1 : t.parts[0]!.length / bytesPerExpert;
    const whole = Number.isInteger(per) && per >= 1 && t.parts.every((x, i) => x.length === Math.min(per, El - i * per) * bytesPerExpert)
      && t.parts.length === Math.ceil(El / per);
    if (whole) return new ExpertBytes(El, bytesPerExpert, per, t.parts);
    const out = ExpertBytes.allocate(El, bytesPerExpert);
    let at = 0;
    for (const part of t.parts) {
      let o = 0;
      for (const dst of out.ranges(at, at + part.length)) {
        dst.set(part.subarray(o, o + dst.length));
        o += dst.length;
      }
      at += part.length;
    }
    return out;
  };
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
    packed: note(`${which}.packed`, experts(`${which}.packed`, 'U8', [El, rows, cols / 2])),
    scales: note(`${which}.scales`, experts(`${which}.scales`, scaleDtype, [El, rows, cols / sf])),
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
