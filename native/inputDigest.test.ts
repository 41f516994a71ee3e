/**
 * The inputs digest (native/src/inputDigest.h) through its host twin, hostInputsDigest: the
 * same functions the device kernel calls, so what holds here holds on the GPU (the GPU suite
 * native/fullSize.test.ts checks device == host on the same bytes). No GPU needed.
 *
 * - An independent BigInt implementation of the documented algorithm agrees with the addon
 *   (so the doc comment is the algorithm, and a change to either is caught).
 * - Every single bit flip of a buffer changes the digest (exhaustive on a 3-word + 5-byte buffer).
 * - Every swap of two different 16-byte words changes it (exhaustive on 64 words: 2016 swaps).
 * - Length, buffer order and the split between buffers change it; the same bytes give the same digest.
 * - Split over the cores (as the C ABI door's host hashes its copies) it is the same digest.
 */
import test from 'ava';
import fc from 'fast-check';
import { runs } from '../properties/runs.js';
import { BadArgumentError } from '../reference/errors.js';
import { hostInputsDigest, nativeStatus } from './index.js';

const M64 = (1n << 64n) - 1n;

function fmix64(x: bigint): bigint {
  x ^= x >> 33n;
  x = (x * 0xff51afd7ed558ccdn) & M64;
  x ^= x >> 33n;
  x = (x * 0xc4ceb9fe1a85ec53n) & M64;
  x ^= x >> 33n;
  return x;
}

function le64(b: Uint8Array, at: number): bigint {
  let v = 0n;
  for (let j = 7; j >= 0; j--) v = (v << 8n) | BigInt(at + j < b.length ? b[at + j]! : 0);
  return v;
}

/** The algorithm as inputDigest.h documents it, written again from the text. */
function specDigest(buffers: readonly Uint8Array[]): string {
  let h = 0x6d6f652d64696765n;
  for (const b of buffers) {
    let s = 0n;
    for (let i = 0; i * 16 < b.length; i++) {
      const k = fmix64((BigInt(i) * 0x9e3779b97f4a7c15n + 0x243f6a8885a308d3n) & M64);
      const rot = ((k << 29n) | (k >> 35n)) & M64;
      s = (s + fmix64(fmix64(le64(b, 16 * i) ^ k) ^ le64(b, 16 * i + 8) ^ rot)) & M64;
    }
    h = fmix64((h + fmix64(BigInt(b.length) ^ 0x62797465735f6c65n)) & M64);
    h = fmix64(h ^ s);
  }
  return h.toString(16).padStart(16, '0');
}

function randomBytes(n: number, seed: number): Uint8Array {
  const a = new Uint8Array(n);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    x ^= x << 13; x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5; x >>>= 0;
    a[i] = x & 0xff;
  }
  return a;
}

const status = nativeStatus();
const hasTwin = status.loaded;

