// Whether native/build's CMake cache belongs to this checkout. A copied or moved checkout
// carries a CMakeCache.txt naming the old source and build directories; CMake then refuses
// to configure ("does not match the source ... used to generate cache") or, worse, builds
// the old tree. build.mjs asks staleCacheReason() first and starts from an empty build
// directory when it names a reason.
import { existsSync, readFileSync, realpathSync } from 'node:fs';
import path from 'node:path';

/** The cache entries that pin a build directory to one source tree. */
const PINNED = ['CMAKE_HOME_DIRECTORY', 'CMAKE_CACHEFILE_DIR'];

function real(p) {
  try {
    return realpathSync(p);
  } catch {
    return path.resolve(p);
  }
}

/** `KEY:TYPE=value` lines of a CMakeCache.txt, as a Map of KEY to value. */
export function readCMakeCache(text) {
  const out = new Map();
  for (const line of text.split(/\r?\n/)) {
    const m = /^([A-Za-z0-9_.-]+):[A-Z]+=(.*)$/.exec(line);
    if (m) out.set(m[1], m[2]);
  }
  return out;
}

/**
 * Why the cache in buildDir cannot be reused for sourceDir, or null when it can (or there
 * is none). A cache without the pinned entries is treated as foreign too (unreadable or
 * truncated: rebuilding is always safe, reusing it is not).
 */
export function staleCacheReason(buildDir, sourceDir) {
  const file = path.join(buildDir, 'CMakeCache.txt');
  if (!existsSync(file)) return null;
  let entries;
  try {
    entries = readCMakeCache(readFileSync(file, 'utf8'));
  } catch (e) {
    return `${file} is unreadable (${e instanceof Error ? e.message : String(e)})`;
  }
  const want = { CMAKE_HOME_DIRECTORY: real(sourceDir), CMAKE_CACHEFILE_DIR: real(buildDir) };
  for (const key of PINNED) {
    const got = entries.get(key);
    if (got === undefined) return `${file} has no ${key} entry`;
    if (real(got) !== want[key]) return `${file} was made for ${key}=${got}, this checkout needs ${want[key]} (a copied or moved checkout)`;
  }
  return null;
}
