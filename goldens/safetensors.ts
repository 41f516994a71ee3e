/**
 * A small, strict reader and writer of the safetensors format (the one Hugging Face's
 * `safetensors` package and `torch` read):
 *
 *   [8 bytes: N, unsigned little-endian] [N bytes: UTF-8 JSON header] [data buffer]
 *
 * The header is a JSON object mapping each tensor name to `{dtype, shape, data_offsets}`
 * (offsets relative to the start of the data buffer, `[begin, end)`), plus an optional
 * `__metadata__` object whose values are all strings. Rules enforced on reading, as the
 * reference implementation does: the header starts with `{`, is at most 100 MB, is valid
 * UTF-8 JSON; every dtype is known; `end - begin` equals the element count times the
 * dtype size; the tensors, ordered by offset, tile the data buffer exactly (no gap, no
 * overlap, nothing after the last one). The writer orders tensors by dtype size (largest
 * first) then name, so every tensor starts aligned to its element size, and pads the
 * header with spaces to a multiple of 8 bytes.
 *
 * Data are raw little-endian bytes; `tensorOf` and the `as*` views convert to and from
 * typed arrays (always copies, so the result never aliases a file buffer).
 */
import { endianness } from 'node:os';
import { BadArgumentError } from '../reference/errors.js';

/** safetensors dtype names and their element sizes in bytes. */
export const DTYPE_SIZES = {
  BOOL: 1, U8: 1, I8: 1, F8_E4M3: 1, F8_E5M2: 1, F8_E8M0: 1,
  U16: 2, I16: 2, F16: 2, BF16: 2,
  U32: 4, I32: 4, F32: 4,
  U64: 8, I64: 8, F64: 8,
} as const;
export type Dtype = keyof typeof DTYPE_SIZES;

/** Largest header accepted (the reference implementation's limit). */
const MAX_HEADER_BYTES = 100_000_000;

export interface Tensor {
  readonly dtype: Dtype;
  /** Row-major (C order) dimensions; [] is a scalar (one element). */
  readonly shape: readonly number[];
  /** Raw little-endian element bytes, `numel(shape) · DTYPE_SIZES[dtype]` long. */
  readonly data: Uint8Array;
}

export interface SafetensorsFile {
  /** Tensors in header (= offset) order. */
  readonly tensors: ReadonlyMap<string, Tensor>;
  readonly metadata: Readonly<Record<string, string>>;
}

const METADATA_KEY = '__metadata__';

if (endianness() !== 'LE') {
  throw new BadArgumentError('platform endianness', 'little-endian (safetensors data are little-endian)', endianness());
}

function isDtype(s: unknown): s is Dtype {
  return typeof s === 'string' && Object.prototype.hasOwnProperty.call(DTYPE_SIZES, s);
}

/** Number of elements of a shape ([] → 1). */
export function numel(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

function checkShape(shape: unknown, argument: string): asserts shape is number[] {
  if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
    throw new BadArgumentError(argument, 'an array of non-negative integers', JSON.stringify(shape));
  }
}

/** A tensor from a typed array (its bytes are copied). The element count must match the shape. */
export function tensorOf(dtype: Dtype, shape: readonly number[], values: ArrayBufferView): Tensor {
  checkShape(shape, `shape of ${dtype} tensor`);
  const bytes = numel(shape) * DTYPE_SIZES[dtype];
  if (values.byteLength !== bytes) {
    throw new BadArgumentError('values', `${bytes} bytes for ${dtype}[${shape.join(', ')}]`, `${values.byteLength} bytes`);
  }
  return { dtype, shape: [...shape], data: new Uint8Array(values.buffer, values.byteOffset, values.byteLength).slice() };
}

function view<T>(t: Tensor, dtypes: readonly Dtype[], name: string, make: (b: ArrayBuffer) => T): T {
  if (!dtypes.includes(t.dtype)) {
    throw new BadArgumentError(`dtype of ${name}`, dtypes.join(' or '), t.dtype);
  }
  return make(new Uint8Array(t.data).buffer); // a fresh, exact-length copy (t.data may be a Buffer view)
}

export const asFloat32 = (t: Tensor, name = 'tensor'): Float32Array => view(t, ['F32'], name, (b) => new Float32Array(b));
export const asInt32 = (t: Tensor, name = 'tensor'): Int32Array => view(t, ['I32'], name, (b) => new Int32Array(b));
/** bf16 (or f16/u16) bits. */
export const asUint16 = (t: Tensor, name = 'tensor'): Uint16Array =>
  view(t, ['BF16', 'F16', 'U16'], name, (b) => new Uint16Array(b));