if (!hasTwin) {
  const msg = `native addon not loaded (${status.reason ?? '?'}): the inputs digest suite is SKIPPED`;
  console.warn(`[moe-harness] WARNING: ${msg}`);
  test.skip(msg, () => undefined);
} else {
  test('the addon computes the documented algorithm (independent BigInt implementation)', (t) => {
    for (const lengths of [[], [0], [1], [15], [16], [17], [31, 32, 33], [100, 0, 7, 4096 + 3]]) {
      const bufs = lengths.map((n, i) => randomBytes(n, 1000 + 17 * i + n));
      t.is(hostInputsDigest(bufs), specDigest(bufs), `lengths ${lengths.join(',')}`);
    }
    fc.assert(fc.property(fc.array(fc.uint8Array({ maxLength: 200 }), { maxLength: 5 }), (bufs) => hostInputsDigest(bufs) === specDigest(bufs)),
      { numRuns: runs(100) });
  });

  test('same bytes, same digest; the bytes are read, not the identity of the arrays', (t) => {
    const a = randomBytes(1000, 7);
    t.is(hostInputsDigest([a, a.subarray(3, 40)]), hostInputsDigest([a.slice(), a.slice(3, 40)]));
    t.regex(hostInputsDigest([a]), /^[0-9a-f]{16}$/);
  });

  test('every single bit flip changes the digest (53 bytes: 3 words and a 5-byte tail; 424 flips, all distinct)', (t) => {
    const base = randomBytes(53, 11);
    const other = randomBytes(20, 12);
    const d0 = hostInputsDigest([other, base, other]);
    const seen = new Set<string>([d0]);
    for (let byte = 0; byte < base.length; byte++) {
      for (let bit = 0; bit < 8; bit++) {
        const b = base.slice();
        b[byte]! ^= 1 << bit;
        seen.add(hostInputsDigest([other, b, other]));
      }
    }
    t.is(seen.size, 1 + 53 * 8, 'some flip left the digest unchanged or collided with another flip');
  });

  test('every swap of two different 16-byte words changes the digest (64 words: 2016 swaps)', (t) => {
    const words = 64;
    const base = randomBytes(16 * words, 21);
    // Words that differ in one half only, and in one byte only, besides random ones.
    base.set(base.subarray(0, 8), 16 * 5);
    base.set(base.subarray(16, 31), 16 * 9);
    const d0 = hostInputsDigest([base]);
    let unchanged = 0;
    for (let i = 0; i < words; i++) {
      for (let j = i + 1; j < words; j++) {
        const b = base.slice();
        b.set(base.subarray(16 * j, 16 * j + 16), 16 * i);
        b.set(base.subarray(16 * i, 16 * i + 16), 16 * j);
        if (hostInputsDigest([b]) === d0) unchanged++;
      }
    }
    t.is(unchanged, 0);
  });

  test('property: a random bit flip or a random swap of different words changes the digest', (t) => {
    fc.assert(fc.property(fc.uint8Array({ minLength: 1, maxLength: 3000 }), fc.nat(), fc.nat(7), (b, at, bit) => {
      const x = b.slice();
      x[at % x.length]! ^= 1 << bit;
      return hostInputsDigest([x]) !== hostInputsDigest([b]);
    }), { numRuns: runs(200) });
    fc.assert(fc.property(fc.uint8Array({ minLength: 32, maxLength: 3000 }), fc.nat(), fc.nat(), (b, u, v) => {
      const n = Math.floor(b.length / 16);
      const i = u % n;
      const j = v % n;
      const wi = b.slice(16 * i, 16 * i + 16);
      const wj = b.slice(16 * j, 16 * j + 16);
      if (i === j || wi.every((x, q) => x === wj[q])) return true; // not a change
      const x = b.slice();
      x.set(wj, 16 * i);
      x.set(wi, 16 * j);
      return hostInputsDigest([x]) !== hostInputsDigest([b]);
    }), { numRuns: runs(200) });
    t.pass();
  });

  test('length, buffer order and the split between buffers are part of the digest', (t) => {
    const a = randomBytes(40, 31);
    const b = randomBytes(24, 32);
    const d = new Set([
      hostInputsDigest([a, b]), hostInputsDigest([b, a]),
      hostInputsDigest([a.subarray(0, 39), b]), hostInputsDigest([a, new Uint8Array(0), b]),
      hostInputsDigest([a.subarray(0, 32), new Uint8Array([...a.subarray(32), ...b])]),
      // a trailing zero byte is not the zero padding of the last word
      hostInputsDigest([new Uint8Array([...a, 0]), b]),
    ]);
    t.is(d.size, 6);
  });

  test('split over the cores (buffers of 128 MiB or more) it is the same digest as serially', (t) => {
    const big = randomBytes(130 * 2 ** 20 + 3, 41);
    const small = randomBytes(1000, 42);
    const serial = hostInputsDigest([small, big, small], 'one');
    t.is(hostInputsDigest([small, big, small], 'all'), serial);
    big[big.length - 2]! ^= 4; // in the partial last word, which the last thread adds
    t.not(hostInputsDigest([small, big, small], 'all'), serial);
    t.is(hostInputsDigest([small, big, small], 'all'), hostInputsDigest([small, big, small], 'one'));
  });

  test('a buffer that is not a Uint8Array is refused naming it', (t) => {
    const e = t.throws(() => hostInputsDigest([new Uint8Array(2), new Uint16Array(2) as unknown as Uint8Array]));
    t.true(e instanceof BadArgumentError && e.argument === 'buffers[1]', String(e));
    const m = t.throws(() => hostInputsDigest([], 'many' as 'all'));
    t.true(m instanceof BadArgumentError && m.argument === 'threads', String(m));
  });
}
