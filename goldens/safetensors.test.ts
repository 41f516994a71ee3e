import test from 'ava';
import { testProp, fc } from '@fast-check/ava';
import {
  asFloat32, asInt32, asUint16, asUint8, DTYPE_SIZES, numel, readSafetensors, tensorOf, writeSafetensors,
  type Dtype, type Tensor,
} from './safetensors.js';
import { runs } from '../properties/runs.js';

const DTYPES = Object.keys(DTYPE_SIZES) as Dtype[];

const tensorArb: fc.Arbitrary<Tensor> = fc
  .record({
    dtype: fc.constantFrom(...DTYPES),
    shape: fc.array(fc.integer({ min: 0, max: 5 }), { maxLength: 3 }),
  })
  .chain(({ dtype, shape }) =>
    fc.uint8Array({ minLength: numel(shape) * DTYPE_SIZES[dtype], maxLength: numel(shape) * DTYPE_SIZES[dtype] })
      .map((data) => ({ dtype, shape, data })));

const filesArb = fc.record({
  tensors: fc.dictionary(fc.oneof(fc.string({ minLength: 1, maxLength: 12 }), fc.constant('__proto__')).filter((s) => s !== '__metadata__'), tensorArb, { maxKeys: 6 }),
  metadata: fc.dictionary(fc.oneof(fc.string({ maxLength: 8 }), fc.constant('__proto__')), fc.string({ maxLength: 20 }), { maxKeys: 3 }),
});

testProp('write then read gives back every tensor, its dtype, shape, bytes and the metadata', [filesArb], (t, { tensors, metadata }) => {
  const bytes = writeSafetensors(tensors, metadata);
  const headerLen = Number(new DataView(bytes.buffer).getBigUint64(0, true));
  t.is(headerLen % 8, 0, 'header padded to a multiple of 8');
  const f = readSafetensors(bytes);
  t.deepEqual([...f.tensors.keys()].sort(), Object.keys(tensors).sort());
  for (const [name, x] of Object.entries(tensors)) {
    const y = f.tensors.get(name)!;
    t.is(y.dtype, x.dtype);
    t.deepEqual([...y.shape], [...x.shape]);
    t.deepEqual(y.data, x.data);
  }
  t.deepEqual({ ...f.metadata }, metadata);
  // Every tensor starts aligned to its element size (data buffer starts at 8 + headerLen).
  const header = JSON.parse(Buffer.from(bytes.subarray(8, 8 + headerLen)).toString('utf8')) as Record<string, { dtype: Dtype; data_offsets: [number, number] }>;
  for (const [name, info] of Object.entries(header)) {
    if (name === '__metadata__') continue;
    t.is((8 + headerLen + info.data_offsets[0]) % DTYPE_SIZES[info.dtype], 0, `${name} aligned`);
  }
}, { numRuns: runs(60) });

test('typed views decode little-endian values and check the dtype (also from a Buffer view at an odd offset)', (t) => {
  const file = writeSafetensors({
    a: tensorOf('F32', [2], new Float32Array([1.5, -Infinity])),
    b: tensorOf('I32', [], new Int32Array([-7])),
    c: tensorOf('BF16', [1, 2], new Uint16Array([0x3f80, 0xc000])),
    d: tensorOf('F8_E4M3', [3], new Uint8Array([0x7e, 0, 0xff])),
  });
  // A Buffer at an odd offset inside a larger pool: Buffer.slice aliases, so views must copy.
  const f = readSafetensors(Buffer.concat([Buffer.alloc(3, 0xee), Buffer.from(file), Buffer.alloc(5, 0xee)]).subarray(3, 3 + file.length));
  t.deepEqual([...asFloat32(f.tensors.get('a')!)], [1.5, -Infinity]);
  t.deepEqual([...asInt32(f.tensors.get('b')!)], [-7]);
  t.deepEqual([...asUint16(f.tensors.get('c')!)], [0x3f80, 0xc000]);
  t.deepEqual([...asUint8(f.tensors.get('d')!)], [0x7e, 0, 0xff]);
  t.throws(() => asFloat32(f.tensors.get('b')!, 'b'), { message: /dtype of b: expected F32, got I32/ });
});

