#!/usr/bin/env bash
# Device plan, call 3 of 3 (≤ 510 s). Issue 13: six SPEC configs at T = 4096 (DeepSeek-V3 and
# Llama-4 Maverick ran in call 2); issue 18: ncu on the
# decode and large-T tactics, racecheck of configs 4 and 5 on a small case, then the campaign over
# every tactic with the time left. SKIP_BENCH=1 leaves the bench:check step out.
set -u; source .device-carry/setup.sh
echo "== 13. bench:check at T = 4096: the six other SPEC configs"
[ -n "${SKIP_BENCH:-}" ] || timeout 240 node dist/harness/benchCheck.js --configs qwen3-235b-a22b,gpt-oss-120b,deepseek-lite,qwen3-30b-a3b,qwen3-next-80b,mixtral-8x7b --T 4096 --gemm-runs 0 > $OUT/3-benchcheck-4096.txt 2>&1; echo "bench T=4096 rc=$? $(el)"
grep -E "^## |total wall|traffic|judging" $OUT/3-benchcheck-4096.txt | cut -c1-200
echo "== 18. ncu: gpt-oss-120b T=1 8/3, deepseek-v3 T=4096 128/5"
B=native/build/bench/moe_bench; mkdir -p /tmp/mb1 /tmp/mb2 /tmp/mb3
timeout 60 ncu --set full --launch-skip 20 --launch-count 6 -o /tmp/ncu-decode $B --out /tmp/mb1 --configs gpt-oss-120b --T 1 --tactics 8/3 --reps 3 --copy-mib 64 > /tmp/ncu1.log 2>&1; echo "ncu decode rc=$? $(el)"
timeout 90 ncu --set full --launch-skip 20 --launch-count 6 -o /tmp/ncu-large $B --out /tmp/mb2 --configs deepseek-v3 --T 4096 --tactics 128/5 --reps 3 --copy-mib 64 > /tmp/ncu2.log 2>&1; echo "ncu large rc=$? $(el)"
for r in decode large; do ncu --import /tmp/ncu-$r.ncu-rep --page details --print-units base 2>/dev/null | grep -E "^  [a-z_]+|Duration|Memory Throughput|DRAM Throughput|Compute \(SM\) Throughput|Achieved Occupancy|Registers Per Thread|Theoretical Occupancy|Warp Cycles Per Issued|L2 Hit Rate|Dynamic Shared" ; done > $OUT/3-ncu.txt; tail -n 4 /tmp/ncu1.log /tmp/ncu2.log >> $OUT/3-ncu.txt
echo "== 18. racecheck, configs 4 and 5, small case"
timeout 100 compute-sanitizer --tool racecheck --racecheck-report hazard $B --out /tmp/mb3 --configs deepseek-lite --T 64 --tactics 64/4,64/5 --reps 1 --copy-mib 64 > $OUT/3-racecheck.txt 2>&1; echo "racecheck rc=$? $(el)"; grep -E "RACECHECK SUMMARY|ERROR SUMMARY|hazard" $OUT/3-racecheck.txt | head -5
echo "== 18. campaign over every tactic with the time left"
MOE_GATE_STEPS=campaign MOE_GATE_CASES=3000 timeout $(left 500) bash ci/gpu-gate.sh /tmp/gate3 > $OUT/3-campaign.txt 2>&1; echo "campaign rc=$? $(el)"
grep -E "gpu-gate:|passed|records" $OUT/3-campaign.txt | tail -8 | cut -c1-220
date -u
