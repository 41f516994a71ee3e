import test from 'ava';
import { inflateSync } from 'node:zlib';
import { crc32, palettePng, pngDataUri } from './png.js';

test('crc32 is the PNG/zlib CRC-32', (t) => {
  t.is(crc32(Buffer.from('123456789')), 0xcbf43926);
  t.is(crc32(Buffer.from('IEND')), 0xae426082);
});

test('a palette PNG: signature, chunks with valid CRCs, pixels back from IDAT', (t) => {
  const pixels = Uint8Array.from([0, 1, 2, 1, 0, 2]);
  const png = palettePng(3, 2, pixels, ['#000000', '#ff0000', '#00ff80']);
  t.deepEqual([...png.subarray(0, 8)], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  const chunks: Array<{ type: string; data: Buffer }> = [];
  for (let o = 8; o < png.length;) {
    const len = png.readUInt32BE(o);
    const type = png.subarray(o + 4, o + 8).toString('latin1');
    const data = png.subarray(o + 8, o + 8 + len);
    t.is(png.readUInt32BE(o + 8 + len), crc32(png.subarray(o + 4, o + 8 + len)), `${type} CRC`);
    chunks.push({ type, data });
    o += 12 + len;
  }
  t.deepEqual(chunks.map((c) => c.type), ['IHDR', 'PLTE', 'IDAT', 'IEND']);
  const ihdr = chunks[0]!.data;
  t.deepEqual([ihdr.readUInt32BE(0), ihdr.readUInt32BE(4), ihdr[8], ihdr[9]], [3, 2, 8, 3]);
  t.deepEqual([...chunks[1]!.data], [0, 0, 0, 255, 0, 0, 0, 255, 128]);
  t.deepEqual([...inflateSync(chunks[2]!.data)], [0, 0, 1, 2, 0, 1, 0, 2]);
  t.regex(pngDataUri(png), /^data:image\/png;base64,iVBORw0KGgo/);
});

test('bad sizes, indices and colours are refused with the value named', (t) => {
  t.throws(() => palettePng(0, 1, new Uint8Array(0), ['#000000']), { message: /size 0×1/ });
  t.throws(() => palettePng(2, 1, new Uint8Array(3), ['#000000']), { message: /3 pixels, expected 2×1 = 2/ });
  t.throws(() => palettePng(1, 1, Uint8Array.from([1]), ['#000000']), { message: /pixel index 1 beyond the 1-colour palette/ });
  t.throws(() => palettePng(1, 1, Uint8Array.from([0]), ['red']), { message: /colour 0 is "red"/ });
});
