/**
 * ExpertBytes: one weight tensor of every local expert ([El, ...] bytes: FC1 or FC2 packed
 * e2m1 codes or block scales), stored per expert so no typed array ever reaches Node's
 * 4 GiB per-array limit (DeepSeek-V3's FC1 packed codes are 3.5 GiB; a 384-expert model's
 * would not fit one array).
 *
 * Layout: `chunks`, each a Uint8Array of at most `chunkBytes` (default 1 GiB, or
 * MOE_EXPERT_CHUNK_BYTES: defaultChunkBytes) holding
 * `expertsPerChunk` WHOLE experts back to back (the last chunk may hold fewer); expert l is
 * `chunks[floor(l / expertsPerChunk)]` at byte `(l % expertsPerChunk) · bytesPerExpert`.
 * An expert larger than `chunkBytes` gets a chunk of its own. `expert(l)` is a view (no
 * copy). The concatenation of the experts in order is the canonical contiguous tensor of
 * SPEC §1 (`toContiguous()`, for small tests and for code that needs one array).
 *
 * Memory: 'shared' chunks are SharedArrayBuffers (worker threads read and write them
 * without a copy: parallel generation, the reference's fast path); 'private' are plain.
 */
import { BadArgumentError } from './errors.js';
import { expertChunkBytesFrom } from './referenceEnvironment.js';

/** Largest chunk: 1 GiB (well under the 4 GiB per-array limit; a test may pass less). */
export const DEFAULT_CHUNK_BYTES = 1 << 30;

/**
 * The chunk limit used where none is passed: MOE_EXPERT_CHUNK_BYTES when set (tests lower it
 * so that small cases take the multi-chunk paths everywhere, child processes included), else
 * DEFAULT_CHUNK_BYTES.
 */
export function defaultChunkBytes(): number {
  return expertChunkBytesFrom() ?? DEFAULT_CHUNK_BYTES;
}

/** Node 20's per-typed-array limit (buffer.constants.MAX_LENGTH = 2^32 bytes); chunks stay below it. */
export const MAX_TYPED_ARRAY_BYTES = 2 ** 32;

export type ExpertMemory = 'shared' | 'private';

export interface ExpertLayoutOptions {
  /** Most bytes per chunk (default defaultChunkBytes()); whole experts only. */
  readonly chunkBytes?: number;
  /** 'private' (default) or 'shared' (SharedArrayBuffer chunks). */
  readonly memory?: ExpertMemory;
}

function checkChunkBytes(chunkBytes: number): void {
  if (!Number.isSafeInteger(chunkBytes) || chunkBytes < 1 || chunkBytes > MAX_TYPED_ARRAY_BYTES - 1) {
    throw new BadArgumentError('chunkBytes', `an integer in [1, ${MAX_TYPED_ARRAY_BYTES - 1}]`, String(chunkBytes));
  }
}

function checkShape(count: number, bytesPerExpert: number): void {
  if (!Number.isSafeInteger(count) || count < 0) throw new BadArgumentError('count', 'a non-negative integer (experts)', String(count));
  if (!Number.isSafeInteger(bytesPerExpert) || bytesPerExpert < 0 || bytesPerExpert >= MAX_TYPED_ARRAY_BYTES) {
    throw new BadArgumentError('bytesPerExpert', `an integer in [0, ${MAX_TYPED_ARRAY_BYTES - 1}]`, String(bytesPerExpert));
  }
}

/** Experts per chunk for a layout (at least 1). */
export function expertsPerChunkFor(count: number, bytesPerExpert: number, chunkBytes: number = defaultChunkBytes()): number {
  checkChunkBytes(chunkBytes);
  if (bytesPerExpert === 0) return Math.max(1, count);
  return Math.max(1, Math.min(Math.max(1, count), Math.floor(chunkBytes / bytesPerExpert)));
}

export class ExpertBytes implements Iterable<Uint8Array> {
  readonly count: number;
  readonly bytesPerExpert: number;
  readonly expertsPerChunk: number;
  readonly chunks: readonly Uint8Array[];
  private readonly views: Uint8Array[];

