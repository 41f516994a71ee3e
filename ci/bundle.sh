#!/usr/bin/env bash
# Pack a self-contained bundle for GPU hosts that have no Node.js and no network:
#   the Node runtime, node_modules (production + test deps, pruned), the compiled dist/,
#   the built native addons, and the source tree. Unpack with ci/unbundle.sh.
#
#   bash ci/bundle.sh [OUTDIR]        (default OUTDIR: .bundle, ignored by git)
#
# Run `npm ci` (builds the addon) and `npm run build:ts` first; add
# `node native/build.mjs --faults` to include the fault-injection build.
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-.bundle}
mkdir -p "$out"
[ -d dist ] || { echo "bundle: dist/ missing: run 'npm run build:ts' first" >&2; exit 1; }
ls native/build/Release/*.node >/dev/null 2>&1 || { echo "bundle: native/build/Release/*.node missing: run 'npm ci' (or node native/build.mjs) first" >&2; exit 1; }
node_bin=$(command -v node)
echo "bundle: node $(node --version) from $node_bin"
xz -T0 -6 -c "$node_bin" > "$out/node.xz"
# Pruned dependencies: no TypeScript compiler (dist/ is compiled), no source maps, docs or typings.
tar -cf - --exclude='node_modules/typescript' --exclude='*.map' --exclude='*.d.ts' --exclude='*.md' \
  --exclude='node_modules/@tensorflow/*/dist/*.min.js' --exclude='node_modules/@tensorflow/*/dist/*.es2017.js' \
  node_modules | xz -T0 -6 > "$out/node_modules.tar.xz"
tar -cf - dist native/build/Release/*.node | xz -T0 -6 > "$out/build.tar.xz"
git ls-files -z | tar -cf - --null -T - | xz -T0 -6 > "$out/source.tar.xz"
du -ch "$out"/*.xz | tail -n 20
