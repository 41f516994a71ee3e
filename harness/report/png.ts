/**
 * A palette PNG (colour type 3, 8 bits per pixel) from a grid of palette indices, as a
 * data: URI, so that a heat map is a few hundred bytes inside the self-contained page.
 * Written from the PNG specification (signature, IHDR, PLTE, IDAT of zlib-deflated
 * scanlines each led by filter byte 0, IEND; CRC-32 over type and data of each chunk).
 */
import { deflateSync } from 'node:zlib';

const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

/** CRC-32 (ISO 3309, the PNG chunk checksum) of bytes. */
export function crc32(bytes: Uint8Array): number {
  let c = 0xffffffff;
  for (const b of bytes) c = CRC_TABLE[(c ^ b) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

function chunk(type: string, data: Uint8Array): Buffer {
  const out = Buffer.alloc(12 + data.length);
  out.writeUInt32BE(data.length, 0);
  out.write(type, 4, 'latin1');
  out.set(data, 8);
  out.writeUInt32BE(crc32(out.subarray(4, 8 + data.length)), 8 + data.length);
  return out;
}

/** '#rrggbb' colours → RGB bytes. */
function paletteBytes(palette: readonly string[]): Uint8Array {
  const out = new Uint8Array(palette.length * 3);
  palette.forEach((c, i) => {
    if (!/^#[0-9a-f]{6}$/i.test(c)) throw new Error(`palettePng: colour ${i} is ${JSON.stringify(c)}, expected '#rrggbb'`);
    for (let j = 0; j < 3; j++) out[i * 3 + j] = parseInt(c.slice(1 + 2 * j, 3 + 2 * j), 16);
  });
  return out;
}

/** PNG bytes of a width × height image whose pixel (x, y) has palette index pixels[y·width + x]. */
export function palettePng(width: number, height: number, pixels: Uint8Array, palette: readonly string[]): Buffer {
  if (!(Number.isInteger(width) && width >= 1 && Number.isInteger(height) && height >= 1)) {
    throw new Error(`palettePng: size ${width}×${height}, expected positive integers`);
  }
  if (pixels.length !== width * height) throw new Error(`palettePng: ${pixels.length} pixels, expected ${width}×${height} = ${width * height}`);
  if (palette.length < 1 || palette.length > 256) throw new Error(`palettePng: ${palette.length} colours, expected 1…256`);
  for (const p of pixels) if (p >= palette.length) throw new Error(`palettePng: pixel index ${p} beyond the ${palette.length}-colour palette`);
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr[8] = 8; // bit depth
  ihdr[9] = 3; // colour type: indexed
  // compression 0, filter 0, interlace 0
  const raw = new Uint8Array(height * (width + 1));
  for (let y = 0; y < height; y++) raw.set(pixels.subarray(y * width, (y + 1) * width), y * (width + 1) + 1);
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', ihdr), chunk('PLTE', paletteBytes(palette)), chunk('IDAT', deflateSync(raw, { level: 9 })), chunk('IEND', new Uint8Array(0)),
  ]);
}

/** The PNG as a data: URI. */
export function pngDataUri(png: Buffer): string {
  return `data:image/png;base64,${png.toString('base64')}`;
}
