#!/usr/bin/env bash
# Device plan, call 10 (≤ 450 s: the session's device time is nearly spent), packed by pack-compare.sh on kernel/dequant-banks: main's
# moe_bench against the branch's (alternated), ncu of the large-T kernels, the branch's
# correctness (gate driver + 3,000-case campaign, GPU suites, sanitizers), then bench:kernel
# (every tactic, copy, PyTorch baseline) with the time left.
set -u; source .device-carry/setup.sh
cap() { local l; l=$(left 335); [ "$l" -gt "$1" ] && echo "$1" || echo "$l"; }
B=native/build/bench/moe_bench; M=/tmp/moe_bench_main
xz -dc .device-carry/moe_bench_main.xz > $M && chmod +x $M
mkdir -p /tmp/bmain /tmp/bbranch /tmp/bs /tmp/n1
for who in main branch; do
  bin=$B; [ $who = main ] && bin=$M
  timeout $(cap 45) $bin --out /tmp/b$who --configs deepseek-v3,qwen3-235b-a22b,gpt-oss-120b --T 1,8,64 --tactics '*/3' --reps 5 --copy-mib 256 > /tmp/bench-$who-small.txt 2>&1
  echo "$who small rc=$? $(el)"; grep -E "^ROW|^copy" /tmp/bench-$who-small.txt | sed "s/^/$who /" >> $OUT/10-bench.txt
  timeout $(cap 60) $bin --out /tmp/b$who --configs deepseek-v3,qwen3-235b-a22b,gpt-oss-120b --T 512,4096 --tactics '*/4,*/5' --reps 5 --copy-mib 256 > /tmp/bench-$who.txt 2>&1
  echo "$who large rc=$? $(el)"; grep ^ROW /tmp/bench-$who.txt | sed "s/^/$who /" >> $OUT/10-bench.txt
done
grep ROW $OUT/10-bench.txt | cut -c1-150
timeout $(cap 60) ncu --kernel-name regex:moeSmemDq --launch-skip 2 --launch-count 2 --metrics gpu__time_duration.sum,dram__bytes_read.sum,lts__t_sector_hit_rate.pct,sm__throughput.avg.pct_of_peak_sustained_elapsed,smsp__inst_executed.sum,l1tex__data_bank_conflicts_pipe_lsu_mem_shared.sum,smsp__warp_issue_stalled_barrier_per_warp_active.pct,smsp__warp_issue_stalled_wait_per_warp_active.pct $B --out /tmp/n1 --configs deepseek-v3 --T 4096 --tactics 128/5 --reps 1 --copy-mib 64 > $OUT/10-ncu.txt 2>&1; echo "ncu rc=$? $(el)"
grep -E "moeSmemDq|duration|bytes|hit_rate|throughput|inst_executed|bank|stalled" $OUT/10-ncu.txt | cut -c1-120
MOE_GATE_STEPS="driver campaign" MOE_GATE_CASES=3000 timeout $(cap 150) bash ci/gpu-gate.sh /tmp/gate10 > $OUT/10-gate.txt 2>&1; echo "gate rc=$? $(el)"
grep -E "gpu-gate: (PASS|FAIL)|records" $OUT/10-gate.txt | cut -c1-240 | tail -4
MOE_HARNESS_REQUIRE_GPU=1 timeout $(cap 120) $AVA --timeout=5m goldens/gpu.test.ts native/gpu.test.ts > $OUT/10-ava.txt 2>&1; echo "ava rc=$? $(el)"; grep -E "passed|failed|✘" $OUT/10-ava.txt | tail -4
timeout $(cap 40) compute-sanitizer --tool memcheck $B --out /tmp/bs --configs gpt-oss-120b --T 64,512 --tactics '*/4,*/5' --reps 1 --copy-mib 64 2>&1 | grep -E "SUMMARY" | sed 's/^/memcheck c4\/5 /'; echo "$(el)"
timeout $(cap 40) compute-sanitizer --tool memcheck $B --out /tmp/bs --configs gpt-oss-120b --T 1,8 --tactics '*/3' --reps 1 --copy-mib 64 2>&1 | grep -E "SUMMARY" | sed 's/^/memcheck c3 /'; echo "$(el)"
timeout $(cap 60) compute-sanitizer --tool racecheck --racecheck-report hazard $B --out /tmp/bs --configs deepseek-lite --T 64 --tactics '64/5,64/4' --reps 1 --copy-mib 64 2>&1 | grep -E "SUMMARY" | sed 's/^/racecheck c4\/5 /'; echo "$(el)"
timeout $(cap 40) compute-sanitizer --tool racecheck --racecheck-report hazard $B --out /tmp/bs --configs gpt-oss-120b --T 1 --tactics '8/3,16/3' --reps 1 --copy-mib 64 2>&1 | grep -E "SUMMARY" | sed 's/^/racecheck c3 split /'; echo "$(el)"
timeout $(cap 400) node dist/native/bench/benchKernel.js --rounds=1 --reps=5 --out=/tmp/bk > $OUT/10-bench-kernel.txt 2>&1; echo "bench:kernel rc=$? $(el)"
cp /tmp/bk/bench-kernel.json /tmp/bk/bench-kernel.md $OUT/ 2>/dev/null; grep -E "^\|" $OUT/10-bench-kernel.txt | cut -c1-200 | head -24
date -u
