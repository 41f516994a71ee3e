#!/usr/bin/env bash
# Device plan, call 5 (≤ 200 s). Issue 17: the catalog fault tactic_skips_last_k_block now sits on
# the decode tactic 8/3, the fastest at small T. Shows: the driver's fault table (fault 11 changes
# 8/3's result), the tuner's demonstration (8/3 blocklisted where it is the fastest overall), and
# the default run catching it (ci/killrate.sh, this one fault, --budget 20).
set -u; source .device-carry/setup.sh
timeout 40 native/build/test/moe_gpu_check_faults --faults > $OUT/5-faults-driver.txt 2>&1; echo "faults driver rc=$? $(el)"
grep -E "fault 11|without effect" $OUT/5-faults-driver.txt
timeout 100 node dist/harness/tune/bench.js --kernel native --demo only --rounds 10 --json $OUT/5-demo.json > $OUT/5-demo.txt 2>&1; echo "demo rc=$? $(el)"
grep -E "^\| [0-9]|within 3%|fastest overall" $OUT/5-demo.txt | cut -c1-220
BASELINE=skip FAULTS=tactic_skips_last_k_block timeout $(left 190) bash ci/killrate.sh native /tmp/kr --budget 20 > $OUT/5-killrate.txt 2>&1; echo "killrate rc=$? $(el)"
tail -6 $OUT/5-killrate.txt | cut -c1-220
date -u
