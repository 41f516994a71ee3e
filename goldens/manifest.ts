/**
 * goldens/manifest.json: what each golden case is, how it was made, and the sha256 of
 * every file it owns. The files live under goldens/cases/ (paths in the manifest are
 * relative to the goldens directory, '/'-separated).
 */
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { CaseSpec } from '../reference/case.js';
import { BadArgumentError } from '../reference/errors.js';
import { sha256File } from './hash.js';
import type { GoldenPrecision, GoldenTolerance } from './tolerance.js';

export const MANIFEST_FORMAT = 'moe-harness-goldens/1';

/** The directory holding manifest.json and cases/. */
export const GOLDENS_DIR = dirname(fileURLToPath(import.meta.url));
export const MANIFEST_FILE = 'manifest.json';

export interface GoldenFile {
  /** Relative to the goldens directory, e.g. "cases/t1.inputs.safetensors". */
  readonly path: string;
  readonly sha256: string;
  readonly bytes: number;
}

export interface GoldenProducer {
  /** package.json version of moe-harness that produced the files. */
  readonly referenceVersion: string;
  /** Reference backend name (e.g. "float64-oracle", "wasm") and its thread count. */
  readonly backend: string;
  readonly threads: number;
  readonly precision: GoldenPrecision;
  /** ISO 8601 time of production. */
  readonly date: string;
  readonly node: string;
}

export interface GoldenEntry {
  readonly name: string;
  /** describeProblem(spec.problem) plus what the case is for. */
  readonly description: string;
  readonly spec: CaseSpec;
  readonly seed: number;
  readonly files: { readonly inputs: GoldenFile; readonly expected: GoldenFile };
  readonly tolerance: GoldenTolerance;
  readonly producer: GoldenProducer;
}

export interface GoldenManifest {
  readonly format: typeof MANIFEST_FORMAT;
  readonly cases: readonly GoldenEntry[];
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Parse and structurally check a manifest's JSON text. */
export function parseManifest(text: string, source = MANIFEST_FILE): GoldenManifest {
  let m: unknown;
  try {
    m = JSON.parse(text);
  } catch (e) {
    throw new BadArgumentError(source, 'valid JSON', (e as Error).message);
  }
  if (!isObject(m) || m.format !== MANIFEST_FORMAT) {
    throw new BadArgumentError(`${source}: format`, JSON.stringify(MANIFEST_FORMAT), JSON.stringify(isObject(m) ? m.format : m));
  }
  if (!Array.isArray(m.cases)) throw new BadArgumentError(`${source}: cases`, 'an array', typeof m.cases);
  const names = new Set<string>();
  for (const [i, c] of m.cases.entries()) {
    const where = `${source}: cases[${i}]`;
    if (!isObject(c) || typeof c.name !== 'string' || !/^[a-z0-9][a-z0-9_-]*$/.test(c.name)) {
      throw new BadArgumentError(`${where}.name`, 'a lowercase name [a-z0-9_-]', JSON.stringify(isObject(c) ? c.name : c));
    }
    if (names.has(c.name)) throw new BadArgumentError(`${where}.name`, 'a unique name', JSON.stringify(c.name));
    names.add(c.name);
    if (!isObject(c.spec) || !isObject(c.spec.problem)) throw new BadArgumentError(`${where}.spec`, 'a CaseSpec', JSON.stringify(c.spec));
    if (!isObject(c.files) || !isObject(c.tolerance) || !isObject(c.producer)) {
      throw new BadArgumentError(where, 'files, tolerance and producer objects', Object.keys(c).join(', '));
    }
    for (const k of ['inputs', 'expected'] as const) {
      const f = c.files[k];
      if (!isObject(f) || typeof f.path !== 'string' || typeof f.sha256 !== 'string' || !/^[0-9a-f]{64}$/.test(f.sha256) ||
        typeof f.bytes !== 'number' || f.path.includes('..') || f.path.startsWith('/')) {
        throw new BadArgumentError(`${where}.files.${k}`, '{path (relative), sha256 (64 hex), bytes}', JSON.stringify(f));
      }
    }
  }
  return m as unknown as GoldenManifest;
}

export function readManifest(dir = GOLDENS_DIR): GoldenManifest {
  const path = join(dir, MANIFEST_FILE);
  return parseManifest(readFileSync(path, 'utf8'), path);
}

export function writeManifest(manifest: GoldenManifest, dir = GOLDENS_DIR): void {
  writeFileSync(join(dir, MANIFEST_FILE), JSON.stringify(manifest, null, 2) + '\n');
}

export interface FileProblem {
  /** Path of the file (relative to the goldens directory). */
  readonly file: string;
  readonly problem: string;
}

/** Every golden file listed in the manifest, checked for presence, size and sha256. */
export function checkGoldenFiles(manifest: GoldenManifest, dir = GOLDENS_DIR): FileProblem[] {
  const problems: FileProblem[] = [];
  for (const c of manifest.cases) {
    for (const f of [c.files.inputs, c.files.expected]) {
      const path = join(dir, f.path);
      if (!existsSync(path)) {
        problems.push({ file: f.path, problem: `missing (case ${c.name})` });
        continue;
      }
      const size = statSync(path).size;
      if (size !== f.bytes) {
        problems.push({ file: f.path, problem: `size ${size} bytes, manifest says ${f.bytes} (case ${c.name}; truncated or replaced?)` });
        continue;
      }
      const sha = sha256File(path);
      if (sha !== f.sha256) problems.push({ file: f.path, problem: `sha256 ${sha}, manifest says ${f.sha256} (case ${c.name})` });
    }
  }
  return problems;
}

/** Throw unless every file matches the manifest; the message names each bad file. */
export function assertGoldenFiles(manifest: GoldenManifest, dir = GOLDENS_DIR): void {
  const problems = checkGoldenFiles(manifest, dir);
  if (problems.length > 0) {
    throw new BadArgumentError(
      'golden files',
      'every file to match goldens/manifest.json (run `npm run goldens:update` only if the change is intended)',
      problems.map((p) => `${p.file}: ${p.problem}`).join('; '),
    );
  }
}

/** The manifest entry of a case, by name. */
export function manifestEntry(manifest: GoldenManifest, name: string): GoldenEntry {
  const e = manifest.cases.find((c) => c.name === name);
  if (!e) throw new BadArgumentError('golden case', `one of ${manifest.cases.map((c) => c.name).join(', ')}`, JSON.stringify(name));
  return e;
}
