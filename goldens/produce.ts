/**
 * Produce one golden case from its definition: generate the Case, run the reference,
 * encode both as safetensors bytes. Pure apart from the reference's own backend choice;
 * writing files is update.ts's job.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { errorModel } from '../harness/errorModel.js';
import type { Case } from '../reference/case.js';
import type { Expected } from '../reference/expected.js';
import { generateCase } from '../reference/generate.js';
import { runReference } from '../reference/moe.js';
import { describeProblem } from '../reference/problem.js';
import type { GoldenCaseDef } from './cases.js';
import { encodeExpected, encodeInputs, goldenPaths } from './goldenFiles.js';
import { sha256Hex } from './hash.js';
import { GOLDENS_DIR, type GoldenEntry } from './manifest.js';
import { goldenTolerance, type GoldenPrecision } from './tolerance.js';

/** The precision goldens are produced with (see tolerance.ts for why). */
export const GOLDEN_PRECISION: GoldenPrecision = 'float64';

export interface ProducedGolden {
  readonly def: GoldenCaseDef;
  readonly case: Case;
  readonly expected: Expected;
  readonly inputsBytes: Uint8Array;
  readonly expectedBytes: Uint8Array;
  /** The manifest entry these bytes deserve (date: now). */
  readonly entry: GoldenEntry;
}

/** moe-harness's version from package.json (the reference's version). */
export function referenceVersion(): string {
  const pkg = JSON.parse(readFileSync(join(GOLDENS_DIR, '..', 'package.json'), 'utf8')) as { version?: unknown };
  return typeof pkg.version === 'string' ? pkg.version : 'unknown';
}

/**
 * Run the reference the way goldens are made (and re-checked): with the harness's FC1
 * error window (ErrorModel.fc1RelativeError), so that the stored fragility analysis is the
 * one the judge uses when it judges a kernel against the stored golden.
 */
export function goldenReference(c: Case, precision: GoldenPrecision = GOLDEN_PRECISION): Promise<Expected> {
  return runReference(c, { precision, fc1RelativeError: errorModel(c.spec.problem).fc1RelativeError });
}

export async function produceGolden(def: GoldenCaseDef, precision: GoldenPrecision = GOLDEN_PRECISION): Promise<ProducedGolden> {
  const c = generateCase(def.spec);
  const expected = await goldenReference(c, precision);
  const inputsBytes = encodeInputs(def.name, c);
  const expectedBytes = encodeExpected(def.name, expected);
  const paths = goldenPaths(def.name);
  const entry: GoldenEntry = {
    name: def.name,
    description: `${describeProblem(def.spec.problem)} [${def.spec.logitFamily} logits, ${def.spec.scaleFamily} scales]: ${def.why}`,
    spec: def.spec,
    seed: def.spec.seed,
    files: {
      inputs: { path: paths.inputs, sha256: sha256Hex(inputsBytes), bytes: inputsBytes.byteLength },
      expected: { path: paths.expected, sha256: sha256Hex(expectedBytes), bytes: expectedBytes.byteLength },
    },
    tolerance: goldenTolerance(def.spec.problem, expected.provenance.precision),
    producer: {
      referenceVersion: referenceVersion(),
      backend: expected.provenance.backend,
      threads: expected.provenance.threads,
      precision: expected.provenance.precision,
      date: new Date().toISOString(),
      node: process.version,
    },
  };
  return { def, case: c, expected, inputsBytes, expectedBytes, entry };
}
