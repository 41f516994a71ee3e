/**
 * How a tactic's outcome crosses from the child process (child.ts) to the campaign
 * (childRunner.ts) without squeezing its runs' arrays through the IPC pipe.
 *
 * Node's 'advanced' IPC serialization moves typed arrays at a few tens of MB/s (measured on
 * an H100 host: 3.46 GiB of DeepSeek-V3 outcomes at T = 4096 took 92.5 s, 37 MB/s). An
 * outcome whose runs carry at least `inlineBytes` (default 1 MiB) of arrays is instead
 * written by the child into ONE file in its outcome folder on shared memory (/dev/shm when
 * it is a writable folder with 1 GiB free, else the temp folder), and only the descriptors (file, byte
 * offsets, element counts, dtypes) travel in the `tactic_done` message. The campaign reads
 * the file once into one buffer, makes typed-array views on it (no per-element copy) and
 * unlinks it. Smaller outcomes (and every crashed or refused one) stay inline. The child does
 * not wait for the campaign to read (an IPC send of 100 MiB waited for the campaign's event
 * loop, busy judging the previous tactic). The phase time `traffic` of a filed outcome is the
 * child's write plus the campaign's read; of an inline one, its send to its deserialization.
 *
 * Nothing is lost or half-read:
 *   - the child writes `outcome-N.tmp`, renames it to `outcome-N.bin` (atomic on one file
 *     system), and only then sends the message; a child killed mid-write leaves a .tmp that
 *     no message names;
 *   - the campaign checks the file's size against the message, each array's dtype against its
 *     field, its bounds and alignment; a mismatch becomes a crashed outcome saying so (the
 *     tactic is never silently dropped nor judged on partial data);
 *   - the outcome folder (`moe-harness-outcomes-<campaign pid>-<child pid>`) is removed by the
 *     campaign once the child has exited (after its last message is read), by an exit hook
 *     of the campaign for children still alive, and the child removes its own .tmp files when
 *     it exits; a folder whose campaign process is gone (killed with SIGKILL) is swept when
 *     the next child starts.
 */
