/**
 * ExpertBytes: chunks of whole experts within the limit, views not copies, the canonical
 * contiguous tensor as the concatenation, and every misuse refused naming the argument.
 */
import test from 'ava';
import { BadArgumentError } from './errors.js';
import { DEFAULT_CHUNK_BYTES, defaultChunkBytes, ExpertBytes, expertsPerChunkFor, MAX_TYPED_ARRAY_BYTES } from './expertBytes.js';

const pattern = (n: number, seed: number): Uint8Array => Uint8Array.from({ length: n }, (_, i) => (i * 31 + seed * 7 + (i >> 8)) & 0xff);

test('allocate: chunks of whole experts, none over chunkBytes, an oversized expert alone in its chunk', (t) => {
  const x = ExpertBytes.allocate(7, 10, { chunkBytes: 25 });
  t.is(x.expertsPerChunk, 2);
  t.deepEqual(x.chunks.map((c) => c.length), [20, 20, 20, 10]);
  t.is(x.byteLength, 70);
  t.false(x.shared);
  const big = ExpertBytes.allocate(3, 100, { chunkBytes: 30, memory: 'shared' });
  t.deepEqual(big.chunks.map((c) => c.length), [100, 100, 100]);
  t.true(big.shared);
  t.true(big.chunks.every((c) => c.buffer instanceof SharedArrayBuffer));
  // Default: 1 GiB chunks (DeepSeek-V3 FC1 packed: 14.7 MB per expert, 73 experts per chunk).
  t.is(expertsPerChunkFor(256, 2 * 2048 * 7168 / 2), 73);
  t.is(expertsPerChunkFor(4, 10), 4);
});

test('expert(l) is a view into its chunk; the experts in order are the contiguous tensor', (t) => {
  const flat = pattern(6 * 12, 1);
  const x = ExpertBytes.fromContiguous(flat, 6, { chunkBytes: 30 }); // 2 experts per chunk
  t.is(x.chunks.length, 3);
  t.is(x.chunks[0]!.buffer, flat.buffer, 'fromContiguous views, does not copy');
  for (let l = 0; l < 6; l++) t.deepEqual(x.expert(l), flat.subarray(12 * l, 12 * (l + 1)));
  t.deepEqual(x.toContiguous(), flat);
  t.deepEqual([...x].map((v) => v.length), [12, 12, 12, 12, 12, 12]);
  for (const i of [0, 11, 12, 29, 71]) t.is(x.at(i), flat[i]);
  x.setAt(29, 0xab);
  t.is(flat[29], 0xab, 'setAt writes through the view');
  const ranges = x.ranges(10, 40);
  t.deepEqual(ranges.map((r) => r.length), [2, 12, 12, 4]);
  t.deepEqual(Buffer.concat(ranges), Buffer.from(flat.subarray(10, 40)));
});

test('relayout and equals: the same bytes in any layout', (t) => {
  const a = ExpertBytes.fromContiguous(pattern(5 * 16, 2), 5);
  const b = a.relayout({ chunkBytes: 16, memory: 'shared' });
  t.is(b.chunks.length, 5);
  t.true(a.equals(b) && b.equals(a));
  t.not(b.chunks[0]!.buffer, a.chunks[0]!.buffer, 'a copy');
  b.expert(4)[15] ^= 1;
  t.false(a.equals(b));
  t.false(a.equals(ExpertBytes.fromContiguous(pattern(5 * 16, 2), 4)), 'another shape');
  const c = ExpertBytes.fromExperts(a.experts().slice(1, 3));
  t.deepEqual(c.toContiguous(), a.toContiguous().subarray(16, 48));
});

test('misuse is refused naming the argument, the expected and the actual value', (t) => {
  const bad = (fn: () => unknown, argument: string, actual: RegExp) => {
    const e = t.throws(fn, { instanceOf: BadArgumentError }) as BadArgumentError;
    t.is(e.argument, argument, e.message);
    t.regex(e.actual, actual, e.message);
  };
  bad(() => ExpertBytes.allocate(-1, 4), 'count', /-1/);
  bad(() => ExpertBytes.allocate(2, MAX_TYPED_ARRAY_BYTES), 'bytesPerExpert', /4294967296/);
  bad(() => ExpertBytes.allocate(2, 4, { chunkBytes: 0 }), 'chunkBytes', /^0$/);
  bad(() => ExpertBytes.allocate(2, 4, { memory: 'gpu' as 'shared' }), 'memory', /gpu/);
  bad(() => ExpertBytes.fromContiguous(new Uint8Array(10), 3), 'count', /3/);
  bad(() => new ExpertBytes(4, 2, 2, [new Uint8Array(4)]), 'chunks', /1/);
  bad(() => new ExpertBytes(4, 2, 2, [new Uint8Array(4), new Uint8Array(3)]), 'chunks[1]', /3 bytes/);
  const x = ExpertBytes.allocate(3, 4);
  bad(() => x.expert(3), 'l', /3/);
  bad(() => x.ranges(5, 2), 'range', /\[5, 2\)/);
  bad(() => ExpertBytes.fromExperts([new Uint8Array(4), new Uint8Array(5)]), 'experts[1]', /5/);
});

test('toContiguous refuses 4 GiB and more (one typed array cannot hold it), naming the size', (t) => {
  // The size is stood for (nothing of 4 GiB is allocated on this machine).
  const x = ExpertBytes.allocate(2, 8);
  Object.defineProperty(x, 'byteLength', { get: () => 2 ** 32 + 16 });
  const e = t.throws(() => x.toContiguous(), { instanceOf: BadArgumentError }) as BadArgumentError;
  t.is(e.argument, 'ExpertBytes.toContiguous');
  t.is(e.actual, `${2 ** 32 + 16} bytes`);
  t.regex(e.message, /read expert\(l\) or chunks instead/);
});

test.serial('MOE_EXPERT_CHUNK_BYTES sets the default limit; a bad value is refused naming the variable', (t) => {
  const prev = process.env.MOE_EXPERT_CHUNK_BYTES;
  try {
    process.env.MOE_EXPERT_CHUNK_BYTES = '32';
    t.is(defaultChunkBytes(), 32);
    t.is(ExpertBytes.allocate(5, 16).chunks.length, 3, '2 experts of 16 bytes per 32-byte chunk');
    for (const bad of ['0', '-4', '1.5', 'lots', String(2 ** 32)]) {
      process.env.MOE_EXPERT_CHUNK_BYTES = bad;
      const e = t.throws(() => ExpertBytes.allocate(2, 4), { instanceOf: BadArgumentError }) as BadArgumentError;
      t.is(e.argument, 'MOE_EXPERT_CHUNK_BYTES');
      t.is(e.actual, JSON.stringify(bad));
    }
    process.env.MOE_EXPERT_CHUNK_BYTES = '';
    t.is(defaultChunkBytes(), DEFAULT_CHUNK_BYTES, 'empty: the default');
  } finally {
    if (prev === undefined) delete process.env.MOE_EXPERT_CHUNK_BYTES;
    else process.env.MOE_EXPERT_CHUNK_BYTES = prev;
  }
});
