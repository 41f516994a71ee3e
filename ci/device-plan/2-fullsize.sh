#!/usr/bin/env bash
# Device plan, call 2 of 3 (≤ 510 s). Issue 13: the T·k·H > 2^31 case (DeepSeek-V3's shape, 256
# experts, I = 256, T = 37450), every valid tactic judged in full, in a command of its own.
set -u; source .device-carry/setup.sh
free -g | head -2; df -h /dev/shm | tail -1
MOE_HARNESS_REQUIRE_GPU=1 timeout $(left 500) $AVA --verbose --timeout=10m native/fullSize.test.ts > $OUT/2-fullsize.txt 2>&1; echo "fullSize rc=$? $(el)"
grep -E "✔|✘|passed|failed|skipped|ℹ" $OUT/2-fullsize.txt | cut -c1-230 | tail -40
date -u
