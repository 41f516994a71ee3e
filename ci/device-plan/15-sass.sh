#!/usr/bin/env bash
# Device plan, call 15 (≤ 200 s), on the pack of call 14 (main's moe_bench in .device-carry):
# where config 3's instructions go, for issue 18's rows at T ≤ 64 (call 14: 8/3 FC1 at
# DeepSeek-V3 T = 64 is issue-bound, ALU 66 %, ~6.5 instructions per weight).
#   1. the SASS of moeStreamKernel<8, FC1, unsplit> (cuobjdump; there is none on the build machine)
#   2. ncu source counters of that kernel at DeepSeek-V3 T = 64: executed instructions and stall
#      samples per SASS instruction
#   3. per-kernel durations of one DeepSeek-V3 pipeline at T = 1 and T = 8 (call 14's filter took
#      the weight repack instead), clocks left alone
set -u; source .device-carry/setup.sh
L=${CALL_LIMIT:-200}
cap() { local l; l=$(left $L); [ "$l" -gt "$1" ] && echo "$1" || echo "$l"; }
P=/tmp/moe_bench_main
xz -dc .device-carry/moe_bench_main.xz > $P && chmod +x $P
F=_ZN3moe15moeStreamKernelILi8ELi0ELb0EEEvNS_10GemmParamsE
cuobjdump --dump-sass --function $F $P > $OUT/15-sass-stream-8-fc1.txt 2>&1; echo "sass rc=$? lines=$(wc -l < $OUT/15-sass-stream-8-fc1.txt) $(el)"
timeout $(cap 90) ncu --clock-control none --section SourceCounters --section InstructionStats --section WarpStateStats \
  --kernel-name-base mangled --kernel-name $F --launch-skip 1 --launch-count 1 -o /tmp/src64 \
  $P --out /tmp/n1 --configs deepseek-v3 --T 64 --tactics 8/3 --reps 1 --copy-mib 64 > /tmp/src64.log 2>&1; echo "ncu source rc=$? $(el)"
tail -3 /tmp/src64.log
ncu --import /tmp/src64.ncu-rep --page source --csv --print-source sass > $OUT/15-ncu-source-t64.csv 2>&1; echo "source page rc=$? lines=$(wc -l < $OUT/15-ncu-source-t64.csv)"
ncu --import /tmp/src64.ncu-rep --page details > $OUT/15-ncu-details-t64.txt 2>&1
for T in 1 8; do
  timeout $(cap 40) ncu --clock-control none --metrics gpu__time_duration.sum --kernel-name regex:'routing|count|scan|scatter|permute|moe|finaliz|fill|dequantHidden' \
    --launch-count 24 $P --out /tmp/n2 --configs deepseek-v3 --T $T --tactics 8/3 --reps 2 --copy-mib 64 > $OUT/15-kernels-t$T.txt 2>&1; echo "kernels T=$T rc=$? $(el)"
  grep -E "^  [a-zA-Z]|duration" $OUT/15-kernels-t$T.txt | cut -c1-100 | head -40
done
date -u
