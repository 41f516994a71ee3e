"""A plain CPU MoE in numpy served through moe-harness's process protocol.

Tactics differ in accumulation order (numpy BLAS float32, float64 rounded once, four K
chunks added in order with the k slots summed in reverse). `--fc1-activation bf16` rounds
FC1's activation to bf16 before FC2-input quantization (FlashInfer's reference) and
declares that convention.

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

    def __init__(self, fc1_activation):
        self.fc1_activation = fc1_activation
        self.conventions = {"fc1Activation": fc1_activation}

    def tactics(self, problem):
        return list(TACTICS)

    def prepare(self, inputs, problem):
        return inputs, problem

    def run(self, state, tactic, poison):
        if tactic not in TACTICS:
            raise BadTactic(f"tactic: expected one of {', '.join(TACTICS)}, got {tactic!r}")
        inputs, p = state
        order, slots = TACTICS[tactic]
        out, ids, w = moe(inputs, p, order=order, fc1_activation=self.fc1_activation, slot_order=slots)
        return RunResult(out, ids, w, executed_tactic=tactic)


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--fc1-activation", choices=["float32", "bf16"], default="float32")
    serve(NumpyAdapter(ap.parse_args().fc1_activation))
