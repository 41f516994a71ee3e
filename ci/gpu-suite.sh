#!/usr/bin/env bash
# The GPU gate: run on a CUDA host (after `npm ci`, or after ci/unbundle.sh on a host
# without Node). Fails (non-zero) when any GPU suite skips, fails, or the random campaign
# finds anything.
#
#   bash ci/gpu-suite.sh [CASES] [PROCS] [LOGDIR]
#
# CASES  random campaign cases on the native kernel (default 10000), split over
# PROCS  parallel campaign processes (default: cores - 2), sharing the one GPU;
# LOGDIR where logs and reports go (default reports/gpu-<time>).
set -uo pipefail
cd "$(dirname "$0")/.."
cases=${1:-10000}
procs=${2:-$(( $(nproc) > 3 ? $(nproc) - 2 : 1 ))}
logdir=${3:-reports/gpu-$(date +%Y%m%d-%H%M%S)}
mkdir -p "$logdir"
export MOE_HARNESS_REQUIRE_GPU=1
status=0
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader | tee "$logdir/gpu.txt"

echo "== GPU ava suites (MOE_HARNESS_REQUIRE_GPU=1)"
start=$(date +%s)
node node_modules/ava/entrypoints/cli.mjs --tap native/gpu.test.ts harness/gpu.test.ts goldens/gpu.test.ts > "$logdir/ava-gpu.tap" 2>&1 || status=1
grep -E '^(not ok|# )' "$logdir/ava-gpu.tap" | tail -n 20
echo "ava GPU suites: $(grep -c '^ok' "$logdir/ava-gpu.tap") ok, $(grep -c '^not ok' "$logdir/ava-gpu.tap") not ok, $(( $(date +%s) - start )) s"

echo "== random campaign: $cases cases over $procs processes"
start=$(date +%s)
per=$(( (cases + procs - 1) / procs ))
pids=()
for p in $(seq 1 "$procs"); do
  node dist/harness/cli.js check --kernel native --reference float64 --runs "$per" --seed $((9000 + p)) --quiet \
    --report "$logdir/campaign-$p" > "$logdir/campaign-$p.log" 2>&1 &
  pids+=($!)
done
for pid in "${pids[@]}"; do wait "$pid" || status=1; done
node -e '
const fs = require("fs"); const dir = process.argv[1];
let cases = 0, recs = 0, worst = 0; const by = {}; const kinds = {}; const byMode = {}; const absMode = {};
for (const d of fs.readdirSync(dir).filter((d) => /^campaign-\d+$/.test(d))) {
  const r = JSON.parse(fs.readFileSync(`${dir}/${d}/report.json`, "utf8"));
  cases += r.cases;
  for (const [k, v] of Object.entries(r.totals)) by[k] = (by[k] ?? 0) + v;
  for (const x of r.records) {
    recs++;
    for (const [k, v] of Object.entries(x.counts ?? {})) if (v) kinds[k] = (kinds[k] ?? 0) + v;
    const w = x.worst?.ratio; const m = x.spec?.problem?.quantMode ?? "?";
    if (typeof w === "number") { worst = Math.max(worst, w); byMode[m] = Math.max(byMode[m] ?? 0, w);
      const e = Math.abs(x.worst.observed - x.worst.reference); if (e > (absMode[m]?.err ?? -1)) absMode[m] = { err: e, ref: x.worst.reference, bound: x.worst.bound }; }
  }
}
console.log(`campaign: ${cases} cases, ${recs} (case, tactic) records: ${JSON.stringify(by)}`);
console.log(`discrepancy counts: ${JSON.stringify(kinds)}; worst |out-ref|/bound ${worst} (per quant mode ${JSON.stringify(byMode)})`);
console.log(`largest |out-ref| per quant mode: ${JSON.stringify(absMode)}`);
' "$logdir"
echo "campaign time: $(( $(date +%s) - start )) s"

echo "== goldens through torch"
python3 ci/golden_torch_check.py > "$logdir/torch-goldens.txt" 2>&1 || status=1
tail -n 3 "$logdir/torch-goldens.txt"
echo "gpu-suite: $([ $status -eq 0 ] && echo PASS || echo FAIL)"
exit $status
