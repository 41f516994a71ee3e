#!/usr/bin/env node
// The npx entry: runs the compiled CLI (dist/harness/cli.js, from `npm run build:ts`) when
// present and not older than the TypeScript sources, else the sources through tsx.
// MOE_HARNESS_FROM_SOURCE=1 forces the sources.
import { existsSync, readdirSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const dist = join(root, 'dist', 'harness', 'cli.js');

function newestSource() {
  let newest = 0;
  for (const dir of ['harness', 'reference', 'native', 'properties']) {
    const abs = join(root, dir);
    if (!existsSync(abs)) continue;
    for (const e of readdirSync(abs, { recursive: true, withFileTypes: true })) {
      if (e.isFile() && e.name.endsWith('.ts') && !e.name.endsWith('.test.ts')) {
        newest = Math.max(newest, statSync(join(e.parentPath ?? e.path, e.name)).mtimeMs);
      }
    }
  }
  return newest;
}

let useDist = existsSync(dist) && process.env.MOE_HARNESS_FROM_SOURCE !== '1';
if (useDist && statSync(dist).mtimeMs < newestSource()) {
  process.stderr.write('moe-harness: dist/ is older than the sources; running the TypeScript sources (npm run build:ts refreshes dist/)\n');
  useDist = false;
}
let cli;
if (useDist) {
  cli = await import(pathToFileURL(dist).href);
} else {
  const { register } = await import('tsx/esm/api');
  register();
  cli = await import(pathToFileURL(join(root, 'harness', 'cli.ts')).href);
}
const code = await cli.main(process.argv.slice(2));
process.exit(code);
