// Device memory a prepared case needs, computed from the problem alone BEFORE anything is
// allocated (cuda/engine.cu refuses a case whose estimate exceeds cudaMemGetInfo's free
// bytes; the binding exports it so the CLI refuses before generating the case).
//
// It mirrors CudaPrepared's allocations item by item (engine.cu; keep the two together):
//   inputs    logits, bias, hidden (+ scales), the per-expert float32 vectors, as uploaded
//   weights   fc1 El·wExpertDataBytes(2I, kPairs) + El·wExpertScaleBytes(2I, kPairs), fc2 the same
//             with H rows and kPairs' (the prepared layout of cuda/weight_layout.cuh: K padded to
//             whole pairs of 64-element tiles, 64 + 8 bytes per row and pair)
//   staging   prepare only: the repack staging of one batch of experts (≤ 256 MiB of packed
//             weights + their scales), freed before the scratch is allocated
//   scratch   routing/permutation tables, dequantized hidden, FC2 input (+ MXFP8 codes),
//             FC2 rows [T·k][H] float32, digest sums
//   split-K   S·T·k·H·4 (allocated by the first split-K run), when a split-K tactic is valid;
//             config 3's FC1 split at small T: its partial tiles and counters (tactics.h)
//   output    [T][H] bf16
// peak = inputs + weights + max(staging, scratch + split-K + output) + slack, where slack is
// one cudaMalloc granule (2 MiB) per allocation (the allocator rounds allocations up to its
// granule, so each buffer may cost up to 2 MiB more than its bytes) plus the device code that
// lazy module loading places on the device during prepare and the runs: at most the addon's
// fat binary (6.8 MB release, 7.5 MB faults build, every architecture included), bounded by
// kDeviceCodeBytes = 16 MiB. Local memory is not counted: two sm_90a kernels spill 8 bytes a
// thread (ptxas -v, 2026-12-07: moeGemmKernel 16/0 FC1, moeSmemDqKernel 128/4 FC2; the others
// have 0-byte stack frames), and the driver reserves local memory for them at their first launch
// (per-thread size × resident threads; at 8 B, 2.1 MiB on 132 SMs, inside the device-code
// bound's headroom — unmeasured: the sampled device peaks of docs/full-size.md include it).
#pragma once
#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

#include "cuda/weight_layout.cuh"
#include "problem_args.h"
#include "tactics.h"

namespace moe {

struct DeviceMemoryItem {
  std::string name;
  int64_t bytes = 0;
};

struct DeviceMemoryEstimate {
  std::vector<DeviceMemoryItem> items;  // every term, for the message and the docs
  int64_t inputs = 0, weights = 0, staging = 0, scratch = 0, splitK = 0, output = 0, slack = 0;
  int64_t peak = 0;
};

constexpr int64_t kCudaMallocGranule = int64_t(2) << 20;
constexpr int64_t kDeviceCodeBytes = int64_t(16) << 20;
// Packed weight bytes staged per repack batch (engine.cu uploadWeights).
constexpr int64_t kRepackStagingBudget = int64_t(256) << 20;

inline int64_t repackStagingBytes(int64_t El, int64_t rows, int64_t K, int64_t sf) {
  const int64_t dataPerExpert = rows * K / 2, scalesPerExpert = rows * K / sf;
  const int64_t perBatch = std::max<int64_t>(1, std::min<int64_t>(El, kRepackStagingBudget / std::max<int64_t>(1, dataPerExpert)));
  return perBatch * (dataPerExpert + scalesPerExpert);
}

inline DeviceMemoryEstimate estimateDeviceMemory(const ProblemArgs& p) {
  DeviceMemoryEstimate e;
  int64_t allocations = 0;
  auto add = [&](int64_t& group, const char* name, int64_t bytes) {
    if (bytes <= 0) return;
    e.items.push_back({name, bytes});
    group += bytes;
    ++allocations;
  };
  const int64_t T = p.T, H = p.H, I = p.I, E = p.E, El = p.localExperts, k = p.topK, sf = weightBlock(p.quant);
  const int64_t slots = T * k;
  const int kp1 = wKPairs(int((H + kKTile - 1) / kKTile)), kp2 = wKPairs(int((I + kKTile - 1) / kKTile));
  add(e.inputs, "logits", T * E * (p.logitsDtype == LogitsDtype::F32 ? 4 : 2));
  add(e.inputs, "bias", p.biasDtype == BiasDtype::None ? 0 : E * (p.biasDtype == BiasDtype::F32 ? 4 : 2));
  switch (p.quant) {
    case QuantMode::Nvfp4: add(e.inputs, "hidden", T * H / 2); add(e.inputs, "hidden.scales", T * H / 16); break;
    case QuantMode::Mxfp4Mxfp8: add(e.inputs, "hidden", T * H); add(e.inputs, "hidden.scales", T * H / 32); break;
    case QuantMode::Mxfp4Bf16: add(e.inputs, "hidden", 2 * T * H); break;
  }
  for (const char* v : {"out1Scale", "out1GateScale", "out2Scale"}) add(e.inputs, v, El * 4);
  if (p.activation == Activation::SwigluClamped) {
    for (const char* v : {"swiglu.alpha", "swiglu.beta", "swiglu.limit"}) add(e.inputs, v, El * 4);
  }
  add(e.weights, "fc1 weights (prepared)", El * wExpertDataBytes(2 * I, kp1));
  add(e.weights, "fc1 scales (prepared)", El * wExpertScaleBytes(2 * I, kp1));
  add(e.weights, "fc2 weights (prepared)", El * wExpertDataBytes(H, kp2));
  add(e.weights, "fc2 scales (prepared)", El * wExpertScaleBytes(H, kp2));
  e.staging = std::max(repackStagingBytes(El, 2 * I, H, sf), repackStagingBytes(El, H, I, sf));
  e.items.push_back({"repack staging (prepare only)", e.staging});
  allocations += 2;
  const int64_t numChunks = (slots + 1023) / 1024;
  add(e.scratch, "routing ids + weights + permuted slots", 3 * slots * 4);
  add(e.scratch, "permutation tables", numChunks * El * 4 + 3 * El * 4 + 8);
  allocations += 2 + 4;  // ids, weights, permSlot: 3 allocations; the 5 tables: 5 (each counted once above)
  if (p.quant != QuantMode::Mxfp4Bf16) add(e.scratch, "dequantized hidden", T * H * 2);
  add(e.scratch, "FC2 input", slots * I * 2);
  if (p.quant == QuantMode::Mxfp4Mxfp8) {
    add(e.scratch, "FC2 input scale codes", slots * (I / 32));
    add(e.scratch, "FC2 input row flags + exponents + tile counters", slots * 4 * 2 + (slots + El) * 4);
    allocations += 2;
  }
  add(e.scratch, "FC2 rows", slots * H * 4);
  add(e.scratch, "digest sums", 16 * 8);
  if (splitKSlices(p) > 0 && splitKWorkspaceBytes(p) <= kMaxSplitKWorkspace) add(e.splitK, "split-K workspace", splitKWorkspaceBytes(p));
  add(e.splitK, "decode FC1 split partials + counters", streamFc1WorkspaceBytes(p));
  if (streamFc1WorkspaceBytes(p) > 0) ++allocations;  // two allocations (partials, counters)
  add(e.output, "output", T * H * 2);
  e.slack = allocations * kCudaMallocGranule + kDeviceCodeBytes;
  e.peak = e.inputs + e.weights + std::max(e.staging, e.scratch + e.splitK + e.output) + e.slack;
  return e;
}

}  // namespace moe
