/**
 * A CMake cache made in another checkout (a copied or moved tree) is detected, so
 * build.mjs starts from an empty build directory instead of failing or building the old
 * tree. Fake caches only: no CMake or CUDA build runs here.
 */
import test from 'ava';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readCMakeCache, staleCacheReason } from './buildCache.mjs';

function cache(home: string, cacheDir: string): string {
  return [
    '# This is the CMakeCache file.',
    `# For build in directory: ${cacheDir}`,
    'CMAKE_BUILD_TYPE:STRING=Release',
    `CMAKE_CACHEFILE_DIR:INTERNAL=${cacheDir}`,
    `CMAKE_HOME_DIRECTORY:INTERNAL=${home}`,
    `moe_native_SOURCE_DIR:STATIC=${home}`,
    '',
  ].join('\n');
}

function checkout(): { root: string; src: string; build: string } {
  const root = mkdtempSync(join(tmpdir(), 'moe-cmake-'));
  const src = join(root, 'native');
  const build = join(src, 'build');
  mkdirSync(build, { recursive: true });
  return { root, src, build };
}

test('no cache: nothing to remove', (t) => {
  const c = checkout();
  try {
    t.is(staleCacheReason(c.build, c.src), null);
    t.is(staleCacheReason(join(c.root, 'absent'), c.src), null);
  } finally {
    rmSync(c.root, { recursive: true, force: true });
  }
});

test("this checkout's own cache is reused", (t) => {
  const c = checkout();
  try {
    writeFileSync(join(c.build, 'CMakeCache.txt'), cache(c.src, c.build));
    t.is(staleCacheReason(c.build, c.src), null);
  } finally {
    rmSync(c.root, { recursive: true, force: true });
  }
});

test('a cache copied from another checkout names the old source directory and is refused', (t) => {
  const c = checkout();
  try {
    writeFileSync(join(c.build, 'CMakeCache.txt'), cache('/work/main/native', '/work/main/native/build'));
    const why = staleCacheReason(c.build, c.src);
    t.truthy(why);
    t.regex(why!, /CMAKE_HOME_DIRECTORY=\/work\/main\/native/);
    t.true(why!.includes(c.src), why!);
  } finally {
    rmSync(c.root, { recursive: true, force: true });
  }
});

test('same sources, build directory moved: refused (CMAKE_CACHEFILE_DIR)', (t) => {
  const c = checkout();
  try {
    writeFileSync(join(c.build, 'CMakeCache.txt'), cache(c.src, '/elsewhere/build'));
    t.regex(staleCacheReason(c.build, c.src) ?? '', /CMAKE_CACHEFILE_DIR=\/elsewhere\/build/);
  } finally {
    rmSync(c.root, { recursive: true, force: true });
  }
});

test('a truncated cache (no pinned entries) is refused rather than trusted', (t) => {
  const c = checkout();
  try {
    writeFileSync(join(c.build, 'CMakeCache.txt'), '# truncated\nCMAKE_BUILD_TYPE:STRING=Release\n');
    t.regex(staleCacheReason(c.build, c.src) ?? '', /no CMAKE_HOME_DIRECTORY entry/);
  } finally {
    rmSync(c.root, { recursive: true, force: true });
  }
});

test('readCMakeCache parses KEY:TYPE=value lines and skips comments', (t) => {
  const m = readCMakeCache('# c\n//doc\nA:STRING=x=y\nB:INTERNAL=\n');
  t.is(m.get('A'), 'x=y');
  t.is(m.get('B'), '');
  t.is(m.size, 2);
});
