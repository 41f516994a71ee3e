/**
 * How to start the child process: compiled JS (dist/harness/child.js, built by
 * `npm run build:ts`) when present and not older than the sources, else the TypeScript
 * source through tsx (`node --import tsx harness/child.ts`). MOE_HARNESS_CHILD=dist|source
 * forces one.
 */
import { existsSync, readdirSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { BadArgumentError } from '../reference/errors.js';

export interface ChildCommand {
  readonly script: string;
  readonly execArgv: readonly string[];
  readonly from: 'dist' | 'source';
}

/** The project root: the nearest folder above this file holding package.json. */
export function projectRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json'))) {
    const up = dirname(dir);
    if (up === dir) throw new Error('moe-harness: package.json not found above ' + fileURLToPath(import.meta.url));
    dir = up;
  }
  return dir;
}

function newestTs(dir: string): number {
  let newest = 0;
  if (!existsSync(dir)) return newest;
  for (const e of readdirSync(dir, { recursive: true, withFileTypes: true })) {
    if (e.isFile() && e.name.endsWith('.ts') && !e.name.endsWith('.test.ts')) {
      newest = Math.max(newest, statSync(join(e.parentPath ?? (e as unknown as { path: string }).path, e.name)).mtimeMs);
    }
  }
  return newest;
}

export function childCommand(): ChildCommand {
  const root = projectRoot();
  const here = fileURLToPath(import.meta.url);
  const dist = join(root, 'dist', 'harness', 'child.js');
  const source = join(root, 'harness', 'child.ts');
  const tsx = (): ChildCommand => ({
    script: source, from: 'source',
    execArgv: ['--import', pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href],
  });
  const force = process.env.MOE_HARNESS_CHILD;
  if (force !== undefined && force !== '' && force !== 'dist' && force !== 'source') {
    throw new BadArgumentError('MOE_HARNESS_CHILD', "'dist' or 'source'", JSON.stringify(force));
  }
  if (force === 'source') return tsx();
  if (force === 'dist' || here.endsWith('.js')) {
    if (!existsSync(dist)) throw new BadArgumentError('dist/harness/child.js', 'present (run `npm run build:ts`)', 'missing');
    return { script: dist, execArgv: [], from: 'dist' };
  }
  if (existsSync(dist)) {
    const srcNewest = Math.max(...['harness', 'reference', 'native'].map((d) => newestTs(join(root, d))));
    if (statSync(dist).mtimeMs >= srcNewest) return { script: dist, execArgv: [], from: 'dist' };
  }
  return tsx();
}
