/**
 * What changed between two versions of a safetensors file, tensor by tensor: identical,
 * changed (how many bytes and elements, and for float/int tensors the largest absolute
 * difference), added, removed, or reshaped (dtype or shape changed).
 */
import { bf16BitsToNumber } from './compareGolden.js';
import { DTYPE_SIZES, type SafetensorsFile, type Tensor } from './safetensors.js';

export type TensorDiffStatus = 'identical' | 'changed' | 'added' | 'removed' | 'reshaped';

export interface TensorDiff {
  readonly name: string;
  readonly status: TensorDiffStatus;
  readonly changedBytes: number;
  readonly changedElements: number;
  readonly elements: number;
  /** Largest |old − new| over elements (F32, BF16, I32 tensors; NaN where one side is NaN). */
  readonly maxAbsDiff?: number;
}

function numberAt(t: Tensor, i: number, view: DataView): number | undefined {
  switch (t.dtype) {
    case 'F32': return view.getFloat32(i * 4, true);
    case 'BF16': return bf16BitsToNumber(view.getUint16(i * 2, true));
    case 'I32': return view.getInt32(i * 4, true);
    case 'U8': return view.getUint8(i);
    default: return undefined;
  }
}

export function diffTensor(name: string, a: Tensor, b: Tensor): TensorDiff {
  const elements = b.data.byteLength / DTYPE_SIZES[b.dtype];
  if (a.dtype !== b.dtype || a.shape.length !== b.shape.length || a.shape.some((d, i) => d !== b.shape[i])) {
    return { name, status: 'reshaped', changedBytes: b.data.byteLength, changedElements: elements, elements };
  }
  const size = DTYPE_SIZES[a.dtype];
  const va = new DataView(a.data.buffer, a.data.byteOffset, a.data.byteLength);
  const vb = new DataView(b.data.buffer, b.data.byteOffset, b.data.byteLength);
  let changedBytes = 0;
  let changedElements = 0;
  let maxAbsDiff: number | undefined;
  for (let i = 0; i < elements; i++) {
    let differs = false;
    for (let j = 0; j < size; j++) {
      if (a.data[i * size + j] !== b.data[i * size + j]) {
        changedBytes++;
        differs = true;
      }
    }
    if (!differs) continue;
    changedElements++;
    const x = numberAt(a, i, va);
    const y = numberAt(b, i, vb);
    if (x !== undefined && y !== undefined) {
      const d = Object.is(x, y) ? 0 : Math.abs(x - y);
      maxAbsDiff = maxAbsDiff === undefined || Number.isNaN(d) || d > maxAbsDiff ? d : maxAbsDiff;
    }
  }
  return {
    name, status: changedBytes === 0 ? 'identical' : 'changed', changedBytes, changedElements, elements,
    ...(changedBytes > 0 && maxAbsDiff !== undefined ? { maxAbsDiff } : {}),
  };
}

/** Every tensor of `next` (and those only in `prev`), compared with `prev` (null: all added). */
export function diffSafetensors(prev: SafetensorsFile | null, next: SafetensorsFile): TensorDiff[] {
  const out: TensorDiff[] = [];
  for (const [name, t] of next.tensors) {
    const old = prev?.tensors.get(name);
    const elements = t.data.byteLength / DTYPE_SIZES[t.dtype];
    out.push(old ? diffTensor(name, old, t) : { name, status: 'added', changedBytes: t.data.byteLength, changedElements: elements, elements });
  }
  for (const [name, t] of prev?.tensors ?? []) {
    if (!next.tensors.has(name)) {
      const elements = t.data.byteLength / DTYPE_SIZES[t.dtype];
      out.push({ name, status: 'removed', changedBytes: t.data.byteLength, changedElements: elements, elements });
    }
  }
  return out;
}

/** One line per tensor, e.g. "output_f32: changed 12/640 elements (48 bytes), max |diff| 3.1e-5". */
export function describeDiff(d: TensorDiff): string {
  if (d.status === 'identical') return `${d.name}: identical`;
  if (d.status !== 'changed') return `${d.name}: ${d.status} (${d.elements} elements)`;
  const max = d.maxAbsDiff === undefined ? '' : `, max |diff| ${d.maxAbsDiff.toPrecision(3)}`;
  return `${d.name}: changed ${d.changedElements}/${d.elements} elements (${d.changedBytes} bytes)${max}`;
}
