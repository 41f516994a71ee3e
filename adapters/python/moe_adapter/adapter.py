"""The base class of an adapter and the protocol loop (docs/process-protocol.md, version 1).

Requests arrive on fd 3 and answers leave on fd 4, one JSON object per line; stdout and
stderr stay free for the kernel's own printing. Tensors travel as safetensors files on
shared memory: `prepare` names the case's inputs file (weights included, written once per
case), `run` names the file the output must be written to.

A subclass sets name / version / device / quant_modes / routing_methods / conventions and
implements tactics(problem), prepare(inputs, problem) and run(state, tactic, poison); see
numpy_adapter.py for a complete one in a few dozen lines.
"""
import json
import os
import sys
import time
import traceback
from dataclasses import dataclass

import numpy as np

from . import safetensors_np as st

PROTOCOL = 1


class Unsupported(Exception):
    """The problem is outside what the kernel supports (answered as kind "unsupported")."""


class BadTactic(Exception):
    """The tactic is not one the kernel runs for this problem (answered as kind "bad_tactic")."""


@dataclass
class RunResult:
    output: np.ndarray          # bf16 bits, uint16 [T, H]
    ids: np.ndarray             # int32 [T, k], global expert ids
    weights: np.ndarray         # float32 [T, k]
    executed_tactic: str        # the tactic the kernel actually ran (the harness checks it)
    ms: float = None            # kernel time, when measured


class Adapter:
    name = "adapter"
    version = "0"
    device = "cpu"
    quant_modes = ("nvfp4", "mxfp4_mxfp8", "mxfp4_bf16")
    routing_methods = ("default", "renormalize", "renormalize_naive", "deepseek_v3", "topk", "llama4")
    conventions = {}

    def describe(self):
        return {"name": self.name, "version": self.version, "device": self.device,
                "quantModes": list(self.quant_modes), "routingMethods": list(self.routing_methods),
                "conventions": dict(self.conventions)}

    def tactics(self, problem):
        """A list of tactic labels (or dicts with "label"), optionally with a list of
        {"label", "reason"} for tactics that cannot run: return (tactics, unavailable)."""
        raise NotImplementedError

    def prepare(self, inputs, problem):
        """inputs: name -> safetensors_np.Tensor. Returns any state object run() receives."""
        raise NotImplementedError

    def run(self, state, tactic, poison):
        """Run `tactic` forced; return a RunResult. `poison`: the uint16 pattern the output
        buffer must hold before the kernel writes it (unwritten elements then show)."""
        raise NotImplementedError

    def release(self, state):
        pass


def _as_tensor(a, bf16=False):
    """A returned array as written: uint16 output is bf16 bits (BF16); anything else keeps its own dtype."""
    a = np.asarray(a)
    if bf16 and a.dtype == np.uint16:
        return st.Tensor("BF16", a)
    return a


class _Server:
    def __init__(self, adapter, fd_in, fd_out):
        self.a = adapter
        self.inp = os.fdopen(fd_in, "rb", buffering=0)
        self.out = os.fdopen(fd_out, "wb", buffering=0)
        self.states = {}
        self.next_handle = 1

    def answer(self, msg):
        self.out.write((json.dumps(msg, separators=(",", ":")) + "\n").encode("utf-8"))

    def handle(self, req):
        op = req.get("op")
        if op == "hello":
            if PROTOCOL not in req.get("protocols", []):
                raise Unsupported(f"protocols: expected one of the harness's to include {PROTOCOL}, got {req.get('protocols')}")
            return {"protocol": PROTOCOL, "describe": self.a.describe()}
        if op == "tactics":
            r = self.a.tactics(req["problem"])
            tactics, unavailable = r if isinstance(r, tuple) else (r, [])
            return {"tactics": [t if isinstance(t, dict) else {"label": str(t)} for t in tactics],
                    "unavailable": list(unavailable)}
        if op == "prepare":
            inputs, _meta = st.read(req["inputs"])
            state = self.a.prepare(inputs, req["problem"])
            h = f"h{self.next_handle}"
            self.next_handle += 1
            self.states[h] = state
            return {"handle": h}
        if op == "run":
            state = self.states[req["handle"]]
            t0 = time.perf_counter()
            r = self.a.run(state, req["tactic"], int(req["poison"]))
            wall = (time.perf_counter() - t0) * 1e3
            # No conversion here: a tensor of the wrong dtype or shape reaches the harness as
            # it is, and the harness reports it (the judge decides, not the adapter).
            st.write(req["output"], {
                "output": _as_tensor(r.output, bf16=True),
                "ids": _as_tensor(r.ids),
                "weights": _as_tensor(r.weights),
            })
            return {"executedTactic": r.executed_tactic, "ms": r.ms if r.ms is not None else wall}
        if op == "release":
            state = self.states.pop(req["handle"], None)
            if state is not None:
                self.a.release(state)
            return {}
        if op == "shutdown":
            return {}
        raise ValueError(f"op: expected hello, tactics, prepare, run, release or shutdown, got {op!r}")

    def serve(self):
        while True:
            line = self.inp.readline()
            if not line:
                return 0
            req = json.loads(line)
            rid = req.get("id")
            try:
                msg = {"id": rid, "ok": True, **self.handle(req)}
            except Unsupported as e:
                msg = {"id": rid, "ok": False, "error": {"kind": "unsupported", "message": str(e)}}
            except BadTactic as e:
                msg = {"id": rid, "ok": False, "error": {"kind": "bad_tactic", "message": str(e)}}
            except Exception as e:  # a failure of the kernel: reported, the harness decides
                traceback.print_exc(file=sys.stderr)
                msg = {"id": rid, "ok": False, "error": {"kind": "failure", "message": f"{type(e).__name__}: {e}"}}
            self.answer(msg)
            if req.get("op") == "shutdown":
                return 0


def serve(adapter):
    """Serve the protocol on the fds named by MOE_PROTOCOL_FDS (default "3,4") until EOF or shutdown."""
    fds = os.environ.get("MOE_PROTOCOL_FDS", "3,4").split(",")
    sys.exit(_Server(adapter, int(fds[0]), int(fds[1])).serve())
