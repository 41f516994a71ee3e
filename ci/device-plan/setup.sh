# Sourced by the device plan's scripts on the GPU host: unpack the runtime, the packages and the
# build carried in .device-carry/ (ci/device-plan/pack.sh), then say where and what it runs on.
mkdir -p .node/bin && xz -dc .device-carry/node.xz > .node/bin/node && chmod +x .node/bin/node
xz -dc .device-carry/node_modules.tar.xz | tar -xf -
xz -dc .device-carry/build.tar.xz | tar -xf -
export PATH=$PWD/.node/bin:/usr/local/cuda/bin:$PATH
AVA="node node_modules/ava/entrypoints/cli.mjs"
S=$(date +%s)
el() { echo "[+$(( $(date +%s) - S ))s]"; }
left() { echo $(( ${1:-570} - ($(date +%s) - S) )); }
echo "device: $(nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader) · $(nproc) cores · $(date -u +%FT%TZ) · build of $(cat .device-carry/commit 2>/dev/null || echo '?')"
# cap N: N seconds, or what is left of the call's limit $L if less (never 0: `timeout 0` is none).
cap() { local l; l=$(left "${L:-570}"); [ "$l" -gt "$1" ] && echo "$1" || { [ "$l" -gt 1 ] && echo "$l" || echo 1; }; }
# benchVariants FILE ROUNDS CAP TS TACTICS NAME…: /tmp/moe_bench_NAME of each NAME alternated, ROUNDS
# rounds (medians of 5 reps, the three configurations), the ROW and copy lines appended to FILE
# with NAME and the round in front ("main1 ROW …").
benchVariants() {
  local file=$1 rounds=$2 c=$3 ts=$4 tactics=$5 r v rc; shift 5
  mkdir -p /tmp/bo
  for r in $(seq "$rounds"); do for v in "$@"; do
    timeout "$(cap "$c")" /tmp/moe_bench_$v --out /tmp/bo --configs deepseek-v3,qwen3-235b-a22b,gpt-oss-120b --T "$ts" --tactics "$tactics" --reps 5 --copy-mib 256 > /tmp/b-$v-$r.txt 2>&1
    rc=$?; echo "$v round $r T=$ts rc=$rc $(el)"; grep -E "^ROW|^copy" /tmp/b-$v-$r.txt | sed "s/^/$v$r /" >> "$file"
  done; done
}
# (ci/device-plan/compare_variants.py reads such a FILE: each build against the base, and the sums.)
