"""Token grouping by expert (numpy, no torch): the plan a grouped GEMM needs.

Given the routed ids [T, k] and the local slice, rows (token-slot pairs) are sorted by local
expert (stable: token order kept inside an expert); counts and cumulative end offsets
follow, as torch._grouped_mm's `offs` wants them (int32, one end per expert).
"""
import numpy as np


def group_plan(ids, local_offset, local_experts):
    """Returns (rows, experts, counts, offs):
    rows     int64 [n]   flat slot index t·k + j of every local slot, grouped by expert;
    experts  int64 [n]   the local expert of each of those rows;
    counts   int64 [El]  rows per local expert;
    offs     int32 [El]  cumulative end offsets (offs[-1] = n)."""
    flat = ids.reshape(-1).astype(np.int64) - local_offset
    local = np.nonzero((flat >= 0) & (flat < local_experts))[0]
    order = np.argsort(flat[local], kind="stable")
    rows = local[order]
    experts = flat[rows]
    counts = np.bincount(experts, minlength=local_experts).astype(np.int64)
    offs = np.cumsum(counts).astype(np.int32)
    return rows, experts, counts, offs


def padded_index(counts):
    """For a padded [El, M, ...] batch (M = max count): for each grouped row, its (expert, slot)
    position; returns (M, expert_of_row, slot_of_row)."""
    M = int(counts.max()) if counts.size else 0
    expert_of_row = np.repeat(np.arange(counts.size), counts)
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]]) if counts.size else np.zeros(0, np.int64)
    slot_of_row = np.arange(int(counts.sum())) - np.repeat(starts, counts)
    return M, expert_of_row, slot_of_row
