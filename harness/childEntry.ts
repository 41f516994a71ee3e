/**
 * How to start the child process: compiled JS (dist/harness/child.js, built by
 * `npm run build:ts`) when its recorded source digest matches the sources, else the TypeScript
 * source through tsx (`node --import tsx harness/child.ts`). MOE_HARNESS_CHILD=dist|source
 * forces one.
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { distFreshness } from './distFreshness.js';
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
  // Running from source: the compiled child only when its recorded source digest still matches.
  if (existsSync(dist) && distFreshness(root).fresh) return { script: dist, execArgv: [], from: 'dist' };
  return tsx();
}
