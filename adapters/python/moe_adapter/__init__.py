"""moe_adapter: the Python side of moe-harness's process protocol (docs/process-protocol.md).

An adapter subclasses Adapter (adapter.py), implements tactics / prepare / run, and calls
serve(). The package needs the standard library and numpy only; safetensors_np.py reads and
writes the tensor files without the safetensors package.
"""
from .adapter import Adapter, BadTactic, RunResult, Unsupported, serve

PROTOCOL_VERSIONS = (1,)

__all__ = ["Adapter", "BadTactic", "RunResult", "Unsupported", "serve", "PROTOCOL_VERSIONS"]
