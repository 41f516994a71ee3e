#!/usr/bin/env bash
# Device plan, call 21 (≤ 590 s), packed on kernel/ws (kernel/ilv-max + config 6 "w128-ws": "all"
# below, the pack's addon and moe_bench) by
#   bash ci/device-plan/pack-variants.sh main=main noearly=kernel/no-early ilv=kernel/interleave
# Plan 20 (NOTES run 12: no-early, the 16-row interleaved weights; rules written before the run)
# with config 6 added (NOTES run 13: warp-specialized config 5 — 8 producer warps copy and
# dequantize, two consumer warpgroups issue wgmma, mbarriers between them). Rules for config 6,
# written before the run: it lands as a tactic if the campaign and sanitizers pass it; it becomes
# the default at > 48 rows per expert if 128/6 beats 128/5 summed over the six T = 512, 4096 rows
# by ≥ 5 % and in every row by ≥ 0 %.
# Steps (each capped by what is left of the call):
#   0. config 6 first, a deadlock or a wrong result shows in seconds: check at full size, every
#      config-6 tactic beside 128/5, 2 cases (a hang is cut at 60 s)
#   1. */3 at T = 1, 8, 64 for main, noearly, ilv, all; alternated, two rounds, medians of 5
#   2. 8/0, 16/1, 32/2, 64/5, 128/5 at T = 512, 4096 for main, ilv, all; one round
#   3. 64/5, 128/5, 64/6, 128/6 at T = 512, 4096 for all; two rounds
#   4. ncu of FC1 128/6 and 128/5 at DeepSeek-V3 T = 4096 (details: issue, tensor pipe, barriers)
#   5. ncu source counters of FC1 8/3 at T = 8 and of routing at T = 1 (plan 20's steps 3, 4)
#   6. with JUDGE_ONLY=1: plan 20's judging (campaign over every tactic: configs 0-6) with memcheck,
#      racecheck and synccheck of config 6 added.
set -u; source .device-carry/setup.sh
L=${CALL_LIMIT:-585}
B=native/build/bench/moe_bench
unpackVariants
mkdir -p /tmp/bs /tmp/n1
if [ "${JUDGE_ONLY:-0}" != 1 ]; then
for c in qwen3-235b-a22b deepseek-v3; do
  timeout $(cap 60) node bin/moe-harness.js check --kernel native --config $c --T 512 --tactic '64/6,128/6,128/5' --runs 2 --seed 21 2>&1 | grep -E "^native:|Error|error" | head -5 | sed "s/^/config 6 smoke $c T=512: /" | tee -a $OUT/21-verify.txt
done
benchVariants $OUT/21-bench-ws.txt 1 40 512,4096 '64/5,128/5,64/6,128/6' all
grep ROW $OUT/21-bench-ws.txt | cut -c1-200 | tee -a $OUT/21-verify.txt
benchVariants $OUT/21-bench-small.txt 2 30 1,8,64 '*/3' main noearly ilv all
benchVariants $OUT/21-bench-large.txt 1 60 512,4096 '8/0,16/1,32/2,64/5,128/5' main ilv all
benchVariants $OUT/21-bench-ws.txt 1 40 512,4096 '64/5,128/5,64/6,128/6' all
grep ROW $OUT/21-bench-ws.txt | tail -n 6 | cut -c1-200 | tee -a $OUT/21-verify.txt
for t in 128/6 128/5; do
  timeout $(cap 40) ncu --clock-control none --section SpeedOfLight --section WarpStateStats --section ComputeWorkloadAnalysis --kernel-name-base demangled \
    --kernel-name regex:moe --launch-skip 2 --launch-count 1 $B --out /tmp/n1 --configs deepseek-v3 --T 4096 --tactics $t --reps 1 --copy-mib 64 2>&1 \
    | grep -E "moe[A-Za-z]+Kernel|Duration|Compute \(SM\) Throughput|Issue Slots Busy|Stall|Tensor|Executed Ipc|Warp Cycles Per Issued" | head -24 | sed "s|^|ncu $t |" | tee -a $OUT/21-verify.txt
