#!/usr/bin/env bash
# Pack a self-contained bundle of the GPU gate (ci/gpu-gate.sh) for GPU hosts with no Node.js
# and no network (docs/ci.md):
#   node.xz             the Node runtime that built it
#   node_modules.tar.xz the packages the gate loads (production deps, plus ava, tsx and tap-junit
#                       that the GPU suites and the JUnit conversion run with), pruned
#   build.tar.xz        dist/ (compiled JS), the release AND faults addons, the native driver (timing,
#                       sanitizer and driver-judging steps: native/build/test/moe_gpu_check)
#   source.tar.xz       the tracked tree (test files, goldens, ci scripts)
#   unbundle.sh         ci/unbundle.sh, so that two commands unpack and run the gate
#
#   npm run bundle:gpu               (= npm run build:ts && bash ci/bundle.sh .bundle)
#   bash ci/bundle.sh [OUTDIR]       (default OUTDIR: .bundle, ignored by git)
#
# Builds what is missing: the faults addon (node native/build.mjs --faults) and the driver
# (cmake --build native/build --target moe_gpu_check). Refuses (exit 1, naming it) when the
# release addon was built without CUDA, when anything the gate needs is absent afterwards, or
# when the bundle exceeds 64 MiB.
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-.bundle}
limit=$(( 64 * 1024 * 1024 ))
die() { echo "bundle: $*" >&2; exit 1; }

[ -f dist/harness/cli.js ] || die "dist/ missing: run 'npm run build:ts' first (npm run bundle:gpu does)"
[ -f native/build/Release/moe_native.node ] || die "native/build/Release/moe_native.node missing: run 'npm ci' (or node native/build.mjs) first"
cuda=$(node --input-type=module -e '
  const n = await import(process.argv[1]); const s = n.nativeStatus();
  console.log(s.loaded && s.builtWithCuda ? "yes" : `no: ${s.reason ?? "not built with CUDA"}`);' "$PWD/dist/native/index.js")
[ "$cuda" = yes ] || die "the release addon is not a CUDA build ($cuda): a bundle for GPU hosts needs nvcc at build time"
if [ ! -f native/build/Release/moe_native_faults.node ]; then
  echo "bundle: building the faults addon (node native/build.mjs --faults)"
  node native/build.mjs --faults
fi
if [ ! -x native/build/test/moe_gpu_check ]; then
  echo "bundle: building the native driver (cmake --build native/build --target moe_gpu_check)"
  cmake --build native/build --target moe_gpu_check --parallel "$(nproc)"
fi
for f in native/build/Release/moe_native.node native/build/Release/moe_native_faults.node native/build/test/moe_gpu_check \
         node_modules/ava/entrypoints/cli.mjs node_modules/tsx/package.json node_modules/tap-junit/bin/tap-junit; do
  [ -e "$f" ] || die "$f missing after the build steps; the gate needs it"
done

rm -rf "$out"
mkdir -p "$out"
node_bin=$(command -v node)
echo "bundle: node $(node --version) from $node_bin"
# Stripped of its symbol table when strip(1) is here (about 2 MB less once compressed; the
# runtime is the same binary code).
if command -v strip >/dev/null; then
  strip -o "$out/node.stripped" "$node_bin" && xz -T0 -6 -c "$out/node.stripped" > "$out/node.xz" && rm -f "$out/node.stripped"
else
  xz -T0 -6 -c "$node_bin" > "$out/node.xz"
fi
# Pruned: the TypeScript compiler (dist/ is compiled; tsx carries its own esbuild), the build tool
# and its helpers, typings, docs, source maps, and tfjs packages the reference does not load
# (it uses tfjs-core + tfjs-backend-wasm; tfjs-node is optional and not built here); playwright-core
# (the report's browser test, a CPU suite) and core-js (no runtime importer) are not needed by the gate.
tar -cf - \
  --exclude='node_modules/typescript' --exclude='node_modules/cmake-js' --exclude='node_modules/wabt' \
  --exclude='node_modules/@types' --exclude='node_modules/.cache' \
  --exclude='node_modules/playwright-core' --exclude='node_modules/core-js' \
  --exclude='node_modules/@tensorflow/tfjs' --exclude='node_modules/@tensorflow/tfjs-node' \
  --exclude='node_modules/@tensorflow/tfjs-layers' --exclude='node_modules/@tensorflow/tfjs-converter' \
  --exclude='node_modules/@tensorflow/tfjs-data' --exclude='node_modules/@tensorflow/tfjs-backend-webgl' \
  --exclude='*.map' --exclude='*.d.ts' --exclude='*.md' \
  --exclude='node_modules/@tensorflow/*/dist/*.min.js' --exclude='node_modules/@tensorflow/*/dist/*.es2017.js' \
  --exclude='node_modules/@tensorflow/*/dist/*.esm.js' --exclude='node_modules/@tensorflow/*/dist/*.fesm.js' \
  node_modules | xz -T0 -6 > "$out/node_modules.tar.xz"
extra=(); [ -x native/build/test/moe_gpu_check_faults ] && extra=(native/build/test/moe_gpu_check_faults)
# The C ABI door: its host addon and the libraries (ours over the CUDA kernel, the CPU test library).
for f in native/build/Release/*.so native/build/Release/moe_abi_host.node; do [ -e "$f" ] && extra+=("$f"); done
tar -cf - dist native/build/Release/moe_native.node native/build/Release/moe_native_faults.node native/build/test/moe_gpu_check "${extra[@]}" \
  | xz -T0 -6 > "$out/build.tar.xz"
git ls-files -z | tar -cf - --null -T - | xz -T0 -6 > "$out/source.tar.xz"
cp ci/unbundle.sh "$out/unbundle.sh"
du -h "$out"/*
total=$(du -cb "$out"/* | tail -n 1 | cut -f1)
echo "bundle: $out: $(( total / 1024 / 1024 )) MiB ($total bytes; limit 64 MiB)"
[ "$total" -le "$limit" ] || die "the bundle is $total bytes, over the 64 MiB limit"
echo "bundle: on the GPU host: bash $out/unbundle.sh $out DIR && bash DIR/ci/gpu-gate.sh DIR/reports/gate"