import { closeSync, fstatSync, ftruncateSync, mkdirSync, openSync, readdirSync, readSync, renameSync, rmSync, unlinkSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import type { TacticOutcome } from './caseRunner.js';
import { sharedMemoryDir } from './sharedMemoryDir.js';
import type { Observed } from './kernels/provider.js';

/** Outcomes whose arrays total fewer bytes than this stay inline in the IPC message. */
export const DEFAULT_INLINE_BYTES = 1 << 20;

/** Folder names: `${OUTCOME_DIR_PREFIX}<campaign pid>-<child pid>`. */
export const OUTCOME_DIR_PREFIX = 'moe-harness-outcomes-';

/** The element types an outcome file holds, keyed by name. */
const DTYPES = {
  uint16: { bytes: 2, view: (b: ArrayBuffer, offset: number, length: number) => new Uint16Array(b, offset, length) },
  int32: { bytes: 4, view: (b: ArrayBuffer, offset: number, length: number) => new Int32Array(b, offset, length) },
  float32: { bytes: 4, view: (b: ArrayBuffer, offset: number, length: number) => new Float32Array(b, offset, length) },
} as const;
export type TransferDtype = keyof typeof DTYPES;

/** The arrays of one run and the dtype each must have (provider.ts: Observed). */
const FIELDS = { output: 'uint16', ids: 'int32', weights: 'float32' } as const satisfies Record<string, TransferDtype>;
type ArrayField = keyof typeof FIELDS;
const FIELD_NAMES = Object.keys(FIELDS) as ArrayField[];

/** Where one array lies in an outcome file: byte offset (8-aligned), element count, dtype. */
export interface ArraySlot {
  readonly dtype: TransferDtype;
  readonly offset: number;
  readonly length: number;
}

/** A run whose arrays are in the outcome file. */
export type FiledRun = Omit<Observed, ArrayField> & { readonly [F in ArrayField]: ArraySlot };

type RanOutcome = Extract<TacticOutcome, { kind: 'ran' }>;

/** The outcome as `tactic_done` carries it (childProtocol.ts). */
export type OutcomeTransfer =
  | { readonly mode: 'inline'; readonly outcome: TacticOutcome }
  | {
    readonly mode: 'file';
    /** The outcome file (absolute) and its exact size in bytes. */
    readonly path: string;
    readonly byteLength: number;
    readonly outcome: Omit<RanOutcome, 'runs'> & { readonly runs: readonly FiledRun[] };
  };

/** Thrown by receiveOutcome when a file does not match its descriptors. */
export class OutcomeTransferError extends Error {
  override readonly name = 'OutcomeTransferError';
}

/** Where outcome folders go: sharedMemoryDir.ts (/dev/shm with room, else the temp folder). */
export const outcomeBaseDir = sharedMemoryDir;

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Remove outcome folders under `base` whose campaign process no longer exists (it was killed
 * before it could clean up). Returns the folders removed. A reused pid keeps a stale folder
 * until that process is gone too.
 */
export function sweepStaleOutcomeDirs(base = outcomeBaseDir()): string[] {
  const removed: string[] = [];
  let names: string[];
  try {
    names = readdirSync(base);
  } catch {
    return removed;
  }
  for (const name of names) {
    if (!name.startsWith(OUTCOME_DIR_PREFIX)) continue;
    const owner = Number(name.slice(OUTCOME_DIR_PREFIX.length).split('-')[0]);
    if (!Number.isInteger(owner) || owner <= 0 || alive(owner)) continue;
    const dir = join(base, name);
    try {
      rmSync(dir, { recursive: true, force: true });
      removed.push(dir);
    } catch { /* another campaign swept it */ }
  }
  return removed;
}

/** Create the outcome folder of child `childPid` of this process (after sweeping stale ones). */
export function createOutcomeDir(childPid: number, base = outcomeBaseDir()): string {
  sweepStaleOutcomeDirs(base);
  const dir = join(base, `${OUTCOME_DIR_PREFIX}${process.pid}-${childPid}`);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  return dir;
}

/** Remove an outcome folder and whatever is in it (never throws). */
export function removeOutcomeDir(dir: string): void {
  try {
    rmSync(dir, { recursive: true, force: true });
  } catch { /* already gone */ }
}

/** Remove the .tmp files (outcomes being written, never sent) of a folder; the child's exit hook. */
export function removePartialOutcomes(dir: string): void {
  try {
    for (const name of readdirSync(dir)) if (name.endsWith('.tmp')) rmSync(join(dir, name), { force: true });
  } catch { /* folder gone */ }
}

function dtypeOf(field: ArrayField, a: ArrayBufferView): TransferDtype {
  const want = FIELDS[field];
  const ok = (want === 'uint16' && a instanceof Uint16Array) || (want === 'int32' && a instanceof Int32Array) || (want === 'float32' && a instanceof Float32Array);
  if (!ok) throw new TypeError(`outcome transfer: run.${field} must be a ${want} typed array, got ${a.constructor.name}`);
  return want;
}

const align8 = (n: number): number => Math.ceil(n / 8) * 8;
/** One write or read call moves at most this many bytes (Node refuses more than 2 GiB - 1 per call). */
const IO_CHUNK = 1 << 30;

function writeAll(fd: number, bytes: Uint8Array, position: number): void {
  for (let done = 0; done < bytes.byteLength;) {
    const n = writeSync(fd, bytes, done, Math.min(IO_CHUNK, bytes.byteLength - done), position + done);
    done += n;
  }
}

/** Bytes of the arrays of an outcome's runs (0 unless it ran). */
export function outcomeArrayBytes(o: TacticOutcome): number {
  if (o.kind !== 'ran') return 0;
  return o.runs.reduce((s, r) => s + r.output.byteLength + r.ids.byteLength + r.weights.byteLength, 0);
}

/**
 * The child's side: the outcome inline when it is small (or `dir` is undefined), else written
 * to `dir/outcome-<seq>.bin` (via a .tmp and a rename) and described. A write that fails (a
 * full shared-memory file system, …) falls back to inline, with the reason on stderr: slower,
 * nothing lost.
 */
export function sendableOutcome(o: TacticOutcome, dir: string | undefined, seq: number, inlineBytes = DEFAULT_INLINE_BYTES): OutcomeTransfer {
  if (o.kind !== 'ran' || dir === undefined || outcomeArrayBytes(o) < inlineBytes) return { mode: 'inline', outcome: o };
  const final = join(dir, `outcome-${seq}.bin`);
  const tmp = join(dir, `outcome-${seq}.tmp`);
  let offset = 0;
  const runs: FiledRun[] = [];
  const parts: Array<{ offset: number; bytes: Uint8Array }> = [];
  for (const r of o.runs) {
    const slots = {} as Record<ArrayField, ArraySlot>;
    for (const f of FIELD_NAMES) {
      const a = r[f];
      const dtype = dtypeOf(f, a);
      slots[f] = { dtype, offset, length: a.byteLength / DTYPES[dtype].bytes };
      parts.push({ offset, bytes: new Uint8Array(a.buffer, a.byteOffset, a.byteLength) });
      offset = align8(offset + a.byteLength);
    }
    runs.push({ ...r, ...slots });
  }
  const byteLength = offset;
  let fd: number | undefined;
  try {
    fd = openSync(tmp, 'w', 0o600);
    for (const p of parts) writeAll(fd, p.bytes, p.offset);
    ftruncateSync(fd, byteLength); // the last array's padding to 8 bytes
    closeSync(fd);
    fd = undefined;
    renameSync(tmp, final);
  } catch (e) {
    if (fd !== undefined) try { closeSync(fd); } catch { /* closed */ }
    try { unlinkSync(tmp); } catch { /* not created */ }
    console.error(`harness/child: outcome of ${o.tactic.label} sent inline (writing ${tmp} failed: ${(e as Error).message})`);
    return { mode: 'inline', outcome: o };
  }
  const { runs: _arrays, ...rest } = o;
  return { mode: 'file', path: final, byteLength, outcome: { ...rest, runs } };
}

/**
 * The campaign's side: the outcome with its runs' arrays as views on one buffer read from the
 * file, which is then unlinked. Throws OutcomeTransferError (naming the file, what was
 * expected and what was found) when the file is missing, of another size, or a descriptor
 * does not fit it; the file is unlinked in every case.
 */
export function receiveOutcome(t: OutcomeTransfer): TacticOutcome {
  if (t.mode === 'inline') return t.outcome;
  let buffer: ArrayBuffer;
  try {
    const fd = openSync(t.path, 'r');
    try {
      const size = fstatSync(fd).size;
      if (size !== t.byteLength) throw new OutcomeTransferError(`outcome file ${t.path}: expected ${t.byteLength} bytes, found ${size} (a partial or foreign file)`);
      // Not zero-filled (every byte is read over): its own ArrayBuffer of exactly `size` bytes at offset 0.
      const bytes = Buffer.allocUnsafeSlow(size);
      buffer = bytes.buffer as ArrayBuffer;
      for (let done = 0; done < size;) {
        const n = readSync(fd, bytes, done, Math.min(IO_CHUNK, size - done), done);
        if (n === 0) throw new OutcomeTransferError(`outcome file ${t.path}: ended after ${done} of ${size} bytes`);
        done += n;
      }
    } finally {
      closeSync(fd);
    }
  } catch (e) {
    if (e instanceof OutcomeTransferError) throw e;
    throw new OutcomeTransferError(`outcome file ${t.path} could not be read: ${(e as Error).message}`);
  } finally {
    try { unlinkSync(t.path); } catch { /* gone already */ }
  }
  const runs = t.outcome.runs.map((r, i) => {
    const arrays = {} as Record<ArrayField, ArrayBufferView>;
    for (const f of FIELD_NAMES) {
      const s = r[f];
      const d = DTYPES[s.dtype as TransferDtype];
      const where = `outcome file ${t.path}, run ${i}, ${f}`;
      if (s.dtype !== FIELDS[f] || d === undefined) throw new OutcomeTransferError(`${where}: expected dtype ${FIELDS[f]}, got ${String(s.dtype)}`);
      if (!Number.isInteger(s.offset) || !Number.isInteger(s.length) || s.offset < 0 || s.length < 0 || s.offset % 8 !== 0 || s.offset + s.length * d.bytes > t.byteLength) {
        throw new OutcomeTransferError(`${where}: expected an 8-aligned slot inside ${t.byteLength} bytes, got offset ${s.offset}, ${s.length} elements of ${d.bytes} bytes`);
      }
      arrays[f] = d.view(buffer, s.offset, s.length);
    }
    return { ...r, ...arrays } as Observed;
  });
  if (runs.length < 2) throw new OutcomeTransferError(`outcome file ${t.path}: expected at least 2 runs, got ${runs.length}`);
  return { ...t.outcome, runs: runs as unknown as RanOutcome['runs'] };
}
