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

/** One element whose bytes differ between a stored and a recomputed tensor. */
export interface ElementDifference {
  readonly tensor: string;
  /** Flat element index (-1: the tensor is absent or reshaped on one side). */
  readonly index: number;
  /** Row (first dimension) of the element. */
  readonly row: number;
  readonly stored: string;
  readonly recomputed: string;
}

const describeElement = (t: Tensor, i: number): string => {
  const v = numberAt(t, i, new DataView(t.data.buffer, t.data.byteOffset, t.data.byteLength));
  const size = DTYPE_SIZES[t.dtype];
  const hex = Array.from(t.data.subarray(i * size, (i + 1) * size)).reverse().map((b) => b.toString(16).padStart(2, '0')).join('');
  return `${v ?? '?'} (0x${hex})`;
};

/**
 * Bit-for-bit comparison of every tensor of `stored` with `recomputed`: the first
 * `limit` differing elements (both files' tensor sets must match too).
 */
export function bitDifferences(stored: SafetensorsFile, recomputed: SafetensorsFile, limit = 10): ElementDifference[] {
  const out: ElementDifference[] = [];
  const names = new Set([...stored.tensors.keys(), ...recomputed.tensors.keys()]);
  for (const name of names) {
    const a = stored.tensors.get(name);
    const b = recomputed.tensors.get(name);
    if (!a || !b || diffTensor(name, a, b).status === 'reshaped') {
      const shape = (t: Tensor | undefined): string => (t ? `${t.dtype}[${t.shape.join(', ')}]` : 'absent');
      out.push({ tensor: name, index: -1, row: -1, stored: shape(a), recomputed: shape(b) });
      continue;
    }
    const size = DTYPE_SIZES[a.dtype];
    const n = a.data.byteLength / size;
    const rowLen = a.shape.slice(1).reduce((x, y) => x * y, 1);
    for (let i = 0; i < n && out.length < limit; i++) {
      let differs = false;
      for (let j = 0; j < size; j++) if (a.data[i * size + j] !== b.data[i * size + j]) differs = true;
      if (differs) out.push({ tensor: name, index: i, row: Math.floor(i / rowLen), stored: describeElement(a, i), recomputed: describeElement(b, i) });
    }
  }
  return out.slice(0, limit);
}

/** "case c: tensor output element 17 (row 0): stored …, recomputed …". */
export function describeElementDifference(caseName: string, d: ElementDifference): string {
  if (d.index < 0) return `case ${caseName}: tensor ${d.tensor}: stored ${d.stored}, recomputed ${d.recomputed}`;
  return `case ${caseName}: tensor ${d.tensor} element ${d.index} (row ${d.row}): stored ${d.stored}, recomputed ${d.recomputed}`;
}
