/**
 * The stored goldens are still what the generator and the reference produce, bit for bit:
 * inputs byte for byte, and every stored expected tensor (outputs, routing and its
 * evidence, the error analysis) element for element; a mismatch names the case, the
 * tensor and the element. (Goldens are judged from what is stored, so a reference that
 * drifted must make its goldens fail here, not silently judge kernels differently.)
 */
import test from 'ava';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { generateCase } from '../reference/generate.js';
import { bitDifferences, describeDiff, describeElementDifference, diffSafetensors } from './diffTensors.js';
import { decodeExpected, decodeInputs, encodeExpected, encodeInputs } from './goldenFiles.js';
import { GOLDENS_DIR, readManifest } from './manifest.js';
import { goldenReference } from './produce.js';
import { readSafetensors } from './safetensors.js';

const manifest = readManifest();

for (const e of manifest.cases) {
  test(`${e.name}: generator reproduces the stored inputs byte for byte; reference reproduces every stored tensor bit for bit`, async (t) => {
    const storedInputs = readFileSync(join(GOLDENS_DIR, e.files.inputs.path));
    const c = generateCase(e.spec);
    const bytes = encodeInputs(e.name, c);
    if (Buffer.compare(Buffer.from(bytes), storedInputs) !== 0) {
      const diffs = diffSafetensors(readSafetensors(storedInputs, e.files.inputs.path), readSafetensors(bytes, 'generated'))
        .filter((d) => d.status !== 'identical').map(describeDiff);
      t.fail(`${e.files.inputs.path}: the generator no longer produces the stored inputs: ${diffs.join('; ') || 'metadata differs'}. ` +
        `If intended, run \`npm run goldens:update -- ${e.name}\`.`);
      return;
    }
    // The decoder gives back the generated Case exactly (re-encoding it gives the same bytes).
    t.true(Buffer.compare(Buffer.from(encodeInputs(e.name, decodeInputs(e.name, e.spec, storedInputs))), storedInputs) === 0,
      `${e.files.inputs.path}: decode + encode does not give back the stored bytes`);

    const storedBytes = readFileSync(join(GOLDENS_DIR, e.files.expected.path));
    decodeExpected(e.name, e.spec, storedBytes); // shapes, metadata, output = bf16(output_f32)
    const again = await goldenReference(c, e.producer.precision);
    const diffs = bitDifferences(readSafetensors(storedBytes, e.files.expected.path), readSafetensors(encodeExpected(e.name, again), 'recomputed'));
    t.deepEqual(diffs.map((d) => describeElementDifference(e.name, d)), [],
      `The reference no longer reproduces this golden bit for bit. If the change is intended, run \`npm run goldens:update -- ${e.name}\` and review the printed differences.`);
  });
}
