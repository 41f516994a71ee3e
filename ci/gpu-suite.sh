#!/usr/bin/env bash
# Kept for old callers: the GPU gate is ci/gpu-gate.sh (docs/ci.md). This wrapper maps the
# old arguments onto it:
#   bash ci/gpu-suite.sh [CASES] [PROCS] [LOGDIR]  →  MOE_GATE_CASES=CASES MOE_GATE_PROCS=PROCS ci/gpu-gate.sh LOGDIR
set -euo pipefail
here=$(dirname "$0")
[ -n "${1:-}" ] && export MOE_GATE_CASES=$1
[ -n "${2:-}" ] && export MOE_GATE_PROCS=$2
exec bash "$here/gpu-gate.sh" ${3:+"$3"}
