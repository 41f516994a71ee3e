#!/usr/bin/env bash
# Device plan, call 13 (≤ 590 s), on the pack of call 12 (kernel/dequant-banks): what call 12 left open.
#   1. racecheck of configs 4 and 5 after the hoisting: call 12's 45 s cap cut it before its summary;
#      one tactic per run, longer caps
#   2. config 3's K split judged over more cases at full size (call 12: one case per T)
#   3. bench:kernel with the default three rounds (call 12: one round), for the README's table
set -u; source .device-carry/setup.sh
cap() { local l; l=$(left 585); [ "$l" -gt "$1" ] && echo "$1" || echo "$l"; }
B=native/build/bench/moe_bench
mkdir -p /tmp/bs
for t in 64/5 64/4 128/5; do
  timeout $(cap 120) compute-sanitizer --tool racecheck --racecheck-report hazard $B --out /tmp/bs --configs deepseek-lite --T 64 --tactics $t --reps 1 --copy-mib 64 > /tmp/rc.txt 2>&1
  echo "racecheck $t rc=$? $(el) $(grep SUMMARY /tmp/rc.txt)" | tee -a $OUT/13-sanitizers.txt
done
for c in gpt-oss-120b qwen3-235b-a22b deepseek-v3; do
  timeout $(cap 70) node bin/moe-harness.js check --kernel native --config $c --T 1,8 --tactic '8/3,16/3' --runs 8 --seed 13 > /tmp/ck.txt 2>&1; echo "check split $c rc=$? $(el)"
  grep -E "^(8/3|16/3|all|#|native:)" /tmp/ck.txt | cut -c1-160 | tee -a $OUT/13-check-split.txt
done
[ "$(left 585)" -gt 150 ] && { timeout $(cap 420) node dist/native/bench/benchKernel.js --reps=5 --out=/tmp/bk > $OUT/13-bench-kernel.txt 2>&1; echo "bench:kernel rc=$? $(el)"; grep -E "^\|" $OUT/13-bench-kernel.txt | cut -c1-200 | head -20; }
date -u
