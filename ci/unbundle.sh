#!/usr/bin/env bash
# Unpack a bundle made by ci/bundle.sh (npm run bundle:gpu) on a GPU host without Node.js:
#   bash BUNDLE_DIR/unbundle.sh BUNDLE_DIR TARGET_DIR
# TARGET_DIR gets the source tree (unless it already is a checkout), node at .node/bin/node,
# node_modules, dist/, both native addons and the native driver. ci/gpu-gate.sh puts
# TARGET_DIR/.node/bin on PATH by itself; for other commands: export PATH=TARGET_DIR/.node/bin:$PATH.
set -euo pipefail
[ $# -ge 1 ] || { echo "usage: unbundle.sh BUNDLE_DIR [TARGET_DIR]" >&2; exit 2; }
b=$(cd "$1" && pwd); t=${2:-.}
for f in node.xz node_modules.tar.xz build.tar.xz source.tar.xz; do
  [ -f "$b/$f" ] || { echo "unbundle: BUNDLE_DIR: expected $b/$f (made by ci/bundle.sh), missing" >&2; exit 2; }
done
mkdir -p "$t" && cd "$t"
if [ ! -f package.json ]; then xz -dc "$b/source.tar.xz" | tar -xf -; fi
mkdir -p .node/bin
xz -dc "$b/node.xz" > .node/bin/node && chmod +x .node/bin/node
xz -dc "$b/node_modules.tar.xz" | tar -xf -
xz -dc "$b/build.tar.xz" | tar -xf -
echo "unbundle: ready in $(pwd) (node $(.node/bin/node --version)); run: bash $(pwd)/ci/gpu-gate.sh"
