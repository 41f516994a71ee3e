#!/usr/bin/env bash
# Device plan, call 6 (≤ 540 s), branch kernel/dequant-banks. Issue 18: configs 4 and 5 with
# the bank-conflict-free dequantization (gemm_smemdq.cuh) and config 3 with FC1 and FC2 split over
# K at small T (gemm_stream.cuh; streamFc1Slices, streamFc2Slices in tactics.cc) against main's build in the same run, then the
# correctness a kernel change needs before it lands.
#   pack: on the branch, `bash ci/device-plan/pack-compare.sh` (main's moe_bench joins the carry
#   as .device-carry/moe_bench_main.xz, ~1.5 MB: tree and carry stay under 64 MiB).
set -u; source .device-carry/setup.sh
B=native/build/bench/moe_bench; M=/tmp/moe_bench_main
xz -dc .device-carry/moe_bench_main.xz > $M 2>/dev/null && chmod +x $M || { echo "no .device-carry/moe_bench_main.xz: see the header"; exit 2; }
mkdir -p /tmp/bm /tmp/bb /tmp/bs
echo "== 18. speed: main vs branch, alternated, two rounds each (medians of 5 reps)"
for r in 1 2; do
  for who in main branch; do
    bin=$B; [ $who = main ] && bin=$M
    timeout 60 $bin --out /tmp/b$who --configs deepseek-v3,qwen3-235b-a22b,gpt-oss-120b --T 1,8,64 --tactics '*/3' --reps 5 --copy-mib 256 > /tmp/bench-$who-$r-small.txt 2>&1
    echo "$who round $r small rc=$? $(el)"; grep ^ROW /tmp/bench-$who-$r-small.txt | sed "s/^/$who$r /" >> $OUT/6-bench.txt
    timeout 90 $bin --out /tmp/b$who --configs deepseek-v3,qwen3-235b-a22b,gpt-oss-120b --T 512,4096 --tactics '*/4,*/5' --reps 5 --copy-mib 256 > /tmp/bench-$who-$r.txt 2>&1
    echo "$who round $r large rc=$? $(el)"; grep ^ROW /tmp/bench-$who-$r.txt | sed "s/^/$who$r /" >> $OUT/6-bench.txt
  done
done
cut -c1-200 $OUT/6-bench.txt
echo "== 18. correctness: racecheck and memcheck of 64/5, 128/5 and 64/4, 128/4 (small case)"
timeout 100 compute-sanitizer --tool racecheck --racecheck-report hazard $B --out /tmp/bs --configs deepseek-lite --T 64 --tactics '64/4,64/5' --reps 1 --copy-mib 64 > $OUT/6-racecheck.txt 2>&1; echo "racecheck rc=$? $(el)"; grep -E "SUMMARY" $OUT/6-racecheck.txt
timeout 100 compute-sanitizer --tool memcheck $B --out /tmp/bs --configs gpt-oss-120b --T 512 --tactics '*/4,*/5' --reps 1 --copy-mib 64 > $OUT/6-memcheck.txt 2>&1; echo "memcheck rc=$? $(el)"; grep -E "SUMMARY" $OUT/6-memcheck.txt
timeout 60 compute-sanitizer --tool memcheck $B --out /tmp/bs --configs gpt-oss-120b --T 1,8 --tactics '*/3' --reps 1 --copy-mib 64 > $OUT/6-memcheck-3.txt 2>&1; echo "memcheck config 3 rc=$? $(el)"; grep -E "SUMMARY" $OUT/6-memcheck-3.txt
timeout 60 compute-sanitizer --tool racecheck --racecheck-report hazard $B --out /tmp/bs --configs gpt-oss-120b --T 1 --tactics '*/3' --reps 1 --copy-mib 64 > $OUT/6-racecheck-3.txt 2>&1; echo "racecheck config 3 rc=$? $(el)"; grep -E "SUMMARY" $OUT/6-racecheck-3.txt
echo "== 18. GPU suites: goldens on every tactic, the native suite"
MOE_HARNESS_REQUIRE_GPU=1 timeout 120 $AVA --timeout=5m goldens/gpu.test.ts native/gpu.test.ts > $OUT/6-ava.txt 2>&1; echo "ava rc=$? $(el)"; grep -E "passed|failed|✘" $OUT/6-ava.txt | tail -4
echo "== 18. the driver step and a 3,000-case campaign over every tactic, judged by the harness"
MOE_GATE_STEPS="driver campaign" MOE_GATE_CASES=3000 timeout $(left 530) bash ci/gpu-gate.sh /tmp/gate6 > $OUT/6-gate.txt 2>&1; echo "gate rc=$? $(el)"
grep -E "gpu-gate: (PASS|FAIL)|records" $OUT/6-gate.txt | cut -c1-220
date -u
