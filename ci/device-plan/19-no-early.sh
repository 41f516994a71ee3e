#!/usr/bin/env bash
# Device plan, call 19 (≤ 280 s: what was left of session 12's device time), packed on
# kernel/no-early by
#   bash ci/device-plan/pack-variants.sh main=main
# Issue 18 (NOTES run 11). Call 18 landed every decode change together (8/3 −20.5 %), among them
# kernel/stream-early, which alone ran +3.6 % at 8/3 summed (+3.4 … +4.5 % at T = 8, 64).
# kernel/no-early moves config 3's first weight loads back after the first token chunk's copies
# (the weight rows stay in registers). Predicted: 8/3 −2 … −4 % at T = 8, 64, T = 1 ±1 %.
# Rule, written before the run: it pays at 8/3 summed ≤ −2 % against main (twice call 18's
# round-to-round spread) with gpt-oss ≤ +1 % and 16/3 summed ≤ +1 %; where it pays, this same
# call judges it (the gate's 3,000-case campaign, the GPU suites, memcheck and racecheck of
# config 3). "all" below is the pack's build (kernel/no-early), "main" main's moe_bench.
set -u; source .device-carry/setup.sh
L=${CALL_LIMIT:-280}
B=native/build/bench/moe_bench
unpackVariants
mkdir -p /tmp/bs
benchVariants $OUT/19-bench-small.txt 2 30 1,8,64 '8/3,16/3' main all
python3 ci/device-plan/compare_variants.py $OUT/19-bench-small.txt --tactic 8/3 --tactic 16/3 --names main,all --rule 8/3:-2:1 --rule 16/3:1 2>&1 | tee $OUT/19-verify.txt
pays=$(grep -q "^  all: pays under every rule" $OUT/19-verify.txt && echo yes || echo no)
echo "no-early pays: $pays (8/3 summed <= -2 %, gpt-oss <= +1 %, 16/3 summed <= +1 %)" | tee -a $OUT/19-verify.txt
if [ "$pays" = yes ]; then
  gateAndSuites 19 80 $OUT/19-verify.txt
  timeout $(cap 30) compute-sanitizer --tool memcheck $B --out /tmp/bs --configs qwen3-235b-a22b,gpt-oss-120b --T 1,64 --tactics '8/3,16/3' --reps 1 --copy-mib 64 2>&1 | grep SUMMARY | sed 's/^/memcheck config 3 /' | tee -a $OUT/19-verify.txt
  timeout $(cap 30) compute-sanitizer --tool racecheck --racecheck-report hazard $B --out /tmp/bs --configs qwen3-235b-a22b --T 1,8 --tactics '8/3,16/3' --reps 1 --copy-mib 64 2>&1 | grep SUMMARY | sed 's/^/racecheck config 3 /' | tee -a $OUT/19-verify.txt
fi
echo "done $(el)"; date -u