done
ncuSourceDigest $OUT/21-digest-all-T8.txt 45 ^_ZN3moe15moeStreamKernelILi8ELi0ELb0ELi1E /tmp/moe_bench_all --configs deepseek-v3 --T 8 --tactics 8/3 | tee -a $OUT/21-verify.txt
ncuSourceDigest $OUT/21-digest-routing-T1.txt 40 routingKernel /tmp/moe_bench_all --configs deepseek-v3 --T 1 --tactics 8/3
echo "no-early's rule (its verdict: the noearly line):" | tee -a $OUT/21-verify.txt
python3 ci/device-plan/compare_variants.py $OUT/21-bench-small.txt --tactic 8/3 --tactic 16/3 --names main,noearly,ilv,all --rule 8/3:-2:1 --rule 16/3:1 2>&1 | tee -a $OUT/21-verify.txt
echo "interleave's rule at small T (its verdict: the ilv and all lines, with the large-T rule below):" | tee -a $OUT/21-verify.txt
python3 ci/device-plan/compare_variants.py $OUT/21-bench-small.txt --tactic 8/3 --names main,noearly,ilv,all --rule 8/3:-3:1 2>&1 | tail -5 | tee -a $OUT/21-verify.txt
python3 ci/device-plan/compare_variants.py $OUT/21-bench-large.txt --names main,ilv,all --rule 64/5:1 --rule 128/5:1 2>&1 | tee -a $OUT/21-verify.txt
echo "timed, not judged: judge with JUDGE_ONLY=1 on the same pack" | tee -a $OUT/21-verify.txt
date -u; exit 0
fi
gateAndSuites 21 120 $OUT/21-verify.txt
timeout $(cap 60) compute-sanitizer --tool memcheck $B --out /tmp/bs --configs qwen3-235b-a22b,gpt-oss-120b --T 1,64 --tactics '8/0,16/1,32/2,8/3,16/3,64/4,128/5,64/6,128/6' --reps 1 --copy-mib 64 2>&1 | grep SUMMARY | sed 's/^/memcheck (configs 0-6, the new layout) /' | tee -a $OUT/21-verify.txt
timeout $(cap 30) compute-sanitizer --tool racecheck --racecheck-report hazard $B --out /tmp/bs --configs qwen3-235b-a22b --T 1,8 --tactics '8/3,16/3' --reps 1 --copy-mib 64 2>&1 | grep SUMMARY | sed 's/^/racecheck config 3 /' | tee -a $OUT/21-verify.txt
timeout $(cap 60) compute-sanitizer --tool racecheck --racecheck-report hazard $B --out /tmp/bs --configs gpt-oss-120b --T 8 --tactics '128/6,64/6' --reps 1 --copy-mib 64 2>&1 | grep SUMMARY | sed 's/^/racecheck config 6 (gpt-oss T = 8) /' | tee -a $OUT/21-verify.txt
timeout $(cap 60) compute-sanitizer --tool racecheck --racecheck-report hazard $B --out /tmp/bs --configs gpt-oss-120b --T 8 --tactics '128/5' --reps 1 --copy-mib 64 2>&1 | grep SUMMARY | sed 's/^/racecheck config 5 (gpt-oss T = 8) /' | tee -a $OUT/21-verify.txt
timeout $(cap 30) compute-sanitizer --tool synccheck $B --out /tmp/bs --configs qwen3-235b-a22b --T 1,64 --tactics '8/3,128/5,128/6' --reps 1 --copy-mib 64 2>&1 | grep SUMMARY | sed 's/^/synccheck /' | tee -a $OUT/21-verify.txt
timeout $(cap 45) node bin/moe-harness.js check --kernel native --config deepseek-v3 --T 1,8 --tactic '8/3,16/3' --runs 4 --seed 20 2>&1 | grep -E "^native:" | sed "s/^/full size deepseek-v3: /" | tee -a $OUT/21-verify.txt
echo "verify $(el)"
date -u
