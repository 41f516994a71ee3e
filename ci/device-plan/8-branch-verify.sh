#!/usr/bin/env bash
# Device plan, call 8 (≤ 570 s), the branch's build (pack.sh or pack-compare.sh). Issue 18: what a
# kernel change needs before it lands — the GPU suites (goldens on every tactic, the native suite),
# the gate's driver step and a 3,000-case campaign over every tactic judged by the harness — then
# `bench:kernel` (every tactic, the copy and the PyTorch baseline, 2 rounds) with the time left.
set -u; source .device-carry/setup.sh
MOE_HARNESS_REQUIRE_GPU=1 timeout 150 $AVA --timeout=5m goldens/gpu.test.ts native/gpu.test.ts > $OUT/8-ava.txt 2>&1; echo "ava rc=$? $(el)"; grep -E "passed|failed|✘" $OUT/8-ava.txt | tail -4
MOE_GATE_STEPS="driver campaign" MOE_GATE_CASES=3000 timeout 200 bash ci/gpu-gate.sh /tmp/gate8 > $OUT/8-gate.txt 2>&1; echo "gate rc=$? $(el)"
grep -E "gpu-gate: (PASS|FAIL)|records|worst" $OUT/8-gate.txt | cut -c1-220 | tail -6
timeout $(left 560) node dist/native/bench/benchKernel.js --rounds=2 --reps=5 --out=/tmp/bk > $OUT/8-bench-kernel.txt 2>&1; echo "bench:kernel rc=$? $(el)"
cp /tmp/bk/*.json $OUT/ 2>/dev/null; cat $OUT/8-bench-kernel.txt | cut -c1-240 | tail -30
date -u
