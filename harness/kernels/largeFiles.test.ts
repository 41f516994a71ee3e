import test from 'ava';
import { createHash } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { hashFile, readWholeFile } from './largeFiles.js';

test('readWholeFile and hashFile agree with a one-shot read and hash (several chunks)', (t) => {
  const bytes = new Uint8Array((1 << 24) * 2 + 12345);
  for (let i = 0; i < bytes.length; i += 4099) bytes[i] = i & 0xff;
  const file = join(mkdtempSync(join(tmpdir(), 'large-')), 'f.bin');
  writeFileSync(file, bytes);
  t.true(Buffer.from(readWholeFile(file)).equals(Buffer.from(bytes)));
  t.is(hashFile(file), createHash('sha256').update(bytes).digest('hex').slice(0, 16));
});
