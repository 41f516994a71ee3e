/**
 * One golden case on disk: `cases/<name>.inputs.safetensors` (the Case) and
 * `cases/<name>.expected.safetensors` (the reference's outputs).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Case, CaseSpec } from '../reference/case.js';
import type { Expected } from '../reference/expected.js';
import { caseToTensors, INPUTS_KIND, tensorsToCase } from './caseTensors.js';
import { EXPECTED_KIND, expectedToTensors, tensorsToExpected, type StoredExpected } from './expectedTensors.js';
import { GOLDENS_DIR, type GoldenEntry } from './manifest.js';
import { readSafetensors, writeSafetensors } from './safetensors.js';
import { BadArgumentError } from '../reference/errors.js';

export const CASES_SUBDIR = 'cases';

export function goldenPaths(name: string): { inputs: string; expected: string } {
  return {
    inputs: `${CASES_SUBDIR}/${name}.inputs.safetensors`,
    expected: `${CASES_SUBDIR}/${name}.expected.safetensors`,
  };
}

export function encodeInputs(name: string, c: Case): Uint8Array {
  return writeSafetensors(caseToTensors(c), {
    format: INPUTS_KIND,
    case: name,
    spec: JSON.stringify(c.spec),
  });
}

export function encodeExpected(name: string, e: Expected): Uint8Array {
  const { tensors, metadata } = expectedToTensors(e);
  return writeSafetensors(tensors, { ...metadata, format: EXPECTED_KIND, case: name });
}

function checkKind(meta: Readonly<Record<string, string>>, kind: string, name: string, source: string): void {
  if (meta.format !== kind) throw new BadArgumentError(`${source}: __metadata__.format`, kind, JSON.stringify(meta.format));
  if (meta.case !== name) throw new BadArgumentError(`${source}: __metadata__.case`, JSON.stringify(name), JSON.stringify(meta.case));
}

export function decodeInputs(name: string, spec: CaseSpec, bytes: Uint8Array, source = `${name}.inputs.safetensors`): Case {
  const f = readSafetensors(bytes, source);
  checkKind(f.metadata, INPUTS_KIND, name, source);
  return tensorsToCase(spec, f.tensors, source);
}

export function decodeExpected(name: string, spec: CaseSpec, bytes: Uint8Array, source = `${name}.expected.safetensors`): StoredExpected {
  const f = readSafetensors(bytes, source);
  checkKind(f.metadata, EXPECTED_KIND, name, source);
  return tensorsToExpected(spec.problem, f.tensors, f.metadata, source);
}

/** Load a stored golden case (no hash check: see assertGoldenFiles). */
export function loadGoldenCase(entry: GoldenEntry, dir = GOLDENS_DIR): { case: Case; expected: StoredExpected } {
  const inPath = join(dir, entry.files.inputs.path);
  const exPath = join(dir, entry.files.expected.path);
  return {
    case: decodeInputs(entry.name, entry.spec, readFileSync(inPath), entry.files.inputs.path),
    expected: decodeExpected(entry.name, entry.spec, readFileSync(exPath), entry.files.expected.path),
  };
}
