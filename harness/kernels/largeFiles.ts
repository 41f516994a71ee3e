/**
 * Large files without readFileSync's 2 GiB limit nor any array at Node's 4 GiB limit (a
 * case's inputs file for a full-size configuration holds more than 5 GiB): chunked whole-file
 * reads and hashes, and safetensors files written and read tensor part by tensor part:
 *
 * - writeSafetensorsFile: the same bytes as goldens/safetensors.ts writeSafetensors (one
 *   header encoder), written part by part (a weight tensor's parts are its per-expert
 *   chunks, reference/expertBytes.ts), hashed while written;
 * - readSafetensorsFile: the header checked by the same decoder, every tensor read straight
 *   into its own memory; a tensor over `chunkBytes` comes as a ChunkedTensor whose parts hold
 *   whole rows of its first dimension (whole experts for a weight tensor), so
 *   goldens/caseTensors.ts tensorsToCase takes them as the case's storage without a copy.
 */
import { createHash } from 'node:crypto';
import { closeSync, fstatSync, openSync, readSync, writeSync } from 'node:fs';
import type { ChunkedTensor } from '../../goldens/caseTensors.js';
import { decodeSafetensorsHeader, encodeSafetensorsHeader, type Tensor } from '../../goldens/safetensors.js';
import { BadArgumentError } from '../../reference/errors.js';
import { defaultChunkBytes } from '../../reference/expertBytes.js';

const CHUNK = 1 << 28; // 256 MiB per read(2)

/** The whole file in one buffer (up to the platform's largest buffer, 4 GiB on 64-bit Node 20+). */
export function readWholeFile(path: string): Uint8Array {
  const fd = openSync(path, 'r');
  try {
    const size = fstatSync(fd).size;
    const out = Buffer.allocUnsafe(size);
    for (let off = 0; off < size;) {
      const n = readSync(fd, out, off, Math.min(CHUNK, size - off), off);
      if (n === 0) throw new Error(`${path}: file shrank while read (${off} of ${size} bytes)`);
      off += n;
    }
    return out;
  } finally {
    closeSync(fd);
  }
}

/** sha256 of a file (first 16 hex digits), read in chunks. */
export function hashFile(path: string): string {
  const fd = openSync(path, 'r');
  try {
    const h = createHash('sha256');
    const buf = Buffer.allocUnsafe(1 << 24);
    for (let off = 0; ;) {
      const n = readSync(fd, buf, 0, buf.length, off);
      if (n === 0) break;
      h.update(buf.subarray(0, n));
      off += n;
    }
    return h.digest('hex').slice(0, 16);
  } finally {
    closeSync(fd);
  }
}

/** Write all of `bytes` at file offset `at` (writeSync may write less than asked). */
function writeAll(fd: number, bytes: Uint8Array, at: number, path: string): void {
  for (let off = 0; off < bytes.length;) {
    const n = writeSync(fd, bytes, off, Math.min(CHUNK, bytes.length - off), at + off);
    if (n <= 0) throw new Error(`${path}: write returned ${n} at byte ${at + off}`);
    off += n;
  }
}

/** Read exactly `into.length` bytes at file offset `at`. */
function readAll(fd: number, into: Uint8Array, at: number, path: string): void {
  for (let off = 0; off < into.length;) {
    const n = readSync(fd, into, off, Math.min(CHUNK, into.length - off), at + off);
    if (n === 0) throw new Error(`${path}: file shorter than its header says (${at + off} bytes read)`);
    off += n;
  }
}

/**
 * Write tensors given as byte parts to a .safetensors file at `path` (created or truncated):
 * exactly writeSafetensors' bytes, however large. Returns the file's sha256 (first 16 hex
 * digits, as hashFile), computed while writing.
 */
