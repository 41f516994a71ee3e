/**
 * dist/ counts as the current sources only by content: an edit to any source file (deep in
 * the import graph or not), with its timestamp kept, makes it stale; a dist/ without the
 * build record (bare tsc, failed build) is stale; the real project's record round-trips.
 */
import test from 'ava';
import { mkdirSync, mkdtempSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRequire } from 'node:module';
import type * as Impl from '../bin/distFreshness.cjs';
import { distFreshness, sourceDigest } from './distFreshness.js';

const impl = createRequire(import.meta.url)('../bin/distFreshness.cjs') as typeof Impl;

function fakeProject(): string {
  const root = mkdtempSync(join(tmpdir(), 'moe-dist-'));
  mkdirSync(join(root, 'reference', 'deep'), { recursive: true });
  mkdirSync(join(root, 'harness'), { recursive: true });
  writeFileSync(join(root, 'tsconfig.json'), '{}\n');
  writeFileSync(join(root, 'harness', 'cli.ts'), "import '../reference/epilogue.js';\n");
  writeFileSync(join(root, 'reference', 'epilogue.ts'), "import './deep/leaf.js';\nexport const a = 1;\n");
  writeFileSync(join(root, 'reference', 'deep', 'leaf.ts'), 'export const b = 2;\n');
  writeFileSync(join(root, 'reference', 'deep', 'leaf.test.ts'), 'export {};\n');
  return root;
}

test('begin + commit make dist/ fresh; an edit deep in the graph with its old mtime makes it stale', (t) => {
  const root = fakeProject();
  try {
    t.false(distFreshness(root).fresh, 'no dist/ yet');
    impl.begin(root);
    t.false(distFreshness(root).fresh, 'begin alone (tsc not yet succeeded) is not fresh');
    t.regex(distFreshness(root).reason, /missing/);
    impl.commit(root);
    t.true(distFreshness(root).fresh, distFreshness(root).reason);

    const leaf = join(root, 'reference', 'deep', 'leaf.ts');
    const before = statSync(leaf);
    writeFileSync(leaf, 'export const b = 3;\n');
    utimesSync(leaf, before.atime, before.mtime);
    const f = distFreshness(root);
    t.false(f.fresh);
    t.regex(f.reason, /sources changed/);

    writeFileSync(leaf, 'export const b = 2;\n');
    t.true(distFreshness(root).fresh, 'the same content again is fresh again');

    writeFileSync(join(root, 'reference', 'deep', 'leaf.test.ts'), 'export const x = 1;\n');
    t.true(distFreshness(root).fresh, 'tests are not compiled into dist/: editing one keeps dist/ fresh');
    writeFileSync(join(root, 'tsconfig.json'), '{"compilerOptions": {}}\n');
    t.false(distFreshness(root).fresh, 'a tsconfig change makes dist/ stale');
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('a new source file or a removed one changes the digest', (t) => {
  const root = fakeProject();
  try {
    const d0 = sourceDigest(root);
    writeFileSync(join(root, 'harness', 'extra.ts'), 'export {};\n');
    const d1 = sourceDigest(root);
    t.not(d1, d0);
    rmSync(join(root, 'harness', 'extra.ts'));
    t.is(sourceDigest(root), d0);
    t.deepEqual(impl.sourceFiles(root), ['harness/cli.ts', 'reference/deep/leaf.ts', 'reference/epilogue.ts', 'tsconfig.json']);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('a dist/ built by a bare tsc (no record) is stale', (t) => {
  const root = fakeProject();
  try {
    mkdirSync(join(root, 'dist', 'harness'), { recursive: true });
    writeFileSync(join(root, 'dist', 'harness', 'cli.js'), '');
    const f = distFreshness(root);
    t.false(f.fresh);
    t.regex(f.reason, /\.sources\.sha256 is missing/);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});
