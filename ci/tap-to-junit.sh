#!/usr/bin/env bash
# Convert ava's TAP output (`ava --tap`) into JUnit XML with tap-junit (a maintained npm
# package; no hand-written XML here).
#
#   bash ci/tap-to-junit.sh TAP_FILE JUNIT_FILE [CLASSNAME]
#
# One <testcase> per TAP test point, named "file › title" as ava prints it, classname
# CLASSNAME (default "ava"); failures carry ava's assertion message; `# SKIP` → <skipped>.
# tap-junit reads `not ok … # TODO` (ava's test.todo) as a failure; this project has no
# test.todo.
# Exit 0 when the JUnit file was written (whether or not the tests passed: the test run's own
# exit status says that); 1 when it could not be written. Prints one summary line.
set -uo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
tap=${1:?usage: ci/tap-to-junit.sh TAP_FILE JUNIT_FILE [CLASSNAME]}
out=${2:?usage: ci/tap-to-junit.sh TAP_FILE JUNIT_FILE [CLASSNAME]}
classname=${3:-ava}
[ -f "$tap" ] || { echo "tap-to-junit: TAP_FILE: expected a file, got $tap (missing)" >&2; exit 1; }
name=$(basename "$out")
case "$name" in
  *[!A-Za-z0-9_.-]*) echo "tap-to-junit: JUNIT_FILE: expected a file name of letters, digits, '_', '-', '.', got $name" >&2; exit 1 ;;
esac
dir=$(dirname "$out")
mkdir -p "$dir"
rm -f "$out"
# tap-junit exits 1 when the TAP has failures; that is not an error of the conversion.
node "$root/node_modules/tap-junit/bin/tap-junit" --output "$dir" --name "$name" --classname "$classname" --pretty < "$tap" > /dev/null 2> "$out.stderr"
if [ ! -s "$out" ]; then
  echo "tap-to-junit: no JUnit written from $tap:" >&2
  cat "$out.stderr" >&2
  rm -f "$out.stderr"
  exit 1
fi
rm -f "$out.stderr"
head -n 3 "$out" | grep -o '<testsuite [^>]*>' | sed "s#^#tap-to-junit: $out: #"
exit 0
