"""Test adapters that break the process protocol on purpose, one way each (the CPU suite
harness/kernels/process.test.ts proves every one becomes a finding that names the adapter).

  python3 misbehaving_adapter.py MODE [--on TACTIC]

MODE: crash (exits during run), hang (never answers run), wrong_dtype (output as F32),
wrong_shape (output [T, H+1]), lie_tactic (reports another tactic), no_echo (no
executedTactic), write_inputs (writes into its inputs file), garbage (non-JSON on fd 4),
old_protocol (handshakes with version 999), unwritten (leaves the last output row as the
poison). Only tactic --on (default "blas") misbehaves; the others run the numpy MoE.
"""
import argparse
import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import numpy as np  # noqa: E402

import moe_adapter.adapter as base  # noqa: E402
from moe_adapter import Adapter, RunResult, serve  # noqa: E402
from moe_adapter.moe_numpy import moe  # noqa: E402

MODES = ["crash", "hang", "wrong_dtype", "wrong_shape", "lie_tactic", "no_echo", "write_inputs", "garbage",
         "old_protocol", "unwritten"]


class Misbehaving(Adapter):
    version = "test"

    def __init__(self, mode, on):
        self.mode, self.on = mode, on
        self.name = f"misbehaving-{mode}"

    def tactics(self, problem):
        return ["blas", "f64"]

    def prepare(self, inputs, problem):
        return inputs, problem

    def run(self, state, tactic, poison):
        inputs, p = state
        out, ids, w = moe(inputs, p, order=tactic)
        executed = tactic
        if tactic == self.on:
            if self.mode == "crash":
                print("misbehaving adapter: crashing on purpose", file=sys.stderr, flush=True)
                os._exit(3)
            if self.mode == "hang":
                time.sleep(3600)
            if self.mode == "wrong_dtype":
                return RunResult(out.astype(np.float32), ids, w, executed_tactic=tactic)
            if self.mode == "wrong_shape":
                return RunResult(np.zeros((out.shape[0], out.shape[1] + 1), np.uint16), ids, w, executed_tactic=tactic)
            if self.mode == "lie_tactic":
                executed = "f64"
            if self.mode == "no_echo":
                executed = None
            if self.mode == "write_inputs":
                with open(state_path[0], "r+b") as f:
                    f.seek(-1, os.SEEK_END)
                    b = f.read(1)
                    f.seek(-1, os.SEEK_END)
                    f.write(bytes([(b[0] + 1) % 256]))  # a lasting change (not undone by the second run)
            if self.mode == "garbage":
                server[0].out.write(b"this is not a protocol message\n")
            if self.mode == "unwritten":
                out = out.copy()
                out[-1, :] = poison
        return RunResult(out, ids, w, executed_tactic=executed)


state_path = [None]
server = [None]


class _Server(base._Server):
    def __init__(self, *a):
        super().__init__(*a)
        server[0] = self

    def handle(self, req):
        if req.get("op") == "prepare":
            state_path[0] = req["inputs"]
        r = super().handle(req)
        if req.get("op") == "hello" and MODE == "old_protocol":
            r["protocol"] = 999
        if req.get("op") == "run" and r.get("executedTactic") is None:
            del r["executedTactic"]
        return r


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("mode", choices=MODES)
    ap.add_argument("--on", default="blas")
    args = ap.parse_args()
    MODE = args.mode
    base._Server = _Server
    serve(Misbehaving(args.mode, args.on))