  /** Wrap existing chunks (checked: whole experts, sizes consistent). Prefer the factories. */
  constructor(count: number, bytesPerExpert: number, expertsPerChunk: number, chunks: readonly Uint8Array[]) {
    checkShape(count, bytesPerExpert);
    if (!Number.isSafeInteger(expertsPerChunk) || expertsPerChunk < 1) {
      throw new BadArgumentError('expertsPerChunk', 'a positive integer', String(expertsPerChunk));
    }
    const want = count === 0 ? 0 : Math.ceil(count / expertsPerChunk);
    if (!Array.isArray(chunks) || chunks.length !== want) {
      throw new BadArgumentError('chunks', `${want} chunk(s) for ${count} experts at ${expertsPerChunk} per chunk`, Array.isArray(chunks) ? `${chunks.length}` : typeof chunks);
    }
    this.views = [];
    for (let c = 0; c < chunks.length; c++) {
      const chunk = chunks[c];
      const n = Math.min(expertsPerChunk, count - c * expertsPerChunk);
      if (!(chunk instanceof Uint8Array) || chunk.length !== n * bytesPerExpert) {
        throw new BadArgumentError(`chunks[${c}]`, `a Uint8Array of ${n * bytesPerExpert} bytes (${n} experts × ${bytesPerExpert})`,
          chunk instanceof Uint8Array ? `${chunk.length} bytes` : typeof chunk);
      }
      for (let i = 0; i < n; i++) this.views.push(chunk.subarray(i * bytesPerExpert, (i + 1) * bytesPerExpert));
    }
    this.count = count;
    this.bytesPerExpert = bytesPerExpert;
    this.expertsPerChunk = expertsPerChunk;
    this.chunks = chunks.slice();
  }

  /** Zero-filled storage for `count` experts of `bytesPerExpert` bytes. */
  static allocate(count: number, bytesPerExpert: number, opts: ExpertLayoutOptions = {}): ExpertBytes {
    checkShape(count, bytesPerExpert);
    const per = expertsPerChunkFor(count, bytesPerExpert, opts.chunkBytes ?? defaultChunkBytes());
    const memory = opts.memory ?? 'private';
    if (memory !== 'private' && memory !== 'shared') throw new BadArgumentError('memory', "'private' or 'shared'", String(memory));
    const chunks: Uint8Array[] = [];
    for (let e = 0; e < count; e += per) {
      const bytes = Math.min(per, count - e) * bytesPerExpert;
      chunks.push(memory === 'shared' ? new Uint8Array(new SharedArrayBuffer(bytes)) : new Uint8Array(bytes));
    }
    return new ExpertBytes(count, bytesPerExpert, per, chunks);
  }

  /**
   * The experts of one contiguous [count, ...] array, as views of it (no copy) split into
   * chunks of at most `chunkBytes`. Refuses a length that is not a multiple of `count`.
   */
  static fromContiguous(bytes: Uint8Array, count: number, opts: { readonly chunkBytes?: number } = {}): ExpertBytes {
    if (!(bytes instanceof Uint8Array)) throw new BadArgumentError('bytes', 'a Uint8Array', typeof bytes);
    if (!Number.isSafeInteger(count) || count < 1 || bytes.length % count !== 0) {
      throw new BadArgumentError('count', `a positive divisor of the byte length ${bytes.length}`, String(count));
    }
    const bytesPerExpert = bytes.length / count;
    const per = expertsPerChunkFor(count, bytesPerExpert, opts.chunkBytes ?? defaultChunkBytes());
    const chunks: Uint8Array[] = [];
    for (let e = 0; e < count; e += per) chunks.push(bytes.subarray(e * bytesPerExpert, Math.min(count, e + per) * bytesPerExpert));
    return new ExpertBytes(count, bytesPerExpert, per, chunks);
  }