test('a known file: header text, padding and data layout', (t) => {
  const bytes = writeSafetensors({ x: tensorOf('U8', [2], new Uint8Array([1, 2])) }, { k: 'v' });
  const n = Number(new DataView(bytes.buffer).getBigUint64(0, true));
  const header = Buffer.from(bytes.subarray(8, 8 + n)).toString('utf8');
  t.is(header.trimEnd(), '{"__metadata__":{"k":"v"},"x":{"dtype":"U8","shape":[2],"data_offsets":[0,2]}}');
  t.regex(header, /^\{.*\} *$/);
  t.deepEqual([...bytes.subarray(8 + n)], [1, 2]);
});

test('tensorOf and the writer refuse data of the wrong size', (t) => {
  t.throws(() => tensorOf('F32', [3], new Float32Array(2)), { message: /values: expected 12 bytes for F32\[3\], got 8 bytes/ });
  t.throws(() => writeSafetensors({ x: { dtype: 'F32', shape: [2], data: new Uint8Array(4) } }), { message: /data of x: expected 8 bytes/ });
  t.throws(() => writeSafetensors({ __metadata__: tensorOf('U8', [0], new Uint8Array(0)) }), { message: /tensor name/ });
});

/** A file with a hand-written header (padded to 8) and `data` bytes. */
function rawFile(header: string, data: number[] = [], lengthOverride?: bigint): Uint8Array {
  const h = Buffer.from(header.padEnd(Math.ceil(header.length / 8) * 8, ' '), 'utf8');
  const out = new Uint8Array(8 + h.length + data.length);
  new DataView(out.buffer).setBigUint64(0, lengthOverride ?? BigInt(h.length), true);
  out.set(h, 8);
  out.set(data, 8 + h.length);
  return out;
}

test('the reader rejects malformed files, naming what is wrong', (t) => {
  const ok = '{"x":{"dtype":"U8","shape":[2],"data_offsets":[0,2]}}';
  t.notThrows(() => readSafetensors(rawFile(ok, [1, 2])));
  const cases: Array<[string, Uint8Array, RegExp]> = [
    ['too short', new Uint8Array(5), /f: file size: expected at least 8 bytes/],
    ['header past the end', rawFile(ok, [1, 2], 10_000n), /f: header length: expected at most/],
    ['header too large', rawFile(ok, [1, 2], 200_000_000n), /f: header length: expected at most 100000000/],
    ['not starting with {', rawFile(' ' + ok, [1, 2]), /f: header start: expected '\{'/],
    ['not JSON', rawFile('{"x":', [1, 2]), /f: header: expected valid JSON/],
    ['a JSON array', rawFile('{}', []).map((b, i) => (i === 8 ? 0x5b : b)), /header start/],
    ['unknown dtype', rawFile('{"x":{"dtype":"F4X","shape":[2],"data_offsets":[0,2]}}', [1, 2]), /f: dtype of "x": expected one of/],
    ['negative shape', rawFile('{"x":{"dtype":"U8","shape":[-2],"data_offsets":[0,2]}}', [1, 2]), /shape of "x"/],
    ['offsets reversed', rawFile('{"x":{"dtype":"U8","shape":[2],"data_offsets":[2,0]}}', [1, 2]), /data_offsets of "x"/],
    ['size mismatch', rawFile('{"x":{"dtype":"F32","shape":[2],"data_offsets":[0,2]}}', [1, 2]), /data_offsets of "x": expected 8 bytes for F32\[2\], got 2 bytes/],
    ['gap', rawFile('{"x":{"dtype":"U8","shape":[2],"data_offsets":[1,3]}}', [1, 2, 3]), /data_offsets of "x": expected begin 0/],
    ['overlap', rawFile('{"x":{"dtype":"U8","shape":[2],"data_offsets":[0,2]},"y":{"dtype":"U8","shape":[2],"data_offsets":[1,3]}}', [1, 2, 3]), /data_offsets of "y": expected begin 2/],
    ['trailing bytes', rawFile(ok, [1, 2, 3]), /f: data buffer: expected 2 bytes/],
    ['truncated data', rawFile(ok, [1]), /f: data buffer: expected 2 bytes .*got 1 bytes/],
    ['metadata not strings', rawFile('{"__metadata__":{"a":1}}'), /f: __metadata__.a: expected a string/],
    ['invalid UTF-8', rawFile('{"x":1}').map((b, i) => (i === 10 ? 0xff : b)), /f: header: expected valid UTF-8/],
  ];
  for (const [what, bytes, message] of cases) {
    t.throws(() => readSafetensors(bytes, 'f'), { message }, what);
  }
});
