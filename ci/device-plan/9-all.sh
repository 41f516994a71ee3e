#!/usr/bin/env bash
# Device plan, call 9 (≤ 590 s): calls 7 and 8 in one, by priority, each step capped by the time
# left (the device pool refused most starts this session). Packed by pack-compare.sh on the branch.
#   1. issue 17 on main's build: the fault table and the tuner's demonstration (8/3 faulty)
#   2. issue 18: main's moe_bench against the branch's, one round each, alternated
#   3. the branch's correctness: gate driver + 3,000-case campaign over every tactic; GPU suites
#   4. sanitizers on the changed kernels; then the default run catching the fault (issue 17)
set -u; source .device-carry/setup.sh
cap() { local l; l=$(left 588); [ "$l" -gt "$1" ] && echo "$1" || echo "$l"; }
echo "== 17 on main's build ($(cat .device-carry/commit_main))"
xz -dc .device-carry/build_main.tar.xz | tar -xf -
timeout 40 native/build/test/moe_gpu_check_faults --faults > $OUT/9-faults-driver.txt 2>&1; echo "faults driver rc=$? $(el)"
grep -E "fault 11|without effect" $OUT/9-faults-driver.txt
timeout 110 node dist/harness/tune/bench.js --kernel native --demo only --rounds 10 --json $OUT/9-demo.json > $OUT/9-demo.txt 2>&1; echo "demo rc=$? $(el)"
grep -E "^\| [0-9]|within 3%|fastest overall|blocklist" $OUT/9-demo.txt | cut -c1-200 | head -20
echo "== 18: the branch's build"
xz -dc .device-carry/build.tar.xz | tar -xf -
B=native/build/bench/moe_bench; M=/tmp/moe_bench_main
xz -dc .device-carry/moe_bench_main.xz > $M && chmod +x $M
mkdir -p /tmp/bmain /tmp/bbranch /tmp/bs
for who in main branch; do
  bin=$B; [ $who = main ] && bin=$M
  timeout $(cap 45) $bin --out /tmp/b$who --configs deepseek-v3,qwen3-235b-a22b,gpt-oss-120b --T 1,8,64 --tactics '*/3' --reps 5 --copy-mib 256 > /tmp/bench-$who-small.txt 2>&1
  echo "$who small rc=$? $(el)"; grep -E "^ROW|^copy" /tmp/bench-$who-small.txt | sed "s/^/$who /" >> $OUT/9-bench.txt
  timeout $(cap 60) $bin --out /tmp/b$who --configs deepseek-v3,qwen3-235b-a22b,gpt-oss-120b --T 512,4096 --tactics '*/4,*/5' --reps 5 --copy-mib 256 > /tmp/bench-$who.txt 2>&1
  echo "$who large rc=$? $(el)"; grep ^ROW /tmp/bench-$who.txt | sed "s/^/$who /" >> $OUT/9-bench.txt
done
cut -c1-180 $OUT/9-bench.txt
MOE_GATE_STEPS="driver campaign" MOE_GATE_CASES=3000 timeout $(cap 150) bash ci/gpu-gate.sh /tmp/gate9 > $OUT/9-gate.txt 2>&1; echo "gate rc=$? $(el)"
grep -E "gpu-gate: (PASS|FAIL)|records" $OUT/9-gate.txt | cut -c1-240 | tail -4
MOE_HARNESS_REQUIRE_GPU=1 timeout $(cap 120) $AVA --timeout=5m goldens/gpu.test.ts native/gpu.test.ts > $OUT/9-ava.txt 2>&1; echo "ava rc=$? $(el)"; grep -E "passed|failed|✘" $OUT/9-ava.txt | tail -4
timeout $(cap 40) compute-sanitizer --tool memcheck $B --out /tmp/bs --configs gpt-oss-120b --T 64,512 --tactics '*/4,*/5' --reps 1 --copy-mib 64 > $OUT/9-memcheck.txt 2>&1; echo "memcheck c4/5 rc=$? $(el)"; grep -E "SUMMARY" $OUT/9-memcheck.txt
timeout $(cap 40) compute-sanitizer --tool memcheck $B --out /tmp/bs --configs gpt-oss-120b --T 1,8 --tactics '*/3' --reps 1 --copy-mib 64 > $OUT/9-memcheck-3.txt 2>&1; echo "memcheck c3 rc=$? $(el)"; grep -E "SUMMARY" $OUT/9-memcheck-3.txt
timeout $(cap 60) compute-sanitizer --tool racecheck --racecheck-report hazard $B --out /tmp/bs --configs deepseek-lite --T 64 --tactics '64/5,8/3' --reps 1 --copy-mib 64 > $OUT/9-racecheck.txt 2>&1; echo "racecheck rc=$? $(el)"; grep -E "SUMMARY" $OUT/9-racecheck.txt
echo "== 17: the default run against the fault (main's build)"
xz -dc .device-carry/build_main.tar.xz | tar -xf -
BASELINE=skip FAULTS=tactic_skips_last_k_block timeout $(cap 80) bash ci/killrate.sh native /tmp/kr --budget 20 > $OUT/9-killrate.txt 2>&1; echo "killrate rc=$? $(el)"
tail -4 $OUT/9-killrate.txt | cut -c1-200
date -u