  /** A copy of per-expert arrays (each `bytesPerExpert` long) in a fresh layout. */
  static fromExperts(experts: readonly Uint8Array[], opts: ExpertLayoutOptions = {}): ExpertBytes {
    if (experts.length === 0) throw new BadArgumentError('experts', 'at least one expert', '0');
    const out = ExpertBytes.allocate(experts.length, experts[0]!.length, opts);
    experts.forEach((x, l) => {
      if (x.length !== out.bytesPerExpert) throw new BadArgumentError(`experts[${l}]`, `${out.bytesPerExpert} bytes`, `${x.length}`);
      out.expert(l).set(x);
    });
    return out;
  }

  /** Total bytes (count · bytesPerExpert; may exceed 4 GiB). */
  get byteLength(): number {
    return this.count * this.bytesPerExpert;
  }

  /** Whether every chunk is a SharedArrayBuffer view (workers can read it without a copy). */
  get shared(): boolean {
    return this.chunks.every((c) => c.buffer instanceof SharedArrayBuffer);
  }

  /** Expert l's bytes: a view into its chunk. */
  expert(l: number): Uint8Array {
    const v = this.views[l];
    if (v === undefined) throw new BadArgumentError('l', `an expert index in [0, ${this.count - 1}]`, String(l));
    return v;
  }

  /** Every expert's view, in order. */
  experts(): readonly Uint8Array[] {
    return this.views;
  }

  [Symbol.iterator](): Iterator<Uint8Array> {
    return this.views[Symbol.iterator]();
  }

  /** Byte i of the canonical contiguous tensor. */
  at(i: number): number {
    const l = Math.floor(i / this.bytesPerExpert);
    return this.expert(l)[i - l * this.bytesPerExpert]!;
  }

  /** Set byte i of the canonical contiguous tensor. */
  setAt(i: number, value: number): void {
    const l = Math.floor(i / this.bytesPerExpert);
    this.expert(l)[i - l * this.bytesPerExpert] = value;
  }

  /**
   * Bytes [begin, end) of the canonical contiguous tensor as views (no copy), one per expert
   * touched, in order.
   */
  ranges(begin = 0, end = this.byteLength): Uint8Array[] {
    if (!Number.isSafeInteger(begin) || !Number.isSafeInteger(end) || begin < 0 || end > this.byteLength || begin > end) {
      throw new BadArgumentError('range', `0 ≤ begin ≤ end ≤ ${this.byteLength}`, `[${begin}, ${end})`);
    }
    const out: Uint8Array[] = [];
    const b = this.bytesPerExpert;
    for (let i = begin; i < end;) {
      const l = Math.floor(i / b);
      const off = i - l * b;
      const n = Math.min(b - off, end - i);
      out.push(this.views[l]!.subarray(off, off + n));
      i += n;
    }
    return out;
  }

  /** The canonical contiguous tensor in one new array (refused at or above 4 GiB). */
  toContiguous(): Uint8Array {
    if (this.byteLength >= MAX_TYPED_ARRAY_BYTES) {
      throw new BadArgumentError('ExpertBytes.toContiguous', `fewer than ${MAX_TYPED_ARRAY_BYTES} bytes (one typed array)`,
        `${this.byteLength} bytes`, 'read expert(l) or chunks instead');
    }
    const out = new Uint8Array(this.byteLength);
    let o = 0;
    for (const c of this.chunks) {
      out.set(c, o);
      o += c.length;
    }
    return out;
  }

  /** A copy with the same bytes in another layout (chunk size or memory). */
  relayout(opts: ExpertLayoutOptions = {}): ExpertBytes {
    const out = ExpertBytes.allocate(this.count, this.bytesPerExpert, opts);
    for (let l = 0; l < this.count; l++) out.expert(l).set(this.views[l]!);
    return out;
  }

  /** Whether both hold the same bytes in the same order (any layouts). */
  equals(other: ExpertBytes): boolean {
    if (other.count !== this.count || other.bytesPerExpert !== this.bytesPerExpert) return false;
    for (let l = 0; l < this.count; l++) {
      const a = this.views[l]!;
      const b = other.views[l]!;
      if (Buffer.compare(Buffer.from(a.buffer, a.byteOffset, a.length), Buffer.from(b.buffer, b.byteOffset, b.length)) !== 0) return false;
    }
    return true;
  }
}
