import test from 'ava';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { caseTensorParts, caseToTensors, tensorsToCase } from '../../goldens/caseTensors.js';
import { readSafetensors, writeSafetensors } from '../../goldens/safetensors.js';
import type { Case } from '../../reference/case.js';
import { caseDigest } from '../../reference/caseDigest.js';
import { BadArgumentError } from '../../reference/errors.js';
import { generateCase } from '../../reference/generate.js';
import { testProblem } from '../../reference/testing/testProblem.js';
import { hashFile, readSafetensorsFile, readWholeFile, writeSafetensorsFile } from './largeFiles.js';

test('readWholeFile and hashFile agree with a one-shot read and hash (several chunks)', (t) => {
  const bytes = new Uint8Array((1 << 24) * 2 + 12345);
  for (let i = 0; i < bytes.length; i += 4099) bytes[i] = i & 0xff;
  const file = join(mkdtempSync(join(tmpdir(), 'large-')), 'f.bin');
  writeFileSync(file, bytes);
  t.true(Buffer.from(readWholeFile(file)).equals(Buffer.from(bytes)));
  t.is(hashFile(file), createHash('sha256').update(bytes).digest('hex').slice(0, 16));
});

// ------------------------------------------------------------------ streamed safetensors

/** A case whose weight tensors span several chunks (chunkBytes lowered to 3 experts of FC2). */
function chunkedCase(): { c: Case; chunkBytes: number } {
  const problem = testProblem({ T: 5, H: 128, I: 64, E: 10, topK: 2, localOffset: 1, localExperts: 8 });
  const chunkBytes = 3 * (problem.H * problem.I) / 2;
  const c = generateCase({ problem, seed: 9, logitFamily: 'normal', scaleFamily: 'zero_blocks' }, { chunkBytes });
  return { c, chunkBytes };
}

test('writeSafetensorsFile writes exactly writeSafetensors\' bytes from the parts, and returns the file\'s hash', (t) => {
  const { c } = chunkedCase();
  t.true(c.fc1.packed.chunks.length > 1 && c.fc2.packed.chunks.length > 1, 'the weights come in several chunks');
  const meta = { problem: JSON.stringify(c.spec.problem), protocol: '1' };
  const file = join(mkdtempSync(join(tmpdir(), 'st-')), 'inputs.safetensors');
  const digest = writeSafetensorsFile(file, caseTensorParts(c), meta);
  const want = writeSafetensors(caseToTensors(c), meta);
  t.true(readFileSync(file).equals(Buffer.from(want)), 'bit for bit');
  t.is(digest, hashFile(file));
  t.is(digest, createHash('sha256').update(want).digest('hex').slice(0, 16));
});

test('readSafetensorsFile: tensors over chunkBytes come in parts of whole rows (experts); tensorsToCase rebuilds the case bit for bit', (t) => {
  const { c, chunkBytes } = chunkedCase();
  const file = join(mkdtempSync(join(tmpdir(), 'st-')), 'inputs.safetensors');
  writeSafetensorsFile(file, caseTensorParts(c), { case_spec: JSON.stringify(c.spec) });
  const parted = readSafetensorsFile(file, { chunkBytes });
  const fc1 = parted.tensors.get('fc1.packed')!;
  t.true('parts' in fc1, 'FC1 packed is over the limit: parts');
  if ('parts' in fc1) {
    const perExpert = c.fc1.packed.bytesPerExpert;
    t.true(fc1.parts.every((p) => p.length % perExpert === 0 && p.length <= Math.max(chunkBytes, perExpert)));
  }
  t.true('data' in parted.tensors.get('logits')!, 'small tensors in one piece');
  t.is(parted.metadata.case_spec, JSON.stringify(c.spec));
  const back = tensorsToCase(c.spec, parted.tensors, file);
  t.is(caseDigest(back), caseDigest(c));
  t.true(back.fc1.packed.chunks.length > 1, 'the parts are the case\'s storage');
  const whole = readSafetensorsFile(file);
  t.true('data' in whole.tensors.get('fc1.packed')!, 'under the default limit: one piece');
  t.is(caseDigest(tensorsToCase(c.spec, whole.tensors, file)), caseDigest(c));
  // Same tensors and metadata as the in-memory reader.
  const mem = readSafetensors(readFileSync(file), file);
  t.deepEqual([...mem.tensors.keys()], [...whole.tensors.keys()]);
});

test('readSafetensorsFile refuses a truncated or malformed file, naming the file and the rule', (t) => {
  const { c } = chunkedCase();
  const dir = mkdtempSync(join(tmpdir(), 'st-'));
  const file = join(dir, 'inputs.safetensors');
  writeSafetensorsFile(file, caseTensorParts(c));
  const bytes = readFileSync(file);
  const cut = join(dir, 'cut.safetensors');
  writeFileSync(cut, bytes.subarray(0, bytes.length - 1));
  const e1 = t.throws(() => readSafetensorsFile(cut), { instanceOf: BadArgumentError }) as BadArgumentError;
  t.is(e1.argument, `${cut}: data buffer`);
  const huge = Buffer.from(bytes);
  huge.writeBigUInt64LE(200_000_000n, 0);
  writeFileSync(cut, huge);
  const e2 = t.throws(() => readSafetensorsFile(cut), { instanceOf: BadArgumentError }) as BadArgumentError;
  t.is(e2.argument, `${cut}: header length`);
  writeFileSync(cut, bytes.subarray(0, 5));
  t.is((t.throws(() => readSafetensorsFile(cut), { instanceOf: BadArgumentError }) as BadArgumentError).argument, `${cut}: file size`);
  t.is((t.throws(() => readSafetensorsFile(file, { chunkBytes: 0 }), { instanceOf: BadArgumentError }) as BadArgumentError).argument, 'chunkBytes');
  const bad = { x: { dtype: 'U8' as const, shape: [4], parts: [new Uint16Array(2)] as unknown as Uint8Array[] } };
  t.is((t.throws(() => writeSafetensorsFile(join(dir, 'bad.safetensors'), bad), { instanceOf: BadArgumentError }) as BadArgumentError).argument, 'parts of x');
  const short = { x: { dtype: 'U8' as const, shape: [4], parts: [new Uint8Array(3)] } };
  t.is((t.throws(() => writeSafetensorsFile(join(dir, 'bad.safetensors'), short), { instanceOf: BadArgumentError }) as BadArgumentError).argument, 'data of x');
});
