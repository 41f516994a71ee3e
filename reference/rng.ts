/**
 * Deterministic random streams for case generation: same (seed, name) → same numbers on
 * every machine. Only 32-bit integer operations (Math.imul, shifts, xor) and correctly
 * rounded float operations (+, -, ·, /, sqrt) produce values, never Math.log/exp/cos,
 * whose last bits may differ between platforms.
 *
 * A named stream is seeded from seedrandom(`${seed}:${name}`) (ARC4): four int32 draws
 * become the 128-bit state of xoshiro128** (Blackman & Vigna), a fast generator in plain
 * 32-bit arithmetic used for the bulk bytes. Sub-streams (one per hidden-state row, so a
 * row can be regenerated on its own) are derived from a stream's state with splitmix32.
 */
import seedrandom from 'seedrandom';

/** splitmix32 finalizer step: a well-mixed uint32 from any int. */
export function splitmix32(a: number): number {
  let t = (a + 0x9e3779b9) | 0;
  t ^= t >>> 16;
  t = Math.imul(t, 0x21f0aaad);
  t ^= t >>> 15;
  t = Math.imul(t, 0x735a2d97);
  t ^= t >>> 15;
  return t >>> 0;
}

const SQRT3 = Math.sqrt(3);

/** xoshiro128**: 128-bit state, 32-bit outputs. */
export class Rng {
  private s0: number;
  private s1: number;
  private s2: number;
  private s3: number;

  constructor(s0: number, s1: number, s2: number, s3: number) {
    this.s0 = s0 | 0;
    this.s1 = s1 | 0;
    this.s2 = s2 | 0;
    this.s3 = s3 | 0;
    if ((this.s0 | this.s1 | this.s2 | this.s3) === 0) this.s0 = 1; // the one forbidden state
  }

  /** The current state (to derive sub-streams from). */
  state(): [number, number, number, number] {
    return [this.s0, this.s1, this.s2, this.s3];
  }

  /** Continue from `s`: the state a kernel that ran this generator's steps elsewhere ended in (generate/wasmFill.ts). */
  resume(s: readonly [number, number, number, number]): void {
    [this.s0, this.s1, this.s2, this.s3] = [s[0] | 0, s[1] | 0, s[2] | 0, s[3] | 0];
  }

  /** Next uint32. */
  u32(): number {
    const s1 = this.s1;
    const r = Math.imul(rotl(Math.imul(s1, 5), 7), 9);
    const t = s1 << 9;
    this.s2 ^= this.s0;
    this.s3 ^= s1;
    this.s1 ^= this.s2;
    this.s0 ^= this.s3;
    this.s2 ^= t;
    this.s3 = rotl(this.s3, 11);
    return r >>> 0;
  }

  /** Uniform in [0, 1) with 32 random bits. */
  unit(): number {
    return this.u32() / 4294967296;
  }

  /** Uniform in [lo, hi). */
  uniform(lo: number, hi: number): number {
    return lo + (hi - lo) * this.unit();
  }

  /** Integer uniform in [0, n) for 1 <= n <= 2^32 (multiply-shift; bias below 2^-32·n). */
  below(n: number): number {
    return Math.floor(this.unit() * n);
  }

  /** Integer uniform in [lo, hi] (inclusive). */
  intIn(lo: number, hi: number): number {
    return lo + this.below(hi - lo + 1);
  }

  /**
   * A bell-shaped variate with mean 0 and variance 1: the Irwin–Hall sum of four uniform
   * 16-bit numbers, centred and scaled by √3 (range ±2√3). Two u32 draws.
   */
  normal(): number {
    const a = this.u32();
    const b = this.u32();
    const sum = (a & 0xffff) + (a >>> 16) + (b & 0xffff) + (b >>> 16) + 2; // each term + 0.5
    return (sum / 65536 - 2) * SQRT3;
  }

  /** A sub-stream for `index`, independent of this stream's future draws (does not advance it). */
  derive(index: number): Rng {
    const [a, b, c, d] = this.state();
    let z = splitmix32(a ^ Math.imul(index + 1, 0x9e3779b9));
    const w0 = z;
    z = splitmix32(z ^ b);
    const w1 = z;
    z = splitmix32(z ^ c);
    const w2 = z;
    z = splitmix32(z ^ d ^ index);
    return new Rng(w0, w1, w2, z);
  }

  /**
   * Fill out[offset, offset+count) with bytes table[16 random bits]: one u32 gives two
   * bytes. With a 65536-entry table this draws any byte distribution at 2^-16 resolution.
   */
  fillFromTable16(out: Uint8Array, offset: number, count: number, table: Uint8Array): void {
    let s0 = this.s0, s1 = this.s1, s2 = this.s2, s3 = this.s3;
    const end = offset + count;
    let i = offset;
    for (; i + 1 < end; i += 2) {
      const r = Math.imul(rotl(Math.imul(s1, 5), 7), 9);
      const t = s1 << 9;
      s2 ^= s0; s3 ^= s1; s1 ^= s2; s0 ^= s3; s2 ^= t; s3 = (s3 << 11) | (s3 >>> 21);
      out[i] = table[r & 0xffff]!;
      out[i + 1] = table[r >>> 16]!;
    }
    this.s0 = s0; this.s1 = s1; this.s2 = s2; this.s3 = s3;
    if (i < end) out[i] = table[this.u32() & 0xffff]!;
  }

  /** Fill out[offset, offset+count) with bytes table[8 random bits]: one u32 gives four bytes. */
  fillFromTable8(out: Uint8Array, offset: number, count: number, table: Uint8Array): void {
    const end = offset + count;
    let i = offset;
    for (; i + 3 < end; i += 4) {
      const r = this.u32();
      out[i] = table[r & 0xff]!;
      out[i + 1] = table[(r >>> 8) & 0xff]!;
      out[i + 2] = table[(r >>> 16) & 0xff]!;
      out[i + 3] = table[r >>> 24]!;
    }
    for (; i < end; i++) out[i] = table[this.u32() & 0xff]!;
  }
}

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}

/** The named stream `${seed}:${name}`: xoshiro128** seeded from seedrandom's ARC4. */
export function streamRng(seed: number, name: string): Rng {
  const arc4 = seedrandom(`${seed}:${name}`);
  return new Rng(arc4.int32(), arc4.int32(), arc4.int32(), arc4.int32());
}
