#!/usr/bin/env bash
# The GPU gate, for GPU runners (after `npm ci && npm run build:ts && node native/build.mjs --faults`
# and the native driver build, or after ci/unbundle.sh on a host without Node.js). docs/ci.md.
#
#   bash ci/gpu-gate.sh [OUTDIR]          (default reports/gpu-gate-<time>)
#
# Refuses to run (exit 2) without a usable GPU: nvidia-smi must list one and the native
# addon's device probe must open it. Then, each step recorded in OUTDIR:
#   1. the GPU ava suites with MOE_HARNESS_REQUIRE_GPU=1 (native/gpu.test.ts, native/fullSize.test.ts (T·k·H > 2^31), native/coldL2.test.ts; harness/gpu.test.ts,
#      whose last test kills the whole fault catalog on the native faults build; goldens/gpu.test.ts,
#      every valid tactic on every golden case)           → ava-gpu.tap, junit-ava-gpu.xml
#   2. a random campaign on the native kernel, float64 reference, on every GPU (--gpus all),
#      MOE_GATE_PROCS processes per GPU                   → campaign/ (report.json, .html), junit-campaign.xml
#   3. ci/killrate.sh OUTDIR/killrate, when that script exists
#   4. compute-sanitizer memcheck, racecheck, initcheck, synccheck over the native driver's fixed
#      small case set × every valid tactic (moe_gpu_check --quick)   → sanitizer-<tool>.log
#   5. the native driver's outputs judged by the harness: exportCases.js → moe_gpu_check --cases
#      (every valid tactic, 3 runs) → judgeDriverOutputs.js (harness/judge.ts)  → driver-judged.txt
#   6. the goldens through torch (ci/golden_torch_check.py), when python3 can import torch
# and gate.tap / junit-gate.xml with one test point per step. Exits 1 naming every failure,
# 0 when all passed, 2 when refused.
#
# Environment:
#   MOE_GATE_CASES   random campaign cases (default 2000)
#   MOE_GATE_SEED    campaign seed (default 9001)
#   MOE_GATE_PROCS   campaign processes per GPU, sharing it (default (cores - 2) / GPUs, at least 1)
#   MOE_GATE_FAULT   a fault of harness/faults.ts forced on in the campaign (native faults build):
#                    the gate must then go red, naming it; shows the gate can fail
#   MOE_GATE_STEPS  the steps to run (default all: ava campaign killrate sanitizers driver torch); a step left
#                   out is a SKIP point in the gate's JUnit, so the run is not a full gate
#   MOE_GATE_KILLRATE_BUDGET  seconds of each default invocation of ci/killrate.sh (default 60)
#   MOE_GATE_SANITIZERS  tools to run (default "memcheck racecheck initcheck synccheck")
#   CI_NODE_INDEX / CI_NODE_TOTAL   CI sharding: ava shards the suite files (when it detects CI),
#                    the campaign runs the cases i ≡ CI_NODE_INDEX (mod CI_NODE_TOTAL)
set -uo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
# Unpacked from a bundle (ci/unbundle.sh): its Node runtime comes first.
[ -x "$root/.node/bin/node" ] && export PATH="$root/.node/bin:$PATH"
out=${1:-reports/gpu-gate-$(date +%Y%m%d-%H%M%S)}
mkdir -p "$out"
out=$(cd "$out" && pwd)
cases=${MOE_GATE_CASES:-2000}
seed=${MOE_GATE_SEED:-9001}
tools=${MOE_GATE_SANITIZERS:-memcheck racecheck initcheck synccheck}
fault=${MOE_GATE_FAULT:-}
steps=" ${MOE_GATE_STEPS:-ava campaign killrate sanitizers driver torch} "
want() { [[ $steps == *" $1 "* ]]; }
cli=(node "$root/dist/harness/cli.js")
failures=()
tap=()
gate_start=$(date +%s)
log() { echo "gpu-gate: $*"; }
# One TAP test point per step (TAP, not XML: ci/tap-to-junit.sh makes the JUnit).
points=0
point() { # point ok|not_ok|skip NAME [MESSAGE]
  points=$(( points + 1 )); local n=$points
  case $1 in
    ok) tap+=("ok $n - $2") ;;
    skip) tap+=("ok $n - $2 # SKIP ${3:-}") ;;
    *) tap+=("not ok $n - $2" "  ---" "    message: '$(printf '%s' "${3:-}" | tr '\n' ' ' | sed "s/'/''/g")'" "  ...")
       failures+=("$2: ${3:-}") ;;
  esac
}
refuse() { echo "gpu-gate: REFUSED: $*" | tee "$out/REFUSED.txt" >&2; exit 2; }

