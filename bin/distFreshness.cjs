// Whether the compiled dist/ is exactly the current TypeScript sources, by content.
//
// `npm run build:ts` records a SHA-256 of every source file tsc compiles (non-test .ts/.mts/
// .cts under the source folders, plus the tsconfig files) in dist/.sources.sha256: `begin`
// removes the old record and computes the digest BEFORE tsc runs, `commit` publishes it only
// after tsc succeeded. At run time distFreshness() recomputes the digest and compares: any
// edit, in any file of the import graph (or any other source file), whatever its timestamp,
// makes dist/ stale, and stale compiled code is never run. A dist/ without the record (built
// by a bare `tsc`, or a failed build) counts as stale too.
//
// CommonJS on purpose: bin/moe-harness.js imports it before any TypeScript loader exists,
// and TypeScript code loads it synchronously through createRequire (harness/distFreshness.ts).
'use strict';
const { createHash } = require('node:crypto');
const { existsSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync, writeFileSync } = require('node:fs');
const path = require('node:path');

/** Folders tsc compiles (tsconfig.json "include"), and the files that steer the compile. */
const SOURCE_DIRS = ['reference', 'harness', 'properties', 'goldens', 'native', 'ci', 'bin'];
const CONFIG_FILES = ['tsconfig.json', 'tsconfig.build.json'];
const SKIP_DIRS = new Set(['node_modules', 'build', 'dist']);
const RECORD = '.sources.sha256';
const PENDING = '.sources.sha256.pending';

function isSource(name) {
  return /\.(c|m)?ts$/.test(name) && !/\.test\.(c|m)?ts$/.test(name);
}

/** Relative paths (forward slashes, sorted) of every file the digest covers. */
function sourceFiles(root) {
  const out = [];
  const walk = (rel) => {
    const abs = path.join(root, rel);
    if (!existsSync(abs)) return;
    for (const e of readdirSync(abs, { withFileTypes: true })) {
      const r = rel + '/' + e.name;
      if (e.isDirectory()) {
        if (!SKIP_DIRS.has(e.name)) walk(r);
      } else if (e.isFile() && isSource(e.name)) {
        out.push(r);
      }
    }
  };
  for (const d of SOURCE_DIRS) walk(d);
  for (const f of CONFIG_FILES) if (existsSync(path.join(root, f))) out.push(f);
  return out.sort();
}

/** SHA-256 (hex) over every covered file's relative path and bytes. */
function sourceDigest(root) {
  const h = createHash('sha256');
  for (const rel of sourceFiles(root)) {
    h.update(rel);
    h.update('\0');
    h.update(readFileSync(path.join(root, rel)));
    h.update('\0');
  }
  return h.digest('hex');
}

/**
 * { fresh, reason }: fresh only when dist/ holds a build record equal to the digest of the
 * sources now; reason says why not (or names the digest when fresh).
 */
function distFreshness(root) {
  const dist = path.join(root, 'dist');
  if (!existsSync(dist)) return { fresh: false, reason: 'dist/ does not exist (npm run build:ts makes it)' };
  const record = path.join(dist, RECORD);
  if (!existsSync(record)) {
    return { fresh: false, reason: `dist/${RECORD} is missing (dist/ was not completed by npm run build:ts)` };
  }
  const built = readFileSync(record, 'utf8').trim();
  const now = sourceDigest(root);
  if (built !== now) return { fresh: false, reason: 'the sources changed since dist/ was built (npm run build:ts refreshes it)' };
  return { fresh: true, reason: `dist/ matches the sources (sha256 ${now.slice(0, 12)})` };
}

/** build:ts, before tsc: drop the old record, remember the digest of what tsc will read. */
function begin(root) {
  const dist = path.join(root, 'dist');
  mkdirSync(dist, { recursive: true });
  rmSync(path.join(dist, RECORD), { force: true });
  writeFileSync(path.join(dist, PENDING), sourceDigest(root) + '\n');
}

/** build:ts, after tsc succeeded: publish the digest remembered by begin(). */
function commit(root) {
  const dist = path.join(root, 'dist');
  const pending = path.join(dist, PENDING);
  if (!existsSync(pending)) throw new Error(`${pending} is missing: run "begin" before tsc`);
  renameSync(pending, path.join(dist, RECORD));
}

module.exports = { sourceFiles, sourceDigest, distFreshness, begin, commit };

if (require.main === module) {
  const root = path.join(__dirname, '..');
  const verbs = { begin, commit, check: (r) => console.log(distFreshness(r).reason) };
  const verb = process.argv[2];
  if (!Object.prototype.hasOwnProperty.call(verbs, verb)) {
    console.error(`bin/distFreshness.cjs: expected one of ${Object.keys(verbs).join(', ')} as the first argument, got ${JSON.stringify(verb)}`);
    process.exit(2);
  }
  verbs[verb](root);
}
