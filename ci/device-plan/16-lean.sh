#!/usr/bin/env bash
# Device plan, call 16 (≤ 590 s), packed on kernel/stream-lean (the pack's addon and moe_bench,
# "lean" below) by
#   bash ci/device-plan/pack-variants.sh main=main lean5=kernel/stream-lean5
# Issue 18, the rows at T ≤ 64 (config 3; NOTES run 7). Call 14: 8/3 FC1 at DeepSeek-V3 T = 64 is
# issue-bound (ALU 66 %, issue slots 64 %), ~6.5 instructions per weight, of which the super-step's
# dequantization and mma are ~3.3: the rest is per-step predicates, addresses and staging.
#   1. */3 at T = 1, 8, 64 for main, lean, lean5 (lean capped at 5 CTAs per SM for 8 tokens);
#      alternated, three rounds, medians of 5
#   2. the SASS of moeStreamKernel<8, FC1, unsplit> of main and lean (cuobjdump) and ncu source
#      counters of each at DeepSeek-V3 T = 64 (executed instructions per SASS line); per-kernel
#      durations of one DeepSeek-V3 pipeline at T = 1 and 8 (main, lean)
#   3. lean judged if it pays (8/3 summed over rows ≥ 3 % below main): the gate's 3,000-case
#      campaign over every tactic, the GPU suites, memcheck, racecheck and synccheck of config 3
#      (odd kTiles, split FC1, 16 tokens), full-size checks where config 3 runs
set -u; source .device-carry/setup.sh
L=${CALL_LIMIT:-585}
cap() { local l; l=$(left $L); [ "$l" -gt "$1" ] && echo "$1" || echo "$l"; }
B=native/build/bench/moe_bench
cp $B /tmp/moe_bench_lean
for v in main lean5; do xz -dc .device-carry/moe_bench_$v.xz > /tmp/moe_bench_$v && chmod +x /tmp/moe_bench_$v; done
cat .device-carry/variants
mkdir -p /tmp/bo
for r in 1 2 3; do for v in main lean lean5; do
  timeout $(cap 45) /tmp/moe_bench_$v --out /tmp/bo --configs deepseek-v3,qwen3-235b-a22b,gpt-oss-120b --T 1,8,64 --tactics '*/3' --reps 5 --copy-mib 256 > /tmp/bs-$v-$r.txt 2>&1
  echo "$v round $r rc=$? $(el)"; grep -E "^ROW|^copy" /tmp/bs-$v-$r.txt | sed "s/^/$v$r /" >> $OUT/16-bench-small.txt
done; done
grep ROW $OUT/16-bench-small.txt | cut -c1-120
sum83() { grep "^$1[123] ROW" $OUT/16-bench-small.txt | grep -o " 8/3:[0-9.]*" | cut -d: -f2 | awk '{s+=$1} END {printf "%.4f", s}'; }
m=$(sum83 main); echo "8/3 summed over rows and rounds: main $m, lean $(sum83 lean), lean5 $(sum83 lean5)" | tee -a $OUT/16-verify.txt
F=_ZN3moe15moeStreamKernelILi8ELi0ELb0EEEvNS_10GemmParamsE
for v in main lean; do
  cuobjdump --dump-sass --function $F /tmp/moe_bench_$v > $OUT/16-sass-$v.txt 2>&1; echo "sass $v rc=$? lines=$(wc -l < $OUT/16-sass-$v.txt) $(el)"
  timeout $(cap 60) ncu --clock-control none --section SourceCounters --section InstructionStats --section WarpStateStats --section SpeedOfLight \
    --kernel-name-base mangled --kernel-name $F --launch-skip 1 --launch-count 1 -o /tmp/src-$v \
    /tmp/moe_bench_$v --out /tmp/n1 --configs deepseek-v3 --T 64 --tactics 8/3 --reps 1 --copy-mib 64 > /tmp/src-$v.log 2>&1; echo "ncu source $v rc=$? $(el)"
  ncu --import /tmp/src-$v.ncu-rep --page source --csv --print-source sass > $OUT/16-src-$v.csv 2>&1
  ncu --import /tmp/src-$v.ncu-rep --page details 2>&1 | grep -E "Duration|Executed Instructions |Issue Slots Busy|No Eligible|Compute \(SM\)|DRAM Throughput|Registers" | sed "s/^/$v /" | tee -a $OUT/16-verify.txt
  for T in 1 8; do
    timeout $(cap 30) ncu --clock-control none --metrics gpu__time_duration.sum --kernel-name regex:'routing|count|scan|scatter|permute|moe|finaliz|fill|dequantHidden' \
      --launch-count 24 /tmp/moe_bench_$v --out /tmp/n2 --configs deepseek-v3 --T $T --tactics 8/3 --reps 2 --copy-mib 64 2>&1 | grep -E "^  [a-zA-Z]|duration" | sed "s/^/$v T=$T /" >> $OUT/16-kernels.txt; echo "kernels $v T=$T $(el)"
  done
done
pays=0; awk -v m="$m" -v f="$(sum83 lean)" 'BEGIN { exit !(f < 0.97 * m) }' && pays=1
[ $pays = 1 ] || { echo "lean does not pay: not judged" | tee -a $OUT/16-verify.txt; date -u; exit 0; }
MOE_GATE_STEPS="driver campaign" MOE_GATE_CASES=3000 timeout $(cap 110) bash ci/gpu-gate.sh /tmp/gate16 > /tmp/gate16.txt 2>&1; echo "gate (lean) rc=$? $(el)"
grep -E "gpu-gate: (PASS|FAIL)|records" /tmp/gate16.txt | cut -c1-240 | tail -4 | tee -a $OUT/16-verify.txt
MOE_HARNESS_REQUIRE_GPU=1 timeout $(cap 70) $AVA --timeout=5m goldens/gpu.test.ts native/gpu.test.ts > /tmp/ava16.txt 2>&1; echo "ava (lean) rc=$? $(el)"; grep -E "passed|failed|✘" /tmp/ava16.txt | tail -3 | tee -a $OUT/16-verify.txt
timeout $(cap 40) compute-sanitizer --tool memcheck $B --out /tmp/bs --configs gpt-oss-120b,qwen3-235b-a22b --T 1,8,64 --tactics '8/3,16/3' --reps 1 --copy-mib 64 2>&1 | grep SUMMARY | sed 's/^/memcheck lean /' | tee -a $OUT/16-verify.txt
timeout $(cap 40) compute-sanitizer --tool racecheck --racecheck-report hazard $B --out /tmp/bs --configs gpt-oss-120b --T 1,8 --tactics '8/3,16/3' --reps 1 --copy-mib 64 2>&1 | grep SUMMARY | sed 's/^/racecheck lean /' | tee -a $OUT/16-verify.txt
timeout $(cap 30) compute-sanitizer --tool synccheck $B --out /tmp/bs --configs gpt-oss-120b --T 1,64 --tactics '8/3,16/3' --reps 1 --copy-mib 64 2>&1 | grep SUMMARY | sed 's/^/synccheck lean /' | tee -a $OUT/16-verify.txt
for c in gpt-oss-120b qwen3-235b-a22b deepseek-v3; do timeout $(cap 45) node bin/moe-harness.js check --kernel native --config $c --T 1,8 --tactic '8/3,16/3' --runs 4 --seed 16 2>&1 | grep -E "^native:" | sed "s/^/lean full size $c: /" | tee -a $OUT/16-verify.txt; done
echo "verify $(el)"
date -u
