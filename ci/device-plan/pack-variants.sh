#!/usr/bin/env bash
# Pack for a call that times several builds of the timing driver in one run: for each NAME=REF,
# moe_bench built at REF as .device-carry/moe_bench_NAME.xz (~0.7 MB each); everything else
# (dist/, addons, drivers) is the current branch's (pack.sh). Run from a clean checkout.
#   bash ci/device-plan/pack-variants.sh main=main v2d=kernel/v-2dgrid vnoov=kernel/v-nooverlap
set -euo pipefail
cd "$(dirname "$0")/../.."
branch=$(git rev-parse --abbrev-ref HEAD)
[ -z "$(git status --porcelain --untracked-files=no)" ] || { echo "pack-variants: commit or stash first" >&2; exit 2; }
[ $# -gt 0 ] || { echo "pack-variants: give NAME=REF pairs" >&2; exit 2; }
rm -rf /tmp/pack-variants && mkdir -p /tmp/pack-variants
for pair in "$@"; do
  name=${pair%%=*}; ref=${pair#*=}
  [[ "$name" =~ ^[a-z0-9_]+$ && -n "$ref" ]] || { echo "pack-variants: '$pair' is not NAME=REF (NAME: a-z, 0-9, _)" >&2; exit 2; }
  git checkout -q "$ref"
  cmake --build native/build --target moe_bench --parallel "$(nproc)" >/dev/null
  xz -T0 -6 -c native/build/bench/moe_bench > /tmp/pack-variants/moe_bench_$name.xz
  echo "$name $(git rev-parse --short HEAD) $ref" >> /tmp/pack-variants/variants
done
git checkout -q "$branch"
bash ci/device-plan/pack.sh
cp /tmp/pack-variants/* .device-carry/
cat .device-carry/variants
du -ch .device-carry/* | tail -n 1
tracked=$(git ls-files -z | xargs -0 du -cb 2>/dev/null | tail -n 1 | cut -f1)
carry=$(du -cb .device-carry/* | tail -n 1 | cut -f1)
echo "pack-variants: tracked tree $(( tracked / 1048576 )) MiB + .device-carry $(( carry / 1048576 )) MiB with the variants (limit 64 MiB together)"
[ $(( tracked + carry )) -le $(( 64 * 1048576 )) ] || { echo "pack-variants: over the 64 MiB a device call carries: fewer variants" >&2; exit 1; }
