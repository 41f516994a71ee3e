#!/usr/bin/env bash
# Kill rate of the default run: ONE default invocation per fault of the catalog
# (harness/faults.ts), each its own process,
#
#   node dist/harness/cli.js check --kernel KERNEL --fault F --quiet --report LOGDIR/F [ARGS…]
#
# after a baseline invocation without a fault (which must pass: otherwise a "kill" could be
# a false alarm). Prints one table row per fault and the kill rate; exit 0 when the baseline
# passed and every fault was killed, 1 otherwise, 2 when the tools are missing.
#
#   bash ci/killrate.sh [KERNEL] [LOGDIR] [ARGS…]
#
# KERNEL  native (default; --fault needs the faults build: node native/build.mjs --faults,
#         which `npm run bundle:gpu` then packs) or emulated;
# LOGDIR  where each invocation's log and report go (default reports/killrate-KERNEL-<time>);
# ARGS    extra `check` options for every invocation, e.g. --budget 30 or --seed 7 (none by
#         default: default settings).
# Environment: FAULTS="f1 f2 …" runs only those faults (default: the whole catalog), and
# BASELINE=skip leaves the baseline out, to split the catalog over several commands (each
# invocation takes about the budget, 60 s by default).
# Works from a source checkout after `npm run build:ts` and from the GPU bundle (ci/unbundle.sh).
set -uo pipefail
cd "$(dirname "$0")/.."
kernel=${1:-native}
logdir=${2:-reports/killrate-$kernel-$(date +%Y%m%d-%H%M%S)}
shift $(( $# < 2 ? $# : 2 ))
extra=("$@")
case "$kernel" in native|emulated) ;; *) echo "killrate: KERNEL: expected native or emulated, got \"$kernel\"" >&2; exit 2 ;; esac
[ -f dist/harness/cli.js ] || { echo "killrate: dist/harness/cli.js missing: run 'npm run build:ts' first (or unpack the GPU bundle)" >&2; exit 2; }
mkdir -p "$logdir"
catalog=$(node --input-type=module -e 'const m = await import(process.argv[1]); console.log(m.FAULT_NAMES.join(" "))' "$PWD/dist/harness/faults.js") || {
  echo "killrate: could not read the fault catalog from dist/harness/faults.js" >&2; exit 2; }
faults=${FAULTS:-$catalog}
for f in $faults; do
  case " $catalog " in *" $f "*) ;; *) echo "killrate: FAULTS: expected names from the catalog ($catalog), got \"$f\"" >&2; exit 2 ;; esac
done

# One invocation: prints "exit seconds records-line first-finding" fields into globals.
invoke() { # name, check args…
  local name=$1; shift
  local start end
  start=$(date +%s.%N)
  node dist/harness/cli.js check --kernel "$kernel" --quiet --report "$logdir/$name" "$@" "${extra[@]}" > "$logdir/$name.log" 2>&1
  code=$?
  end=$(date +%s.%N)
  secs=$(awk -v a="$start" -v b="$end" 'BEGIN { printf "%.1f", b - a }')
  records=$(grep -Eo '[0-9]+ cases, [0-9]+ \(case, tactic\) records: passed [0-9]+, incorrect [0-9]+, crashed [0-9]+, not supported [0-9]+' "$logdir/$name.log" | tail -n 1)
  finding=$(grep -A1 -E '^(INCORRECT|CRASHED): ' "$logdir/$name.log" | sed -n 2p | sed -E 's/^ +//' | cut -c1-110)
}

printf '%-28s %4s %-9s %8s  %-78s %s\n' fault exit verdict seconds 'cases / records' 'first finding'
if [ "${BASELINE:-run}" = skip ]; then
  baseline=skipped; echo "(baseline skipped: BASELINE=skip)"
else
  invoke baseline
  if [ "$code" -eq 0 ]; then verdict=passed; else verdict=FAILED; fi
  printf '%-28s %4s %-9s %8s  %-78s %s\n' '(none: baseline)' "$code" "$verdict" "$secs" "${records:-?}" "${finding:-}"
  grep -m1 '^default run:' "$logdir/baseline.log" || true
  baseline=$code
fi
killed=0; total=0; survivors=(); errors=()
for f in $faults; do
  total=$((total + 1))
  invoke "$f" --fault "$f"
  case "$code" in
    1) verdict=killed; killed=$((killed + 1)) ;;
    0|3) verdict=SURVIVED; survivors+=("$f") ;;
    *) verdict="ERROR($code)"; errors+=("$f") ;;
  esac
  printf '%-28s %4s %-9s %8s  %-78s %s\n' "$f" "$code" "$verdict" "$secs" "${records:-?}" "${finding:-$(tail -n 1 "$logdir/$f.log" | cut -c1-110)}"
done
echo
echo "kill rate: $killed/$total faults killed by one default invocation each (kernel $kernel${extra[*]:+, ${extra[*]}}); baseline ${baseline/#[0-9]*/exit $baseline}; logs in $logdir"
[ ${#survivors[@]} -gt 0 ] && echo "survived: ${survivors[*]}"
[ ${#errors[@]} -gt 0 ] && echo "errors (see their logs): ${errors[*]}"
[ "$baseline" != 0 ] && [ "$baseline" != skipped ] && exit 1
[ "$killed" -eq "$total" ] && exit 0
exit 1
