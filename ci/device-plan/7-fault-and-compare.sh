#!/usr/bin/env bash
# Device plan, call 7 (≤ 560 s), packed by pack-compare.sh on kernel/dequant-banks.
# 1. Issue 17 on main's build (build_main.tar.xz unpacked over the branch's): call 5's
#    demonstration of the fault on the fastest decode tactic 8/3.
# 2. Issue 18: main's moe_bench against the branch's, alternated (call 6's speed part), then
#    memcheck and racecheck of the branch's changed kernels. Its suites and campaign: a later call.
set -u; source .device-carry/setup.sh
echo "== 17 on main's build ($(cat .device-carry/commit_main))"
xz -dc .device-carry/build_main.tar.xz | tar -xf -
timeout 40 native/build/test/moe_gpu_check_faults --faults > $OUT/5-faults-driver.txt 2>&1; echo "faults driver rc=$? $(el)"
grep -E "fault 11|without effect" $OUT/5-faults-driver.txt
timeout 100 node dist/harness/tune/bench.js --kernel native --demo only --rounds 10 --json $OUT/5-demo.json > $OUT/5-demo.txt 2>&1; echo "demo rc=$? $(el)"
grep -E "^\| [0-9]|within 3%|fastest overall" $OUT/5-demo.txt | cut -c1-220
BASELINE=skip FAULTS=tactic_skips_last_k_block timeout 80 bash ci/killrate.sh native /tmp/kr --budget 20 > $OUT/5-killrate.txt 2>&1; echo "killrate rc=$? $(el)"
tail -6 $OUT/5-killrate.txt | cut -c1-220
echo "== 18: the branch's build again"
xz -dc .device-carry/build.tar.xz | tar -xf -
B=native/build/bench/moe_bench; M=/tmp/moe_bench_main
xz -dc .device-carry/moe_bench_main.xz > $M && chmod +x $M
mkdir -p /tmp/bmain /tmp/bbranch /tmp/bs
for r in 1 2; do
  for who in main branch; do
    bin=$B; [ $who = main ] && bin=$M
    timeout 50 $bin --out /tmp/b$who --configs deepseek-v3,qwen3-235b-a22b,gpt-oss-120b --T 1,8,64 --tactics '*/3' --reps 5 --copy-mib 256 > /tmp/bench-$who-$r-small.txt 2>&1
    echo "$who round $r small rc=$? $(el)"; grep ^ROW /tmp/bench-$who-$r-small.txt | sed "s/^/$who$r /" >> $OUT/7-bench.txt
    timeout 60 $bin --out /tmp/b$who --configs deepseek-v3,qwen3-235b-a22b,gpt-oss-120b --T 512,4096 --tactics '*/4,*/5' --reps 5 --copy-mib 256 > /tmp/bench-$who-$r.txt 2>&1
    echo "$who round $r large rc=$? $(el)"; grep ^ROW /tmp/bench-$who-$r.txt | sed "s/^/$who$r /" >> $OUT/7-bench.txt
  done
done
cut -c1-200 $OUT/7-bench.txt
timeout 60 compute-sanitizer --tool memcheck $B --out /tmp/bs --configs gpt-oss-120b --T 512 --tactics '*/4,*/5' --reps 1 --copy-mib 64 > $OUT/7-memcheck.txt 2>&1; echo "memcheck c4/5 rc=$? $(el)"; grep -E "SUMMARY" $OUT/7-memcheck.txt
timeout 40 compute-sanitizer --tool memcheck $B --out /tmp/bs --configs gpt-oss-120b --T 1,8 --tactics '*/3' --reps 1 --copy-mib 64 > $OUT/7-memcheck-3.txt 2>&1; echo "memcheck c3 rc=$? $(el)"; grep -E "SUMMARY" $OUT/7-memcheck-3.txt
timeout 40 compute-sanitizer --tool racecheck --racecheck-report hazard $B --out /tmp/bs --configs gpt-oss-120b --T 1 --tactics '*/3' --reps 1 --copy-mib 64 > $OUT/7-racecheck-3.txt 2>&1; echo "racecheck c3 rc=$? $(el)"; grep -E "SUMMARY" $OUT/7-racecheck-3.txt
timeout $(left 560) compute-sanitizer --tool racecheck --racecheck-report hazard $B --out /tmp/bs --configs deepseek-lite --T 64 --tactics '64/4,64/5' --reps 1 --copy-mib 64 > $OUT/7-racecheck.txt 2>&1; echo "racecheck c4/5 rc=$? $(el)"; grep -E "SUMMARY" $OUT/7-racecheck.txt
date -u
