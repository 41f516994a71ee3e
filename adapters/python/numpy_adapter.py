"""A plain CPU MoE in numpy served through moe-harness's process protocol.

Tactics differ in accumulation order (numpy BLAS float32, float64 rounded once, four K
chunks added in order with the k slots summed in reverse). `--fc1-activation bf16` rounds
FC1's activation to bf16 before FC2-input quantization (FlashInfer's reference);
`--fc1-output bf16` / `--fc2-output bf16` round the GEMM accumulators to bf16 (a GEMM with
bf16 output, as torch_adapter.py's); each declares its convention.

  node dist/harness/cli.js check --kernel cmd:"python3 adapters/python/numpy_adapter.py"
"""
import argparse
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from moe_adapter import Adapter, BadTactic, RunResult, serve  # noqa: E402
from moe_adapter.moe_numpy import moe  # noqa: E402

TACTICS = {"blas": ("blas", "forward"), "f64": ("f64", "forward"), "ksplit4-rev": ("ksplit4", "reverse")}


class NumpyAdapter(Adapter):
    name = "numpy-moe"
    version = f"numpy-{np.__version__}"

    def __init__(self, conventions):
        self.conventions = conventions

    def tactics(self, problem):
        return list(TACTICS)

    def prepare(self, inputs, problem):
        return inputs, problem

    def run(self, state, tactic, poison):
        if tactic not in TACTICS:
            raise BadTactic(f"tactic: expected one of {', '.join(TACTICS)}, got {tactic!r}")
        inputs, p = state
        order, slots = TACTICS[tactic]
        c = self.conventions
        out, ids, w = moe(inputs, p, order=order, slot_order=slots, fc1_output=c["fc1Output"],
                          fc1_activation=c["fc1Activation"], fc2_output=c["fc2Output"])
        return RunResult(out, ids, w, executed_tactic=tactic)


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__)
    for flag in ("fc1-output", "fc1-activation", "fc2-output"):
        ap.add_argument(f"--{flag}", choices=["float32", "bf16"], default="float32")
    a = ap.parse_args()
    serve(NumpyAdapter({"fc1Output": a.fc1_output, "fc1Activation": a.fc1_activation, "fc2Output": a.fc2_output}))
