#!/usr/bin/env bash
# Pack for a call that compares this branch with a base (default main) in one run: the base's
# addons and drivers as .device-carry/build_main.tar.xz (unpacked over the branch's build by the
# scripts that need the base) and its moe_bench as .device-carry/moe_bench_main.xz; the rest is
# the branch's. Run from a clean checkout of the branch.
#   bash ci/device-plan/pack-compare.sh [BASE]
set -euo pipefail
cd "$(dirname "$0")/../.."
base=${1:-main}
branch=$(git rev-parse --abbrev-ref HEAD)
[ -z "$(git status --porcelain --untracked-files=no)" ] || { echo "pack-compare: commit or stash first" >&2; exit 2; }
files=(native/build/Release/moe_native.node native/build/Release/moe_native_faults.node
       native/build/test/moe_gpu_check native/build/test/moe_gpu_check_faults)
git checkout -q "$base"
cmake --build native/build --target moe_native moe_native_faults moe_gpu_check moe_gpu_check_faults moe_bench --parallel "$(nproc)" >/dev/null
cp native/build/bench/moe_bench /tmp/moe_bench_base
tar -cf /tmp/build_base.tar "${files[@]}"
git checkout -q "$branch"
bash ci/device-plan/pack.sh
xz -T0 -6 -c /tmp/moe_bench_base > .device-carry/moe_bench_main.xz
xz -T0 -6 -c /tmp/build_base.tar > .device-carry/build_main.tar.xz
git rev-parse --short "$base" > .device-carry/commit_main
echo "pack-compare: moe_bench_main.xz and build_main.tar.xz are $base's ($(git rev-parse --short "$base")); the rest is $branch's"
du -ch .device-carry/* | tail -n 1
