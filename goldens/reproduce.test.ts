/**
 * The stored goldens are still what the generator and the reference produce:
 * inputs byte for byte, outputs within the stored tolerance (see tolerance.ts).
 */
import test from 'ava';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { generateCase } from '../reference/generate.js';
import { compareToGolden, describeComparison } from './compareGolden.js';
import { describeDiff, diffSafetensors } from './diffTensors.js';
import { decodeExpected, decodeInputs, encodeInputs } from './goldenFiles.js';
import { GOLDENS_DIR, readManifest } from './manifest.js';
import { goldenReference } from './produce.js';
import { readSafetensors } from './safetensors.js';

const manifest = readManifest();

for (const e of manifest.cases) {
  test(`${e.name}: generator reproduces the stored inputs byte for byte; reference reproduces the outputs`, async (t) => {
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

    const stored = decodeExpected(e.name, e.spec, readFileSync(join(GOLDENS_DIR, e.files.expected.path)));
    const again = await goldenReference(c, e.producer.precision);
    const p = e.spec.problem;
    const cmp = compareToGolden(stored, again, e.tolerance, { H: p.H, topK: p.topK, E: p.E });
    t.true(cmp.ok, `${describeComparison(e.name, cmp)}\nThe reference no longer reproduces this golden. If the change is intended, ` +
      `run \`npm run goldens:update -- ${e.name}\` and review the printed differences.`);
    t.log(`${e.name}: max |Δ f32| ${cmp.maxAbsDiffF32}, bf16 elements differing ${cmp.bf16BitsDiffering}`);
  });
}