/** Any one-byte dtype as raw bytes (U8, F8_E4M3, F8_E8M0, …). */
export const asUint8 = (t: Tensor, name = 'tensor'): Uint8Array =>
  view(t, ['U8', 'I8', 'BOOL', 'F8_E4M3', 'F8_E5M2', 'F8_E8M0'], name, (b) => new Uint8Array(b));

/** What the header says of one tensor: name, dtype, shape and its byte count. */
export interface TensorEntry {
  readonly name: string;
  readonly dtype: Dtype;
  readonly shape: readonly number[];
  readonly byteLength: number;
}

/**
 * The first bytes of a .safetensors file (length field and padded JSON header) for these
 * tensors, checked, and the order their data follow in (dtype size, largest first, then
 * name). writeSafetensors and the streaming writer (harness/kernels/largeFiles.ts) share it.
 */
export function encodeSafetensorsHeader(
  tensors: readonly TensorEntry[], metadata: Readonly<Record<string, string>> = {},
): { prefix: Uint8Array; order: TensorEntry[]; dataBytes: number } {
  for (const t of tensors) {
    const name = t.name;
    if (name === METADATA_KEY || name.length === 0) throw new BadArgumentError('tensor name', `a non-empty name other than ${METADATA_KEY}`, JSON.stringify(name));
    if (!isDtype(t.dtype)) throw new BadArgumentError(`dtype of ${name}`, 'a safetensors dtype', String(t.dtype));
    checkShape(t.shape, `shape of ${name}`);
    const want = numel(t.shape) * DTYPE_SIZES[t.dtype];
    if (t.byteLength !== want) throw new BadArgumentError(`data of ${name}`, `${want} bytes`, `${t.byteLength} bytes`);
  }
  for (const [k, v] of Object.entries(metadata)) {
    if (typeof v !== 'string') throw new BadArgumentError(`metadata ${k}`, 'a string', typeof v);
  }
  const order = [...tensors].sort((a, b) => DTYPE_SIZES[b.dtype] - DTYPE_SIZES[a.dtype] || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));

  const header = Object.create(null) as Record<string, unknown>; // no prototype: a tensor may be named __proto__
  if (Object.keys(metadata).length > 0) {
    const meta = Object.create(null) as Record<string, string>;
    for (const k of Object.keys(metadata).sort()) meta[k] = metadata[k]!;
    header[METADATA_KEY] = meta;
  }
  let offset = 0;
  for (const t of order) {
    header[t.name] = { dtype: t.dtype, shape: [...t.shape], data_offsets: [offset, offset + t.byteLength] };
    offset += t.byteLength;
  }
  let json = Buffer.from(JSON.stringify(header), 'utf8');
  const padded = Math.ceil(json.length / 8) * 8;
  if (padded !== json.length) json = Buffer.concat([json, Buffer.alloc(padded - json.length, 0x20)]);
  const prefix = new Uint8Array(8 + json.length);
  new DataView(prefix.buffer).setBigUint64(0, BigInt(json.length), true);
  prefix.set(json, 8);
  return { prefix, order, dataBytes: offset };
}

/** Serialize tensors (and optional string metadata) to the bytes of a .safetensors file. */
export function writeSafetensors(
  tensors: Readonly<Record<string, Tensor>> | ReadonlyMap<string, Tensor>,
  metadata: Readonly<Record<string, string>> = {},
): Uint8Array {
  const entries: Array<[string, Tensor]> = tensors instanceof Map
    ? [...(tensors as ReadonlyMap<string, Tensor>).entries()]
    : Object.entries(tensors as Record<string, Tensor>);
  const byName = new Map(entries);
  const { prefix, order, dataBytes } = encodeSafetensorsHeader(
    entries.map(([name, t]) => ({ name, dtype: t.dtype, shape: t.shape, byteLength: t.data?.byteLength ?? -1 })), metadata);
  const out = new Uint8Array(prefix.length + dataBytes);
  out.set(prefix, 0);
  let at = prefix.length;
  for (const e of order) {
    const data = byName.get(e.name)!.data;
    out.set(data, at);
    at += data.byteLength;
  }
  return out;
}

/** One tensor of a parsed header: where its data lie, relative to the data buffer. */
export interface HeaderEntry {
  readonly name: string;
  readonly dtype: Dtype;
  readonly shape: number[];
  readonly begin: number;
  readonly end: number;
}

/**
 * Parse and check the header of a .safetensors file of `fileBytes` bytes, from its first
 * bytes `head` (at least the length field and the header; the whole file will do): every
 * rule of the format, the tensors tiling the `fileBytes - dataStart` data bytes. Entries in
 * offset order. readSafetensors and the streaming reader (harness/kernels/largeFiles.ts)
 * share it.
 */
