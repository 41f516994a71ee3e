#!/usr/bin/env bash
# Device plan, call 1 of 3 (≤ 510 s). Issue 11: the driver step (the C++ driver's outputs judged
# by harness/judge.ts) and the driver's fault table; issue 13: bench:check at the two targets'
# T = 256, every SPEC config at T = 1 and the other five at T = 256; issue 17: a timed tune of
# gpt-oss-120b.
set -u; source .device-carry/setup.sh
echo "== 11. driver step of the gate (exported cases → moe_gpu_check --cases → judgeDriverOutputs)"
MOE_GATE_STEPS=driver timeout 120 bash ci/gpu-gate.sh /tmp/gate > $OUT/1-driver.txt 2>&1; echo "driver rc=$? $(el)"
timeout 60 native/build/test/moe_gpu_check_faults --faults >> $OUT/1-driver.txt 2>&1; echo "faults driver rc=$? $(el)"
grep -E "gpu-gate:|passed|failed|^ok|^not ok" $OUT/1-driver.txt | tail -12 | cut -c1-220
echo "== 13. bench:check at the targets (T = 256)"
timeout 150 node dist/harness/benchCheck.js --configs deepseek-v3,qwen3-235b-a22b,gpt-oss-120b --T 256 --gemm-runs 1 > $OUT/1-benchcheck.txt 2>&1; echo "bench T=256 rc=$? $(el)"
echo "== 13. bench:check: the three at T = 1, the five other SPEC configs at T = 1 and 256"
timeout 60 node dist/harness/benchCheck.js --configs deepseek-v3,qwen3-235b-a22b,gpt-oss-120b --T 1 --gemm-runs 0 >> $OUT/1-benchcheck.txt 2>&1; echo "bench T=1 rc=$? $(el)"
timeout 150 node dist/harness/benchCheck.js --configs deepseek-lite,qwen3-30b-a3b,qwen3-next-80b,llama4-maverick,mixtral-8x7b --T 1,256 --gemm-runs 0 >> $OUT/1-benchcheck.txt 2>&1; echo "bench others rc=$? $(el)"
grep -E "^## |total wall|generate|regenerate|prepare|traffic|judging" $OUT/1-benchcheck.txt | cut -c1-200
echo "== 17. tune gpt-oss-120b (target: the whole tune < 2 min)"
timeout $(left 500) node dist/harness/cli.js tune --config gpt-oss-120b --cache /tmp/tune.json > $OUT/1-tune.txt 2>&1; echo "tune rc=$? $(el)"
tail -30 $OUT/1-tune.txt | cut -c1-220
if [ "$(left 540)" -gt 60 ]; then
  echo "== 13. with the time left: bench:check at T = 4096 for the smaller SPEC configs (call 3 repeats any it lacks)"
  timeout $(left 540) node dist/harness/benchCheck.js --configs deepseek-lite,qwen3-30b-a3b,mixtral-8x7b --T 4096 --gemm-runs 0 > $OUT/1-benchcheck-4096.txt 2>&1; echo "bench T=4096 small rc=$? $(el)"
  grep -E "^## |total wall" $OUT/1-benchcheck-4096.txt | cut -c1-200
fi
date -u
