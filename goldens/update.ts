/**
 * `npm run goldens:update [-- name1 name2 …] [--dry-run] [--force] [--precision float64|float32]`
 *
 * Regenerates every golden case (or the named ones) from goldens/cases.ts: generates the
 * Case, runs the reference, writes goldens/cases/<name>.{inputs,expected}.safetensors and
 * goldens/manifest.json, then prints what changed and by how much, per case and tensor.
 * Nothing regenerates implicitly: tests only read. Refuses to run when the environment
 * variable CI is set (CI never writes goldens) unless --force is given.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { GOLDEN_CASES, type GoldenCaseDef } from './cases.js';
import { describeDiff, diffSafetensors, type TensorDiff } from './diffTensors.js';
import { CASES_SUBDIR } from './goldenFiles.js';
import { GOLDENS_DIR, MANIFEST_FILE, MANIFEST_FORMAT, readManifest, writeManifest, type GoldenEntry, type GoldenManifest } from './manifest.js';
import { GOLDEN_PRECISION, produceGolden } from './produce.js';
import { readSafetensors } from './safetensors.js';
import { shutdownReference } from '../reference/moe.js';
import type { GoldenPrecision } from './tolerance.js';

export interface UpdateOptions {
  readonly names: readonly string[];
  /** 'write' the files and manifest, or 'dry_run': report what would change, write nothing (--dry-run). */
  readonly write: 'write' | 'dry_run';
  /** Under CI (env CI set): 'refuse' (default), or 'allow' (--force). */
  readonly underCi: 'refuse' | 'allow';
  readonly precision: GoldenPrecision;
  readonly dir: string;
}

const USAGE = 'usage: npm run goldens:update [-- name1 name2 ...] [--dry-run] [--force] [--precision float64|float32]';

/** Parse argv (after the script name). Returns a message string on bad usage. */
export function parseUpdateArgs(argv: readonly string[], dir = GOLDENS_DIR): UpdateOptions | string {
  const names: string[] = [];
  let write: UpdateOptions['write'] = 'write';
  let underCi: UpdateOptions['underCi'] = 'refuse';
  let precision: GoldenPrecision = GOLDEN_PRECISION;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--dry-run') write = 'dry_run';
    else if (a === '--force') underCi = 'allow';
    else if (a === '--precision' || a.startsWith('--precision=')) {
      const v = a.includes('=') ? a.slice(a.indexOf('=') + 1) : argv[++i];
      if (v !== 'float64' && v !== 'float32') return `--precision: expected float64 or float32, got ${JSON.stringify(v)}\n${USAGE}`;
      precision = v;
    } else if (a === '--help' || a === '-h') return USAGE;
    else if (a.startsWith('-')) return `unknown option ${a}\n${USAGE}`;
    else names.push(a);
  }
  const known = new Set(GOLDEN_CASES.map((c) => c.name));
  const unknown = names.filter((n) => !known.has(n));
  if (unknown.length > 0) return `unknown golden case(s): ${unknown.join(', ')}\nknown: ${[...known].join(', ')}`;
  return { names, write, underCi, precision, dir };
}

/** Whether env says we run under CI (any non-empty value but "0"/"false"). */
export function isCi(env: NodeJS.ProcessEnv): boolean {
  const v = env.CI;
  return v !== undefined && v !== '' && v !== '0' && v.toLowerCase() !== 'false';
}

function readIfExists(path: string): Uint8Array | null {
  return existsSync(path) ? readFileSync(path) : null;
}

function summarize(diffs: readonly TensorDiff[]): string[] {
  const same = diffs.filter((d) => d.status === 'identical').length;
  const lines = diffs.filter((d) => d.status !== 'identical').map((d) => `    ${describeDiff(d)}`);
  if (same > 0) lines.push(`    (${same} tensor${same === 1 ? '' : 's'} identical)`);
  return lines;
}

const sameJson = (a: unknown, b: unknown): boolean => JSON.stringify(a) === JSON.stringify(b);

