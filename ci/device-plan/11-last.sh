#!/usr/bin/env bash
# Device plan, call 11 (≤ 200 s; the session's device time is nearly spent): call 10 cut to what
# the merge of kernel/dequant-banks needs — main's moe_bench against the branch's (one round each),
# the gate's 3,000-case campaign over every tactic, memcheck and racecheck, the GPU suites.
set -u; source .device-carry/setup.sh
cap() { local l; l=$(left 150); [ "$l" -gt "$1" ] && echo "$1" || echo "$l"; }
B=native/build/bench/moe_bench; M=/tmp/moe_bench_main
xz -dc .device-carry/moe_bench_main.xz > $M && chmod +x $M
mkdir -p /tmp/bmain /tmp/bbranch /tmp/bs
for who in main branch; do
  bin=$B; [ $who = main ] && bin=$M
  timeout $(cap 40) $bin --out /tmp/b$who --configs deepseek-v3,qwen3-235b-a22b,gpt-oss-120b --T 1,8,64 --tactics '*/3' --reps 5 --copy-mib 256 > /tmp/bench-$who-small.txt 2>&1
  echo "$who small rc=$? $(el)"; grep -E "^ROW|^copy" /tmp/bench-$who-small.txt | sed "s/^/$who /" >> $OUT/11-bench.txt
  timeout $(cap 40) $bin --out /tmp/b$who --configs deepseek-v3,qwen3-235b-a22b,gpt-oss-120b --T 512,4096 --tactics '*/4,*/5' --reps 5 --copy-mib 256 > /tmp/bench-$who.txt 2>&1
  echo "$who large rc=$? $(el)"; grep ^ROW /tmp/bench-$who.txt | sed "s/^/$who /" >> $OUT/11-bench.txt
done
grep ROW $OUT/11-bench.txt | cut -c1-150
MOE_GATE_STEPS="driver campaign" MOE_GATE_CASES=3000 timeout $(cap 70) bash ci/gpu-gate.sh /tmp/gate11 > $OUT/11-gate.txt 2>&1; echo "gate rc=$? $(el)"
grep -E "gpu-gate: (PASS|FAIL)|records" $OUT/11-gate.txt | cut -c1-240 | tail -4
timeout $(cap 20) compute-sanitizer --tool memcheck $B --out /tmp/bs --configs gpt-oss-120b --T 1,512 --tactics '8/3,64/4,64/5' --reps 1 --copy-mib 64 > $OUT/11-memcheck.txt 2>&1; echo "memcheck rc=$? $(el)"; grep SUMMARY $OUT/11-memcheck.txt
timeout $(cap 45) compute-sanitizer --tool racecheck --racecheck-report hazard $B --out /tmp/bs --configs deepseek-lite --T 64 --tactics '64/5' --reps 1 --copy-mib 64 > $OUT/11-racecheck.txt 2>&1; echo "racecheck rc=$? $(el)"; grep SUMMARY $OUT/11-racecheck.txt
MOE_HARNESS_REQUIRE_GPU=1 timeout $(cap 30) $AVA --timeout=5m goldens/gpu.test.ts native/gpu.test.ts > $OUT/11-ava.txt 2>&1; echo "ava rc=$? $(el)"; grep -E "passed|failed|✘" $OUT/11-ava.txt | tail -3
date -u
