#!/usr/bin/env bash
# Unpack a bundle made by ci/bundle.sh into a working tree on a GPU host without Node.js.
#   bash ci/unbundle.sh BUNDLE_DIR [TARGET_DIR]
# TARGET_DIR defaults to the current directory (a checkout: the source tarball is then skipped).
# Puts node at TARGET_DIR/.node/bin/node; prints the PATH line to use.
set -euo pipefail
b=$(cd "$1" && pwd); t=${2:-.}
mkdir -p "$t" && cd "$t"
if [ ! -f package.json ]; then xz -dc "$b/source.tar.xz" | tar -xf -; fi
mkdir -p .node/bin
xz -dc "$b/node.xz" > .node/bin/node && chmod +x .node/bin/node
xz -dc "$b/node_modules.tar.xz" | tar -xf -
xz -dc "$b/build.tar.xz" | tar -xf -
echo "unbundle: ready in $(pwd); use: export PATH=$(pwd)/.node/bin:\$PATH"