export async function updateGoldens(o: UpdateOptions, log: (line: string) => void = console.log): Promise<GoldenManifest> {
  const old: GoldenManifest | null = existsSync(join(o.dir, MANIFEST_FILE)) ? readManifest(o.dir) : null;
  const oldByName = new Map((old?.cases ?? []).map((c) => [c.name, c]));
  const selected: readonly GoldenCaseDef[] = o.names.length === 0 ? GOLDEN_CASES : GOLDEN_CASES.filter((c) => o.names.includes(c.name));
  const fresh = new Map<string, GoldenEntry>();
  const writes: Array<[string, Uint8Array]> = [];
  let changedCases = 0;

  for (const def of selected) {
    const started = Date.now();
    const g = await produceGolden(def, o.precision);
    const prev = oldByName.get(def.name);
    const parts: string[] = [];
    let identical = prev !== undefined;
    for (const kind of ['inputs', 'expected'] as const) {
      const bytes = kind === 'inputs' ? g.inputsBytes : g.expectedBytes;
      const path = g.entry.files[kind].path;
      const before = readIfExists(join(o.dir, path));
      const same = before !== null && Buffer.compare(Buffer.from(before), Buffer.from(bytes)) === 0;
      if (!same) identical = false;
      let prevFile = null;
      try {
        prevFile = before ? readSafetensors(before, path) : null;
      } catch (e) {
        parts.push(`    ${path}: previous file unreadable (${(e as Error).message})`);
      }
      parts.push(`  ${path}: ${before === null ? 'new' : same ? 'identical' : 'changed'} (${bytes.byteLength} bytes)`);
      if (!same && before !== null) parts.push(...summarize(diffSafetensors(prevFile, readSafetensors(bytes, path))));
      writes.push([path, bytes]);
    }
    // Keep the old entry (its producer and date) when nothing about the case changed.
    const keepOld = identical && prev !== undefined && sameJson(prev.spec, g.entry.spec) &&
      sameJson(prev.tolerance, g.entry.tolerance) && prev.description === g.entry.description &&
      prev.producer.precision === g.entry.producer.precision;
    fresh.set(def.name, keepOld ? prev : g.entry);
    if (!keepOld) changedCases++;
    const status = prev === undefined ? 'new' : keepOld ? 'identical' : identical ? 'files identical, manifest entry changed' : 'changed';
    log(`${def.name}: ${status} (${Date.now() - started} ms)`);
    if (!keepOld) parts.forEach((l) => log(l));
  }

  // Manifest order follows GOLDEN_CASES; a subset update keeps every other entry as it was.
  const cases: GoldenEntry[] = [];
  for (const def of GOLDEN_CASES) {
    const e = fresh.get(def.name) ?? oldByName.get(def.name);
    if (e) cases.push(e);
    else log(`note: ${def.name} has never been generated (run npm run goldens:update -- ${def.name})`);
  }
  const orphans = (old?.cases ?? []).filter((c) => !GOLDEN_CASES.some((d) => d.name === c.name));
  if (o.names.length > 0) {
    cases.push(...orphans);
    for (const c of orphans) log(`note: ${c.name} is in the manifest but no longer in goldens/cases.ts (a full update removes it)`);
  } else {
    for (const c of orphans) log(`${c.name}: removed (no longer in goldens/cases.ts)`);
  }
  const manifest: GoldenManifest = { format: MANIFEST_FORMAT, cases };
  const total = cases.reduce((s, c) => s + c.files.inputs.bytes + c.files.expected.bytes, 0);
  log(`${selected.length} case(s) regenerated, ${changedCases} changed; manifest: ${cases.length} cases, ${(total / 1e6).toFixed(2)} MB`);

  if (o.write === 'dry_run') {
    log('dry run: nothing written');
    return manifest;
  }
  mkdirSync(join(o.dir, CASES_SUBDIR), { recursive: true });
  for (const [path, bytes] of writes) writeFileSync(join(o.dir, path), bytes);
  writeManifest(manifest, o.dir);
  if (o.names.length === 0) {
    const keep = new Set(cases.flatMap((c) => [c.files.inputs.path, c.files.expected.path]));
    for (const f of readdirSync(join(o.dir, CASES_SUBDIR))) {
      const rel = `${CASES_SUBDIR}/${f}`;
      if (f.endsWith('.safetensors') && !keep.has(rel)) {
        rmSync(join(o.dir, rel));
        log(`deleted ${rel} (not in the manifest)`);
      }
    }
  }
  return manifest;
}

export async function main(argv: readonly string[], env: NodeJS.ProcessEnv): Promise<number> {
  const o = parseUpdateArgs(argv);
  if (typeof o === 'string') {
    console.error(o);
    return o === USAGE ? 0 : 2;
  }
  if (isCi(env) && o.underCi === 'refuse') {
    console.error('goldens:update refuses to run under CI (env CI is set): CI never writes goldens. Pass --force to override.');
    return 3;
  }
  try {
    await updateGoldens(o);
  } finally {
    await shutdownReference();
  }
  return 0;
}

if (process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  process.exitCode = await main(process.argv.slice(2), process.env);
}
