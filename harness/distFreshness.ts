/**
 * Whether dist/ is exactly the current sources (content digest; bin/distFreshness.cjs holds
 * the one implementation, shared with the npx entry). Child selection (childEntry.ts) should
 * run dist/harness/child.js only when distFreshness(projectRoot()).fresh.
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type * as Impl from '../bin/distFreshness.cjs';

export type { DistFreshness } from '../bin/distFreshness.cjs';

/** bin/distFreshness.cjs of the project holding this file (from the sources or from dist/). */
function impl(): typeof Impl {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'bin', 'distFreshness.cjs'))) {
    const up = dirname(dir);
    if (up === dir) throw new Error(`bin/distFreshness.cjs not found above ${fileURLToPath(import.meta.url)}`);
    dir = up;
  }
  return createRequire(import.meta.url)(join(dir, 'bin', 'distFreshness.cjs')) as typeof Impl;
}

/** Whether `root`/dist is exactly `root`'s current sources, and why not. */
export function distFreshness(root: string): Impl.DistFreshness {
  return impl().distFreshness(root);
}

/** SHA-256 of every source file tsc compiles under `root`, with the tsconfig files. */
export function sourceDigest(root: string): string {
  return impl().sourceDigest(root);
}