export function writeSafetensorsFile(path: string, tensors: Readonly<Record<string, ChunkedTensor>>, metadata: Readonly<Record<string, string>> = {}): string {
  const entries = Object.entries(tensors).map(([name, t]) => {
    if (!Array.isArray(t.parts) || !t.parts.every((x) => x instanceof Uint8Array)) {
      throw new BadArgumentError(`parts of ${name}`, 'an array of Uint8Array', typeof t.parts);
    }
    return { name, dtype: t.dtype, shape: t.shape, byteLength: t.parts.reduce((a, b) => a + b.length, 0) };
  });
  const { prefix, order } = encodeSafetensorsHeader(entries, metadata);
  const h = createHash('sha256');
  const fd = openSync(path, 'w');
  try {
    writeAll(fd, prefix, 0, path);
    h.update(prefix);
    let at = prefix.length;
    for (const e of order) {
      for (const part of tensors[e.name]!.parts) {
        writeAll(fd, part, at, path);
        h.update(part);
        at += part.length;
      }
    }
  } finally {
    closeSync(fd);
  }
  return h.digest('hex').slice(0, 16);
}

/**
 * Read a .safetensors file of any size, checking the format as readSafetensors does. A
 * tensor of at most `chunkBytes` bytes is one Tensor; a larger one a ChunkedTensor whose
 * parts each hold as many whole rows of its first dimension as fit in `chunkBytes` (at least
 * one row; a row itself must stay under 4 GiB).
 */
export function readSafetensorsFile(path: string, opts: { readonly chunkBytes?: number } = {}): {
  tensors: Map<string, Tensor | ChunkedTensor>; metadata: Record<string, string>;
} {
  const chunkBytes = opts.chunkBytes ?? defaultChunkBytes();
  if (!Number.isSafeInteger(chunkBytes) || chunkBytes < 1 || chunkBytes >= 2 ** 32) {
    throw new BadArgumentError('chunkBytes', 'an integer in [1, 2^32 - 1]', String(opts.chunkBytes));
  }
  const fd = openSync(path, 'r');
  try {
    const size = fstatSync(fd).size;
    if (size < 8) decodeSafetensorsHeader(new Uint8Array(0), size, path); // refuses it, naming the size
    const lengthField = new Uint8Array(8);
    readAll(fd, lengthField, 0, path);
    const headerLen = new DataView(lengthField.buffer).getBigUint64(0, true);
    // The decoder refuses an oversized (> 100 MB) or truncated header: read no more than the
    // file has, nor an oversized header at all.
    const readable = BigInt(Math.max(0, size - 8));
    const head = new Uint8Array(8 + Number(headerLen > 100_000_000n ? 0n : headerLen < readable ? headerLen : readable));
    readAll(fd, head, 0, path);
    const { entries, metadata, dataStart } = decodeSafetensorsHeader(head, size, path);
    const tensors = new Map<string, Tensor | ChunkedTensor>();
    for (const e of entries) {
      const bytes = e.end - e.begin;
      if (bytes <= chunkBytes) {
        const data = new Uint8Array(bytes);
        readAll(fd, data, dataStart + e.begin, path);
        tensors.set(e.name, { dtype: e.dtype, shape: e.shape, data });
        continue;
      }
      const rows = e.shape[0] ?? 1;
      const rowBytes = rows === 0 ? bytes : bytes / rows;
      if (rowBytes >= 2 ** 32) throw new BadArgumentError(`${path}: tensor ${e.name}`, 'rows of its first dimension under 4 GiB', `${rowBytes} bytes per row`);
      const rowsPerPart = Math.max(1, Math.floor(chunkBytes / rowBytes));
      const parts: Uint8Array[] = [];
      for (let r = 0; r < rows; r += rowsPerPart) {
        const part = new Uint8Array(Math.min(rowsPerPart, rows - r) * rowBytes);
        readAll(fd, part, dataStart + e.begin + r * rowBytes, path);
        parts.push(part);
      }
      tensors.set(e.name, { dtype: e.dtype, shape: e.shape, parts });
    }
    return { tensors, metadata };
  } finally {
    closeSync(fd);
  }
}
