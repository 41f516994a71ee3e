#!/usr/bin/env bash
# Device plan, call 18 (≤ 590 s), packed on kernel/stream-nvfp4 (the pack's addon and moe_bench,
# "nvfp4" below) by
#   bash ci/device-plan/pack-variants.sh main=main
# Issue 18, config 3 (NOTES run 8). Call 17: the weight format as a template parameter ran
# −0.6 … −5.5 % on the NVFP4 rows (DeepSeek-V3, Qwen3-235B) and +0.9 … +7.7 % on the MX rows
# (gpt-oss-120b). kernel/stream-nvfp4 takes the NVFP4 instantiation only; MX weights run main's
# generic kernel, the same code. Expected: NVFP4 rows as call 17's fmt, gpt-oss rows as main.
#   1. */3 at T = 1, 8, 64 for main and nvfp4; alternated, three rounds, medians of 5
#   2. nvfp4 judged if it pays (8/3 summed over the NVFP4 rows ≥ 2 % below main, and over the
#      gpt-oss rows no more than 1 % above): the gate's 3,000-case campaign over every tactic, the
#      GPU suites, memcheck, racecheck and synccheck of config 3 on NVFP4 weights (unsplit, split,
#      16 tokens), full-size checks of DeepSeek-V3 and Qwen3-235B at T = 1, 8
set -u; source .device-carry/setup.sh
L=${CALL_LIMIT:-585}
cap() { local l; l=$(left $L); [ "$l" -gt "$1" ] && echo "$1" || { [ "$l" -gt 1 ] && echo "$l" || echo 1; }; }
B=native/build/bench/moe_bench
cp $B /tmp/moe_bench_nvfp4
xz -dc .device-carry/moe_bench_main.xz > /tmp/moe_bench_main && chmod +x /tmp/moe_bench_main
cat .device-carry/variants
mkdir -p /tmp/bo
for r in 1 2 3; do for v in main nvfp4; do
  timeout $(cap 30) /tmp/moe_bench_$v --out /tmp/bo --configs deepseek-v3,qwen3-235b-a22b,gpt-oss-120b --T 1,8,64 --tactics '*/3' --reps 5 --copy-mib 256 > /tmp/bs-$v-$r.txt 2>&1
  echo "$v round $r rc=$? $(el)"; grep -E "^ROW|^copy" /tmp/bs-$v-$r.txt | sed "s/^/$v$r /" >> $OUT/18-bench-small.txt
done; done
grep ROW $OUT/18-bench-small.txt | cut -c1-110
sum83() { grep "^$1[123] ROW $2" $OUT/18-bench-small.txt | grep -o " 8/3:[0-9.]*" | cut -d: -f2 | awk '{s+=$1} END {printf "%.4f", s}'; }
m1=$(sum83 main '\(deepseek\|qwen3\)'); n1=$(sum83 nvfp4 '\(deepseek\|qwen3\)'); m2=$(sum83 main gpt-oss); n2=$(sum83 nvfp4 gpt-oss)
echo "8/3 summed over rows and rounds: NVFP4 rows main $m1, nvfp4 $n1; gpt-oss rows main $m2, nvfp4 $n2" | tee -a $OUT/18-verify.txt
awk -v a="$m1" -v b="$n1" -v c="$m2" -v d="$n2" 'BEGIN { exit !(b < 0.98 * a && d <= 1.01 * c) }' || { echo "nvfp4 does not pay: not judged" | tee -a $OUT/18-verify.txt; date -u; exit 0; }
MOE_GATE_STEPS="driver campaign" MOE_GATE_CASES=3000 timeout $(cap 120) bash ci/gpu-gate.sh /tmp/gate18 > /tmp/gate18.txt 2>&1; echo "gate (nvfp4) rc=$? $(el)"
grep -E "gpu-gate: (PASS|FAIL)|records" /tmp/gate18.txt | cut -c1-240 | tail -4 | tee -a $OUT/18-verify.txt
MOE_HARNESS_REQUIRE_GPU=1 timeout $(cap 70) $AVA --timeout=5m goldens/gpu.test.ts native/gpu.test.ts > /tmp/ava18.txt 2>&1; echo "ava (nvfp4) rc=$? $(el)"; grep -E "passed|failed|✘" /tmp/ava18.txt | tail -3 | tee -a $OUT/18-verify.txt
timeout $(cap 40) compute-sanitizer --tool memcheck $B --out /tmp/bs --configs qwen3-235b-a22b,deepseek-v3 --T 1,8,64 --tactics '8/3,16/3' --reps 1 --copy-mib 64 2>&1 | grep SUMMARY | sed 's/^/memcheck nvfp4 /' | tee -a $OUT/18-verify.txt
timeout $(cap 40) compute-sanitizer --tool racecheck --racecheck-report hazard $B --out /tmp/bs --configs qwen3-235b-a22b --T 1,8 --tactics '8/3,16/3' --reps 1 --copy-mib 64 2>&1 | grep SUMMARY | sed 's/^/racecheck nvfp4 /' | tee -a $OUT/18-verify.txt
timeout $(cap 30) compute-sanitizer --tool synccheck $B --out /tmp/bs --configs qwen3-235b-a22b --T 1,64 --tactics '8/3,16/3' --reps 1 --copy-mib 64 2>&1 | grep SUMMARY | sed 's/^/synccheck nvfp4 /' | tee -a $OUT/18-verify.txt
for c in deepseek-v3 qwen3-235b-a22b; do timeout $(cap 45) node bin/moe-harness.js check --kernel native --config $c --T 1,8 --tactic '8/3,16/3' --runs 4 --seed 18 2>&1 | grep -E "^native:" | sed "s/^/nvfp4 full size $c: /" | tee -a $OUT/18-verify.txt; done
echo "verify $(el)"
date -u