export function decodeSafetensorsHeader(head: Uint8Array, fileBytes: number, source = 'safetensors'): {
  entries: HeaderEntry[]; metadata: Record<string, string>; dataStart: number;
} {
  const bytes = head;
  const bad = (what: string, expected: string, actual: string): never => {
    throw new BadArgumentError(`${source}: ${what}`, expected, actual);
  };
  if (fileBytes < 8 || bytes.byteLength < 8) bad('file size', 'at least 8 bytes (the header length)', `${fileBytes} bytes`);
  const n = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getBigUint64(0, true);
  if (n > BigInt(MAX_HEADER_BYTES)) bad('header length', `at most ${MAX_HEADER_BYTES}`, String(n));
  const headerLen = Number(n);
  if (8 + headerLen > fileBytes) {
    bad('header length', `at most ${fileBytes - 8} (the bytes after the length field)`, String(headerLen));
  }
  if (8 + headerLen > bytes.byteLength) {
    bad('header bytes read', `at least ${8 + headerLen}`, String(bytes.byteLength));
  }
  const headerBytes = bytes.subarray(8, 8 + headerLen);
  if (headerLen === 0 || headerBytes[0] !== 0x7b) {
    bad('header start', "'{'", headerLen === 0 ? 'an empty header' : `byte 0x${headerBytes[0]!.toString(16)}`);
  }
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(headerBytes);
  } catch {
    return bad('header', 'valid UTF-8', 'invalid byte sequence');
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (e) {
    return bad('header', 'valid JSON', (e as Error).message);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) bad('header', 'a JSON object', typeof parsed);
  const obj = parsed as Record<string, unknown>;

  const metadata = Object.create(null) as Record<string, string>;
  const meta = obj[METADATA_KEY];
  if (meta !== undefined) {
    if (typeof meta !== 'object' || meta === null || Array.isArray(meta)) bad(METADATA_KEY, 'an object of strings', JSON.stringify(meta));
    for (const [k, v] of Object.entries(meta as Record<string, unknown>)) {
      if (typeof v !== 'string') bad(`${METADATA_KEY}.${k}`, 'a string', JSON.stringify(v));
      metadata[k] = v as string;
    }
  }

  const dataStart = 8 + headerLen;
  const dataLen = fileBytes - dataStart;
  const infos: HeaderEntry[] = [];
  for (const [name, info] of Object.entries(obj)) {
    if (name === METADATA_KEY) continue;
    if (typeof info !== 'object' || info === null || Array.isArray(info)) bad(`entry ${JSON.stringify(name)}`, 'an object', JSON.stringify(info));
    const { dtype, shape, data_offsets: offs } = info as Record<string, unknown>;
    if (!isDtype(dtype)) bad(`dtype of ${JSON.stringify(name)}`, `one of ${Object.keys(DTYPE_SIZES).join(', ')}`, JSON.stringify(dtype));
    checkShape(shape, `${source}: shape of ${JSON.stringify(name)}`);
    if (!Array.isArray(offs) || offs.length !== 2 || !offs.every((o) => Number.isSafeInteger(o) && o >= 0) || offs[0] > offs[1]) {
      bad(`data_offsets of ${JSON.stringify(name)}`, '[begin, end] integers with 0 <= begin <= end', JSON.stringify(offs));
    }
    const [begin, end] = offs as [number, number];
    const want = numel(shape) * DTYPE_SIZES[dtype as Dtype];
    if (end - begin !== want) {
      bad(`data_offsets of ${JSON.stringify(name)}`, `${want} bytes for ${dtype}[${shape.join(', ')}]`, `${end - begin} bytes`);
    }
    infos.push({ name, dtype: dtype as Dtype, shape, begin, end });
  }
  infos.sort((a, b) => a.begin - b.begin || a.end - b.end);
  let cursor = 0;
  for (const t of infos) {
    if (t.begin !== cursor) {
      bad(`data_offsets of ${JSON.stringify(t.name)}`, `begin ${cursor} (tensors must tile the data buffer without gaps or overlaps)`, String(t.begin));
    }
    cursor = t.end;
  }
  if (cursor !== dataLen) bad('data buffer', `${cursor} bytes (as the header's offsets cover)`, `${dataLen} bytes`);

  return { entries: infos, metadata, dataStart };
}

/**
 * Parse the bytes of a .safetensors file, checking every rule of the format.
 * `source` (a file name) prefixes every error message.
 */
export function readSafetensors(bytes: Uint8Array, source = 'safetensors'): SafetensorsFile {
  const { entries, metadata, dataStart } = decodeSafetensorsHeader(bytes, bytes.byteLength, source);
  const tensors = new Map<string, Tensor>();
  for (const t of entries) {
    // new Uint8Array(view) copies: Buffer.slice would alias the file buffer.
    tensors.set(t.name, { dtype: t.dtype, shape: t.shape, data: new Uint8Array(bytes.subarray(dataStart + t.begin, dataStart + t.end)) });
  }
  return { tensors, metadata };
}
