#!/usr/bin/env bash
# Device plan, call 12 (≤ 590 s), packed on kernel/dequant-banks by
#   bash ci/device-plan/pack-variants.sh main=main v2d=kernel/v-2dgrid vnoov=kernel/v-nooverlap \
#     vnohoist=<the branch's commit before "the weight copies' sources hoisted">
# (the variant branches hold the branch with one change taken out; rebase them with the branch).
# Issue 18: which of the branch's changes pays, then whether the branch may land.
#   1. large T (*/4, */5 at T = 512, 4096): main, the branch, the branch with the 2-D grid (v2d),
#      the branch without the wgmma/dequantization overlap (vnoov), the branch without the copy
#      sources hoisted out of the K loop (vnohoist); two rounds, alternated
#   2. small T (*/3 at T = 1, 8, 64): main and the branch, two rounds
#   3. config 3's split judged at full size (check --config, T = 1, 8); ncu of the branch's 128/5 kernels
#   4. correctness: gate driver + 3,000-case campaign, GPU suites, memcheck, racecheck
#   5. bench:kernel (every tactic, copy, PyTorch baseline) with the time left
set -u; source .device-carry/setup.sh
cap() { local l; l=$(left 585); [ "$l" -gt "$1" ] && echo "$1" || echo "$l"; }
B=native/build/bench/moe_bench
for v in main v2d vnoov vnohoist; do xz -dc .device-carry/moe_bench_$v.xz > /tmp/moe_bench_$v && chmod +x /tmp/moe_bench_$v; done
cat .device-carry/variants
mkdir -p /tmp/bo /tmp/bs /tmp/n1
for r in 1 2; do
  for v in main branch v2d vnoov vnohoist; do
    bin=/tmp/moe_bench_$v; [ $v = branch ] && bin=$B
    timeout $(cap 40) $bin --out /tmp/bo --configs deepseek-v3,qwen3-235b-a22b,gpt-oss-120b --T 512,4096 --tactics '*/4,*/5' --reps 5 --copy-mib 256 > /tmp/bl-$v-$r.txt 2>&1
    echo "$v large round $r rc=$? $(el)"; grep ^ROW /tmp/bl-$v-$r.txt | sed "s/^/$v$r /" >> $OUT/12-bench-large.txt
  done
  for v in main branch; do
    bin=/tmp/moe_bench_$v; [ $v = branch ] && bin=$B
    timeout $(cap 40) $bin --out /tmp/bo --configs deepseek-v3,qwen3-235b-a22b,gpt-oss-120b --T 1,8,64 --tactics '*/3' --reps 5 --copy-mib 256 > /tmp/bs-$v-$r.txt 2>&1
    echo "$v small round $r rc=$? $(el)"; grep -E "^ROW|^copy" /tmp/bs-$v-$r.txt | sed "s/^/$v$r /" >> $OUT/12-bench-small.txt
  done
done
cut -c1-150 $OUT/12-bench-large.txt; grep ROW $OUT/12-bench-small.txt | cut -c1-120
# config 3's K split happens only at full size and small T (a grid < 2,640 CTAs, K > 1,024): the
# campaign's small problems never reach it, so judge it here at the three configurations' full size.
node --input-type=module -e '
import { streamSplit } from "./dist/native/index.js"; import { configProblem } from "./dist/reference/configs.js";
for (const c of ["gpt-oss-120b", "qwen3-235b-a22b", "deepseek-v3"]) for (const T of [1, 8, 64]) for (const tt of [8, 16]) {
  const s = streamSplit(configProblem(c, T), { tileTokens: tt, config: 3 });
  console.log(`split ${c} T=${T} ${tt}/3: FC1 ${s.fc1Slices} slices (${s.fc1Ctas} CTAs), FC2 ${s.fc2Slices} (${s.fc2Ctas} CTAs)`);
}' | tee $OUT/12-split-plan.txt
for c in gpt-oss-120b qwen3-235b-a22b deepseek-v3; do
  timeout $(cap 60) node bin/moe-harness.js check --kernel native --config $c --T 1,8 --tactic '8/3,16/3' --runs 2 > $OUT/12-check-split-$c.txt 2>&1; echo "check split $c rc=$? $(el)"; tail -2 $OUT/12-check-split-$c.txt | cut -c1-200
done
timeout $(cap 40) ncu --kernel-name regex:moeSmemDq --launch-skip 2 --launch-count 2 --metrics gpu__time_duration.sum,dram__bytes_read.sum,lts__t_sector_hit_rate.pct,sm__throughput.avg.pct_of_peak_sustained_elapsed,smsp__inst_executed.sum,l1tex__data_bank_conflicts_pipe_lsu_mem_shared.sum,smsp__warp_issue_stalled_barrier_per_warp_active.pct,smsp__warp_issue_stalled_wait_per_warp_active.pct $B --out /tmp/n1 --configs deepseek-v3 --T 4096 --tactics 128/5 --reps 1 --copy-mib 64 > $OUT/12-ncu.txt 2>&1; echo "ncu rc=$? $(el)"
grep -E "moeSmemDq|duration|bytes|hit_rate|throughput|inst_executed|bank|stalled" $OUT/12-ncu.txt | cut -c1-120
MOE_GATE_STEPS="driver campaign" MOE_GATE_CASES=3000 timeout $(cap 100) bash ci/gpu-gate.sh /tmp/gate12 > $OUT/12-gate.txt 2>&1; echo "gate rc=$? $(el)"
grep -E "gpu-gate: (PASS|FAIL)|records" $OUT/12-gate.txt | cut -c1-240 | tail -4
MOE_HARNESS_REQUIRE_GPU=1 timeout $(cap 40) $AVA --timeout=5m goldens/gpu.test.ts native/gpu.test.ts > $OUT/12-ava.txt 2>&1; echo "ava rc=$? $(el)"; grep -E "passed|failed|✘" $OUT/12-ava.txt | tail -3
{ timeout $(cap 30) compute-sanitizer --tool memcheck $B --out /tmp/bs --configs gpt-oss-120b --T 1,8,512 --tactics '8/3,16/3,64/4,64/5,128/5' --reps 1 --copy-mib 64 2>&1 | grep SUMMARY | sed 's/^/memcheck /'
  timeout $(cap 45) compute-sanitizer --tool racecheck --racecheck-report hazard $B --out /tmp/bs --configs deepseek-lite --T 64 --tactics '64/5,64/4' --reps 1 --copy-mib 64 2>&1 | grep SUMMARY | sed 's/^/racecheck c4-5 /'
  timeout $(cap 30) compute-sanitizer --tool racecheck --racecheck-report hazard $B --out /tmp/bs --configs gpt-oss-120b --T 1 --tactics '8/3' --reps 1 --copy-mib 64 2>&1 | grep SUMMARY | sed 's/^/racecheck c3-split /'
} > $OUT/12-sanitizers.txt; cat $OUT/12-sanitizers.txt; echo "sanitizers $(el)"
[ "$(left 585)" -gt 120 ] && { timeout $(cap 400) node dist/native/bench/benchKernel.js --rounds=1 --reps=5 --out=/tmp/bk > $OUT/12-bench-kernel.txt 2>&1; echo "bench:kernel rc=$? $(el)"; cp /tmp/bk/bench-kernel.md $OUT/12-bench-kernel.md 2>/dev/null; grep -E "^\|" $OUT/12-bench-kernel.txt | cut -c1-200 | head -20; }
date -u
