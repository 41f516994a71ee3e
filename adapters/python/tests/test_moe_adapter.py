"""Unit tests of the numpy-only parts of adapters/python (run by harness/kernels/pythonAdapters.test.ts:
python3 -m unittest discover -s adapters/python/tests)."""
import os
import sys
import tempfile
import unittest

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from moe_adapter import formats as fm  # noqa: E402
from moe_adapter import safetensors_np as st  # noqa: E402
from moe_adapter.grouping import group_plan, padded_index  # noqa: E402
from moe_adapter.routing import route  # noqa: E402


class SafetensorsTest(unittest.TestCase):
    def test_round_trip_keeps_dtypes_shapes_and_bits(self):
        tensors = {"a": np.arange(6, dtype=np.float32).reshape(2, 3), "b": st.Tensor("BF16", np.array([0x3F80, 0xC000], np.uint16)),
                   "c": st.Tensor("F8_E4M3", np.array([[1, 2]], np.uint8)), "s": np.array(7, np.int32)}
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "x.safetensors")
            st.write(path, tensors, {"k": "v"})
            back, meta = st.read(path)
        self.assertEqual(meta, {"k": "v"})
        self.assertEqual(back["a"].dtype, "F32")
        np.testing.assert_array_equal(back["a"].array, tensors["a"])
        self.assertEqual((back["b"].dtype, back["b"].array.tolist()), ("BF16", [0x3F80, 0xC000]))
        self.assertEqual((back["c"].dtype, back["c"].array.shape), ("F8_E4M3", (1, 2)))
        self.assertEqual(back["s"].array.shape, ())

    def test_header_is_8_byte_aligned_and_offsets_tile(self):
        data = st.dumps({"x": np.zeros(3, np.uint8), "y": np.zeros(2, np.float64)})
        n = int.from_bytes(data[:8], "little")
        self.assertEqual(n % 8, 0)
        self.assertEqual(len(data), 8 + n + 3 + 16)

    def test_truncated_file_is_refused(self):
        data = st.dumps({"x": np.zeros(4, np.float32)})
        with self.assertRaises(ValueError):
            st.parse(data[:-1])


class FormatsTest(unittest.TestCase):
    def test_e2m1_ties_go_to_the_even_code(self):
        v = np.array([0.25, 0.75, 1.25, 1.75, 2.5, 3.5, 5, 7, -0.3, 6.5], np.float32)
        self.assertEqual(fm.round_e2m1(v).tolist(), [0, 1, 1, 2, 2, 4, 4, 6, -0.5, 6])

    def test_e4m3_rounds_to_nearest_even_and_saturates(self):
        v = np.array([1.0625, 1.1875, 2 ** -10, 3 * 2 ** -11, 460, 1000, -17], np.float32)
        self.assertEqual(fm.round_e4m3(v).tolist(), [1.0, 1.25, 0.0, 2 ** -9, 448, 448, -16])

    def test_e4m3_table_matches_the_encoder(self):
        finite = fm.E4M3[np.isfinite(fm.E4M3)]
        np.testing.assert_array_equal(fm.round_e4m3(finite), finite)

    def test_bf16_round_to_nearest_even(self):
        x = np.array([1 + 2 ** -8, 1 + 3 * 2 ** -8, 1 + 2 ** -8 + 2 ** -20], np.float32)
        self.assertEqual(fm.round_bf16(x).tolist(), [1.0, 1 + 2 ** -6, 1 + 2 ** -7])

    def test_nvfp4_requant_block_scale_and_zero_block(self):
        a = np.zeros((1, 32), np.float32)
        a[0, :16] = np.linspace(-6, 6, 16)
        out = fm.requant_nvfp4(a)
        self.assertEqual(out[0, 16:].tolist(), [0.0] * 16)
        self.assertEqual(float(np.max(np.abs(out[0, :16]))), 6.0)  # s = e4m3(6 / 6) = 1

    def test_mx_scale_rounds_the_exponent_up(self):
        self.assertEqual(fm.ue8m0_ceil_scale(np.array([448.0, 449.0, 0.0]), 448.0).tolist(), [1.0, 2.0, 2.0 ** -127])

    def test_unpack_low_nibble_first(self):
        out = fm.unpack_e2m1(np.array([[0x72]], np.uint8), np.array([[127]], np.uint8), 2, fm.UE8M0)
        self.assertEqual(out.tolist(), [[1.0, 6.0]])


class RoutingAndGroupingTest(unittest.TestCase):
    def test_ties_go_to_the_lower_expert(self):
        ids, w = route("renormalize", np.array([[1, 3, 3, 0]], np.float32), 2)
        self.assertEqual(ids.tolist(), [[1, 2]])
        self.assertEqual(w.tolist(), [[0.5, 0.5]])

    def test_masked_logits_never_win_and_weigh_zero(self):
        ids, w = route("topk", np.array([[np.nan, -np.inf, 2, np.inf]], np.float32), 2)
        self.assertEqual(ids[0, 0], 2)
        self.assertEqual(w[0, 1], 0)

    def test_deepseek_groups_mask_experts_and_weights_use_the_unbiased_sigmoid(self):
        logits = np.zeros((1, 8), np.float32)
        bias = np.array([0, 0, 5, 5, 0, 0, 0, 1], np.float32)  # group 1 (experts 2, 3) best, then group 3
        ids, w = route("deepseek_v3", logits, 2, bias, {"nGroup": 4, "topkGroup": 1, "routedScalingFactor": 2.0})
        self.assertEqual(ids.tolist(), [[2, 3]])
        self.assertEqual(w.tolist(), [[1.0, 1.0]])  # s = 0.5 each: 0.5 / 1.0 · 2
        ids, _ = route("deepseek_v3", logits, 3, bias, {"nGroup": 4, "topkGroup": 2, "routedScalingFactor": 1.0})
        self.assertEqual(ids.tolist(), [[2, 3, 7]])

    def test_group_plan_sorts_rows_by_local_expert(self):
        ids = np.array([[3, 1], [1, 9], [2, 3]], np.int32)
        rows, experts, counts, offs = group_plan(ids, 1, 3)  # local experts 1..3
        self.assertEqual(rows.tolist(), [1, 2, 4, 0, 5])
        self.assertEqual(experts.tolist(), [0, 0, 1, 2, 2])
        self.assertEqual(counts.tolist(), [2, 1, 2])
        self.assertEqual(offs.tolist(), [2, 3, 5])
        M, e_of, s_of = padded_index(counts)
        self.assertEqual((M, e_of.tolist(), s_of.tolist()), (2, [0, 0, 1, 2, 2], [0, 1, 0, 0, 1]))


if __name__ == "__main__":
    unittest.main()
