#!/usr/bin/env node
// The npx entry. Runs the compiled CLI (dist/harness/cli.js) only when dist/ is exactly the
// current sources (bin/distFreshness.cjs: a content digest recorded by `npm run build:ts`),
// else the TypeScript sources through tsx, which is what a fresh `npm ci` checkout does:
// nothing needs compiling first. MOE_HARNESS_FROM_SOURCE=1 forces the sources.
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const dist = join(root, 'dist', 'harness', 'cli.js');
const { distFreshness } = createRequire(import.meta.url)('./distFreshness.cjs');

let useDist = process.env.MOE_HARNESS_FROM_SOURCE !== '1' && existsSync(dist);
if (useDist) {
  const f = distFreshness(root);
  if (!f.fresh) {
    process.stderr.write(`moe-harness: running the TypeScript sources: ${f.reason}\n`);
    useDist = false;
    // The campaign's children must not run that stale dist/ either (harness/childEntry.ts
    // honours MOE_HARNESS_CHILD; an explicit choice of the caller is kept).
    process.env.MOE_HARNESS_CHILD ||= 'source';
  }
}
let cli;
if (useDist) {
  cli = await import(pathToFileURL(dist).href);
} else {
  const { register } = await import('tsx/esm/api');
  register();
  cli = await import(pathToFileURL(join(root, 'harness', 'cli.ts')).href);
}
// main() answers every bad argument with exit 2 itself; anything it throws is the harness's own
// failure: exit 70 (EX_SOFTWARE, as the CLI's exit-code table says), with the error on stderr.
let code;
try {
  code = await cli.main(process.argv.slice(2));
} catch (e) {
  process.stderr.write(`moe-harness: internal error: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  code = 70;
}
process.exit(code);