for v in CASES SEED; do
  val=$(eval echo "\${MOE_GATE_$v:-1}")
  [[ $val =~ ^[0-9]+$ ]] || refuse "MOE_GATE_$v: expected a non-negative integer, got '$val'"
done
[[ $cases -ge 1 ]] || refuse "MOE_GATE_CASES: expected an integer >= 1, got '$cases'"

# ---- 0. preflight: a usable GPU, or no gate at all
command -v node > /dev/null || refuse "node not on PATH (bundle: export PATH=\$PWD/.node/bin:\$PATH after ci/unbundle.sh)"
[ -f dist/harness/cli.js ] || refuse "dist/ missing: run npm run build:ts (or use the bundle)"
command -v nvidia-smi > /dev/null || refuse "nvidia-smi not found: this is not a GPU host"
nvidia-smi --query-gpu=index,name,driver_version,memory.total --format=csv,noheader > "$out/gpu.txt" 2>&1 \
  || refuse "nvidia-smi failed: $(head -n 3 "$out/gpu.txt")"
gpus=$(grep -c . "$out/gpu.txt")
[ "$gpus" -ge 1 ] || refuse "nvidia-smi lists no GPU"
probe=$(node --input-type=module -e '
  const { gpuAvailability } = await import(process.argv[1]);
  const g = await gpuAvailability();
  console.log(JSON.stringify(g));
  process.exit(g.available ? 0 : 1);' "$root/dist/harness/gpuAvailability.js" 2>&1) \
  || refuse "the native addon cannot use the GPU: $probe"
echo "$probe" > "$out/device-probe.json"
log "$(node --version), $gpus GPU(s): $(tr '\n' ';' < "$out/gpu.txt")"
log "device probe: $probe"
if [[ $probe == *'"faultsBuild":true'* ]]; then point ok "native faults build present"
else point not_ok "native faults build present" "the native faults build is absent: run node native/build.mjs --faults (the bundle carries it)"; fi

export MOE_HARNESS_REQUIRE_GPU=1
export NCCL_NVLS_ENABLE=0 TORCH_SYMM_MEM_DISABLE_MULTICAST=1 NVSHMEM_DISABLE_NVLS=1
declare -A took

# ---- 1. GPU ava suites
if want ava; then
t0=$(date +%s)
log "1. GPU ava suites (MOE_HARNESS_REQUIRE_GPU=1)"
node node_modules/ava/entrypoints/cli.mjs --tap $(ls native/gpu.test.ts native/prepareCopy.test.ts native/fullSize.test.ts native/coldL2.test.ts harness/gpu.test.ts goldens/gpu.test.ts harness/kernels/libDoors.test.ts harness/kernels/processGpu.test.ts 2>/dev/null) \
  > "$out/ava-gpu.tap" 2> "$out/ava-gpu.stderr"
ava_rc=$?
bash ci/tap-to-junit.sh "$out/ava-gpu.tap" "$out/junit-ava-gpu.xml" ava-gpu || point not_ok "ava GPU suites: JUnit" "ci/tap-to-junit.sh failed"
n_ok=$(grep -c '^ok ' "$out/ava-gpu.tap"); n_bad=$(grep -c '^not ok ' "$out/ava-gpu.tap"); n_skip=$(grep -c '^ok .*# SKIP' "$out/ava-gpu.tap")
took[ava]=$(( $(date +%s) - t0 ))
log "ava GPU suites: $n_ok ok ($n_skip skipped), $n_bad not ok, exit $ava_rc, ${took[ava]} s"
if [ "$ava_rc" -eq 0 ] && [ "$n_bad" -eq 0 ] && [ "$n_skip" -eq 0 ] && [ "$n_ok" -gt 0 ]; then point ok "ava GPU suites ($n_ok tests)"
else
  while IFS= read -r l; do point not_ok "ava: ${l#not ok }" "see $out/ava-gpu.tap"; done < <(grep '^not ok ' "$out/ava-gpu.tap")
  [ "$n_skip" -gt 0 ] && point not_ok "ava GPU suites" "$n_skip tests skipped on a GPU runner"
  [ "$n_bad" -eq 0 ] && [ "$n_skip" -eq 0 ] && point not_ok "ava GPU suites" "ava exited $ava_rc with $n_ok ok (stderr: $(tail -n 3 "$out/ava-gpu.stderr" | tr '\n' ' '))"
fi

# ---- 2. random campaign on every GPU
else point skip "step ava" "left out by MOE_GATE_STEPS: not a full gate"; fi
if want campaign; then
t0=$(date +%s)
procs=${MOE_GATE_PROCS:-$(( ($(nproc) - 2) / gpus ))}
[[ $procs =~ ^[0-9]+$ ]] && [ "$procs" -ge 1 ] || procs=1
S=1; s=0
if [ -n "${CI_NODE_TOTAL:-}" ] && [ -n "${CI_NODE_INDEX:-}" ]; then
  S=$CI_NODE_TOTAL; s=$CI_NODE_INDEX
  [ -n "${GITLAB_CI:-}" ] && s=$(( s - 1 ))
fi
log "2. random campaign: $cases cases (seed $seed), CI shard $s/$S, $procs process(es) × --gpus all${fault:+, FAULT $fault FORCED ON}"
pids=(); shards=()
rm -rf "$out"/campaign-p*
for p in $(seq 0 $(( procs - 1 ))); do
  shard="$(( s + S * p ))/$(( S * procs ))"; shards+=("$(( s + S * p ))")
  "${cli[@]}" check --kernel native --reference float64 --runs "$cases" --seed "$seed" --gpus all --shard "$shard" --quiet \
    ${fault:+--fault "$fault"} --report "$out/campaign-p$p" > "$out/campaign-p$p.log" 2>&1 &
  pids+=($!)
done
for i in "${!pids[@]}"; do
  wait "${pids[$i]}"; rc=$?
  case $rc in 0|1|3) ;; *) point not_ok "campaign process $i" "exited $rc: $(tail -n 2 "$out/campaign-p$i.log" | tr '\n' ' ') (log $out/campaign-p$i.log)" ;; esac
