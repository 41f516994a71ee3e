/**
 * Whole-file reads and hashes without readFileSync's 2 GiB limit (a case's inputs file for a
 * full-size configuration may be several GiB): chunked reads into one buffer, chunked hashing.
 */
import { createHash } from 'node:crypto';
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';

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
