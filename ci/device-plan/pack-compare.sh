#!/usr/bin/env bash
# Pack for call 6 on this branch: main's moe_bench beside the branch's build, so that one
# device call times both, alternated. Run from a clean checkout of the branch.
#   bash ci/device-plan/pack-compare.sh [BASE]     (BASE: the ref to compare against, default main)
set -euo pipefail
cd "$(dirname "$0")/../.."
base=${1:-main}
branch=$(git rev-parse --abbrev-ref HEAD)
[ -z "$(git status --porcelain --untracked-files=no)" ] || { echo "pack-compare: commit or stash first" >&2; exit 2; }
git checkout -q "$base"
cmake --build native/build --target moe_bench --parallel "$(nproc)" >/dev/null
cp native/build/bench/moe_bench /tmp/moe_bench_base
git checkout -q "$branch"
bash ci/device-plan/pack.sh
xz -T0 -6 -c /tmp/moe_bench_base > .device-carry/moe_bench_main.xz
echo "pack-compare: .device-carry/moe_bench_main.xz is $base's ($(git rev-parse --short "$base")); the rest is $branch's"
du -ch .device-carry/* | tail -n 1