done
while IFS= read -r l; do point not_ok "campaign: ${l#*WORKER FAILED: }" "a GPU worker died; its cases have no results"; done < <(grep -h 'moe-harness check: WORKER FAILED' "$out"/campaign-p*.log)
merge_args=(); for p in $(seq 0 $(( procs - 1 ))); do [ -f "$out/campaign-p$p/report.json" ] && merge_args+=("$out/campaign-p$p"); done
if [ ${#merge_args[@]} -gt 0 ]; then
  "${cli[@]}" merge "${merge_args[@]}" --shards "$(IFS=,; echo "${shards[*]}")" --report "$out/campaign" --junit "$out/junit-campaign.xml" > "$out/campaign.txt" 2>&1
  merge_rc=$?
  took[campaign]=$(( $(date +%s) - t0 ))
  summary=$(node -e '
    const r = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
    const by = {}; let worst = 0; const byMode = {};
    for (const x of r.records) {
      const w = x.worst?.ratio; const m = x.spec?.problem?.quantMode ?? "?";
      if (typeof w === "number") { worst = Math.max(worst, w); byMode[m] = Math.max(byMode[m] ?? 0, w); }
    }
    console.log(`${r.cases} cases, ${r.records.length} (case, tactic) records: ${JSON.stringify(r.totals)}; worst |out-ref|/bound ${worst} per quant mode ${JSON.stringify(byMode)}`);
    for (const x of r.records.filter((x) => x.disposition !== "passed" && x.disposition !== "not_supported").slice(0, 20))
      console.log(`BAD\tcase ${x.caseIndex} (${x.problem}) tactic ${x.tactic}: ${x.disposition}: ${x.findings[0] ?? ""}`);
    const bad = r.records.filter((x) => x.disposition !== "passed" && x.disposition !== "not_supported").length;
    if (bad > 20) console.log(`BAD\t… and ${bad - 20} more records not passed (see the report)`);' "$out/campaign/report.json" 2>&1)
  log "campaign: $(head -n 1 <<< "$summary"), ${took[campaign]} s"
  if grep -q $'^BAD\t' <<< "$summary"; then
    while IFS=$'\t' read -r _ what; do point not_ok "campaign${fault:+ (fault $fault forced on)}: $what" "replay commands in $out/campaign/report.html"; done < <(grep $'^BAD\t' <<< "$summary")
  elif [ "$merge_rc" -ne 0 ] && [ "$merge_rc" -ne 3 ]; then point not_ok "campaign merge" "exit $merge_rc: $(tail -n 3 "$out/campaign.txt" | tr '\n' ' ')"
  else point ok "random campaign ($(head -n 1 <<< "$summary"))"; fi
else
  point not_ok "random campaign" "no campaign process wrote a report (logs $out/campaign-p*.log)"
fi

# ---- 3. kill rate of the fault catalog (ci/killrate.sh, when present)
else point skip "step campaign" "left out by MOE_GATE_STEPS: not a full gate"; fi
if want killrate; then
if [ -f ci/killrate.sh ]; then
  t0=$(date +%s)
  log "3. ci/killrate.sh native (budget ${MOE_GATE_KILLRATE_BUDGET:-60} s per invocation)"
  # One default invocation per catalog fault (each about its --budget; MOE_GATE_KILLRATE_BUDGET, default 60 s).
  if bash ci/killrate.sh native "$out/killrate" --budget "${MOE_GATE_KILLRATE_BUDGET:-60}" > "$out/killrate.log" 2>&1; then point ok "fault catalog kill rate (ci/killrate.sh)"
  else point not_ok "fault catalog kill rate (ci/killrate.sh)" "$(tail -n 3 "$out/killrate.log" | tr '\n' ' ') (log $out/killrate.log)"; fi
  took[killrate]=$(( $(date +%s) - t0 ))
else
  log "3. ci/killrate.sh absent: the fault catalog is killed by harness/gpu.test.ts in step 1 only"
fi

# ---- 4. compute-sanitizer over the native driver
else point skip "step killrate" "left out by MOE_GATE_STEPS: not a full gate"; fi
driver=native/build/test/moe_gpu_check
if want sanitizers; then
t0=$(date +%s)
san=$(command -v compute-sanitizer || ls /usr/local/cuda/bin/compute-sanitizer 2>/dev/null || true)
log "4. compute-sanitizer ($tools) over $driver --quick"
if [ ! -x "$driver" ]; then point not_ok "sanitizers" "the native driver $driver is absent: cmake --build native/build --target moe_gpu_check (the bundle carries it)"
elif [ -z "$san" ]; then point not_ok "sanitizers" "compute-sanitizer not found on PATH or in /usr/local/cuda/bin"
else
  "$driver" --quick > "$out/driver-quick.log" 2>&1 || point not_ok "native driver --quick (no sanitizer)" "$(tail -n 1 "$out/driver-quick.log") (log $out/driver-quick.log)"
  for tool in $tools; do
    extra=(); [ "$tool" = memcheck ] && extra=(--leak-check full)
    "$san" --tool "$tool" "${extra[@]}" --error-exitcode 86 "$driver" --quick > "$out/sanitizer-$tool.log" 2>&1
    rc=$?
    sum=$(grep -E '(ERROR|RACECHECK) SUMMARY' "$out/sanitizer-$tool.log" | tail -n 1)
    if [ $rc -eq 0 ]; then point ok "compute-sanitizer $tool (${sum:-no summary line})"
    else point not_ok "compute-sanitizer $tool" "exit $rc: ${sum:-$(tail -n 1 "$out/sanitizer-$tool.log")} (log $out/sanitizer-$tool.log)"; fi
  done
fi
took[sanitizers]=$(( $(date +%s) - t0 ))
else point skip "step sanitizers" "left out by MOE_GATE_STEPS: not a full gate"; fi

# ---- 5. the native driver's outputs, judged by harness/judge.ts (native/test/judgeDriverOutputs.ts)
if want driver; then
t0=$(date +%s)
cdir="$out/driver-cases"
log "5. $driver --cases over the exported cases, judged by dist/native/test/judgeDriverOutputs.js"
if [ ! -x "$driver" ]; then point not_ok "native driver judged" "the native driver $driver is absent: cmake --build native/build --target moe_gpu_check (the bundle carries it)"
elif ! node "$root/dist/native/test/exportCases.js" "$cdir" > "$out/driver-export.log" 2>&1; then
  point not_ok "native driver judged" "exporting the cases failed: $(tail -n 1 "$out/driver-export.log") (log $out/driver-export.log)"
else
  "$driver" --cases "$cdir" --runs 3 > "$out/driver-cases.log" 2>&1
  drc=$?
  node "$root/dist/native/test/judgeDriverOutputs.js" "$cdir" > "$out/driver-judged.txt" 2>&1
  jrc=$?
  verdict=$(tail -n 1 "$out/driver-judged.txt")
  if [ $drc -eq 0 ] && [ $jrc -eq 0 ]; then point ok "native driver outputs judged by harness/judge.ts ($verdict)"
  else point not_ok "native driver outputs judged by harness/judge.ts" "driver exit $drc ($(tail -n 1 "$out/driver-cases.log")), judge exit $jrc ($verdict) (logs $out/driver-cases.log, $out/driver-judged.txt)"; fi
fi
took[driver]=$(( $(date +%s) - t0 ))
else point skip "step driver" "left out by MOE_GATE_STEPS: not a full gate"; fi

# ---- 6. goldens through torch
if want torch; then
t0=$(date +%s)
if python3 -c 'import torch' > /dev/null 2>&1; then
  log "6. goldens through torch"
  if python3 ci/golden_torch_check.py > "$out/torch-goldens.txt" 2>&1; then point ok "goldens through torch ($(tail -n 1 "$out/torch-goldens.txt"))"
  else point not_ok "goldens through torch" "$(tail -n 2 "$out/torch-goldens.txt" | tr '\n' ' ')"; fi
else
  log "6. SKIPPED LOUDLY: python3 cannot import torch; the goldens were not cross-checked through torch"
  point skip "goldens through torch" "python3 cannot import torch"
fi
took[torch]=$(( $(date +%s) - t0 ))
else point skip "step torch" "left out by MOE_GATE_STEPS: not a full gate"; fi

# ---- report
{ echo "TAP version 13"; printf '%s\n' "${tap[@]}"; echo "1..$points"; } > "$out/gate.tap"
bash ci/tap-to-junit.sh "$out/gate.tap" "$out/junit-gate.xml" gpu-gate > /dev/null || failures+=("gate JUnit: ci/tap-to-junit.sh failed")
total=$(( $(date +%s) - gate_start ))
log "timings (s): $(for k in "${!took[@]}"; do printf '%s %s, ' "$k" "${took[$k]}"; done)total $total"
log "outputs in $out: junit-ava-gpu.xml junit-campaign.xml junit-gate.xml campaign/ sanitizer-*.log driver-judged.txt"
if [ ${#failures[@]} -gt 0 ]; then
  log "FAIL: ${#failures[@]} failure(s):"
  for f in "${failures[@]}"; do echo "  - $f"; done
  exit 1
fi
log "PASS"
exit 0
