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
# unpackVariants: the pack's own moe_bench as /tmp/moe_bench_all and each variant's
# (pack-variants.sh) as /tmp/moe_bench_NAME; prints the variants' names, commits and refs.
unpackVariants() {
  local v; cp native/build/bench/moe_bench /tmp/moe_bench_all
  for v in $(cut -d' ' -f1 .device-carry/variants); do xz -dc .device-carry/moe_bench_$v.xz > /tmp/moe_bench_$v && chmod +x /tmp/moe_bench_$v; done
  cat .device-carry/variants
}
# ncuSourceDigest FILE SECONDS KERNEL_REGEX BENCH BENCH_ARGS…: source counters (and memory
# workload) of one launch of the kernel (the second: the first may pay for cold caches), within
# SECONDS (or what is left of the call),
# digested into FILE by native/bench/ncu_source_digest.py; its memory figures printed.
ncuSourceDigest() {
  local file=$1 c=$2 re=$3 bench=$4 rep=/tmp/ncu-src-$$-$RANDOM; shift 4
  timeout "$(cap "$c")" ncu --clock-control none --section SourceCounters --section MemoryWorkloadAnalysis --kernel-name-base mangled \
    --kernel-name "regex:$re" --launch-skip 1 --launch-count 1 -o $rep "$bench" --out /tmp/n1 --reps 1 --copy-mib 64 "$@" > $rep.log 2>&1
  echo "ncu source $(basename "$file") rc=$? $(el)"
  ncu --import $rep.ncu-rep --page source --csv --print-source sass > $rep.csv 2>&1
  python3 native/bench/ncu_source_digest.py $rep.csv --top 20 > "$file" 2>&1; head -4 "$file" | cut -c1-160
  ncu --import $rep.ncu-rep --page details 2>&1 | grep -E "Duration|DRAM Throughput|Mem Busy|Max Bandwidth|L2 Hit|Mem Pipes"
}
# gateAndSuites TAG GATE_SECONDS FILE: the gate's driver step and 3,000-case campaign over every
# tactic, then the GPU suites with every skip a failure; their summary lines appended to FILE.
gateAndSuites() {
  local tag=$1 c=$2 file=$3
  MOE_GATE_STEPS="driver campaign" MOE_GATE_CASES=3000 timeout "$(cap "$c")" bash ci/gpu-gate.sh /tmp/gate$tag > /tmp/gate$tag.txt 2>&1; echo "gate rc=$? $(el)"
  grep -E "gpu-gate: (PASS|FAIL)|records" /tmp/gate$tag.txt | cut -c1-240 | tail -4 | tee -a "$file"
  MOE_HARNESS_REQUIRE_GPU=1 timeout "$(cap 70)" $AVA --timeout=5m goldens/gpu.test.ts native/gpu.test.ts > /tmp/ava$tag.txt 2>&1; echo "ava rc=$? $(el)"
  grep -E "passed|failed|✘" /tmp/ava$tag.txt | tail -3 | tee -a "$file"
}
