#!/usr/bin/env bash
# Device plan, call 2 of 3 (≤ 510 s). Issue 13: the T·k·H > 2^31 case (DeepSeek-V3's shape, 256
# experts, I = 256, T = 37450), every valid tactic judged in full; then the two largest models
# at T = 4096 (the other six are in call 3).
set -u; source .device-carry/setup.sh
free -g | head -2; df -h /dev/shm | tail -1
MOE_HARNESS_REQUIRE_GPU=1 timeout 330 $AVA --verbose --timeout=10m native/fullSize.test.ts > $OUT/2-fullsize.txt 2>&1; echo "fullSize rc=$? $(el)"
grep -E "✔|✘|passed|failed|skipped|ℹ" $OUT/2-fullsize.txt | cut -c1-230 | tail -40
echo "== 13. bench:check at T = 4096: deepseek-v3, llama4-maverick"
timeout $(left 500) node dist/harness/benchCheck.js --configs deepseek-v3,llama4-maverick --T 4096 --gemm-runs 0 > $OUT/2-benchcheck-4096.txt 2>&1; echo "bench T=4096 rc=$? $(el)"
grep -E "^## |total wall|traffic|judging" $OUT/2-benchcheck-4096.txt | cut -c1-200
if [ "$(left 540)" -gt 60 ]; then
  echo "== 13. with the time left: T = 4096 for the three other larger SPEC configs (call 3 repeats any it lacks)"
  timeout $(left 540) node dist/harness/benchCheck.js --configs qwen3-235b-a22b,gpt-oss-120b,qwen3-next-80b --T 4096 --gemm-runs 0 > $OUT/2-benchcheck-4096-more.txt 2>&1; echo "bench T=4096 more rc=$? $(el)"
  grep -E "^## |total wall" $OUT/2-benchcheck-4096-more.txt | cut -c1-200
fi
date -u
