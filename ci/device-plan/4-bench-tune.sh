#!/usr/bin/env bash
# Device plan, call 4 (≤ 540 s). Issue 17: `bench:tune` for DeepSeek-V3, Qwen3-235B and
# gpt-oss-120b (buckets 1…4096: the tune timed as a whole against the 2-minute target, then the
# oracle per bucket against the 3 % target), then the fault demonstration. Every bucket's line
# is printed as it finishes and the JSON is rewritten after each, so a cut run keeps its rows.
set -u; source .device-carry/setup.sh
echo "== 17. bench:tune (gpt-oss-120b first: the smallest; then Qwen3-235B, DeepSeek-V3)"
timeout $(left 540) node dist/harness/tune/bench.js --kernel native --configs gpt-oss-120b,qwen3-235b-a22b,deepseek-v3 --max-tokens 4096 --rounds 10 --json $OUT/4-bench-tune.json > $OUT/4-bench-tune.txt 2>&1; echo "bench:tune rc=$? $(el)"
grep -E "^## |^\| |target|blocklist" $OUT/4-bench-tune.txt | cut -c1-220 | tail -70
date -u
