// The ONE table of tactics of the native MoE and their validity rules. The binding
// exports it to TypeScript (native/index.ts never re-implements a rule).
//
// A tactic is (tileTokens, config): tileTokens = token rows per CTA tile of one expert;
// config selects the GEMM code path of FC1 and FC2 (see kConfigs).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "problem_args.h"

namespace moe {

constexpr int kTileTokens[] = {8, 16, 32, 64, 128};
constexpr int kNumTileTokens = 5;
constexpr int kNumConfigs = 7;
constexpr int kKTile = 64;  // K elements per main-loop step (both GEMMs)

// How a config's GEMM kernels are built (what their shared memory holds).
enum class GemmFamily : int {
  Pipelined = 0,  // gemm.cuh: weight + token tiles staged by a cp.async pipeline (configs 0-2)
  Stream = 1,     // gemm_stream.cuh: weights streamed into registers, tokens in shared memory (config 3)
  SmemDequant = 2,  // gemm_smemdq.cuh: weight tiles dequantized once per CTA into shared memory (configs 4, 5)
  WarpSpecialized = 3,  // gemm_ws.cuh: config 5's tiles, producer warps (copies, dequantization) and consumer warpgroups (wgmma) (config 6)
};

struct ConfigInfo {
  int config;
  const char* name;
  const char* description;
  int weightRows;   // weight rows (GEMM "M" side) per CTA tile: FC2 hidden rows; FC1 up+gate rows (half each)
  int warps;        // warps per CTA
  int stages;       // cp.async pipeline depth
  bool splitKFc2;   // FC2 split over K (=I) with a deterministic reduction in finalize
  GemmFamily family;
  int minTileTokens, maxTileTokens;  // the tileTokens range the config's kernels are built for
};

const ConfigInfo& configInfo(int config);

struct Tactic {
  int tileTokens = 0;
  int config = 0;
};

std::string tacticLabel(const Tactic& t);  // "tileTokens/config"

// Number of FC2 K slices of config 2 for this problem (0 when split-K cannot run it).
int splitKSlices(const ProblemArgs& p);
// Number of FC2 K slices of the decode tactics (config 3) for this problem and tileTokens: more
// than 1 only where the grid would hold too few CTAs to keep the weight reads in flight, and
// never more than config 2's slices (their workspace is in the device estimate); 0: no split.
int streamFc2Slices(const ProblemArgs& p, int tileTokens);
// Output tiles of config 3's FC1 grid (worst-case token tiles × 32-row weight tiles): its CTAs
// unsplit, and the FC1 split's arrival counters (one per tile).
int64_t streamFc1Cells(const ProblemArgs& p, int tileTokens);
// Number of FC1 K slices of config 3 (0: no split), under the same grid rule as FC2 (at most
// 4); the slices' partial tiles are summed in slice order by the last CTA of each output tile.
int streamFc1Slices(const ProblemArgs& p, int tileTokens);
// Bytes of that FC1 split's partial tiles and arrival counters for tileTokens (0: no split), and
// the larger of the two tile sizes (the device estimate's term).
int64_t streamFc1WorkspaceBytes(const ProblemArgs& p, int tileTokens);
int64_t streamFc1WorkspaceBytes(const ProblemArgs& p);
// Config 3's K split at a problem, as the engine launches it (binding.cc streamSplit reports it).
struct StreamSplitPlan {
  int fc1Slices, fc2Slices;    // 0: unsplit
  int64_t fc1Ctas, fc2Ctas;    // CTAs of the unsplit grids (worst-case tile count × weight tiles)
  int64_t fc1Chunks, fc2Chunks;  // K's 1024-element chunks (a slice takes whole chunks)
  int64_t fc1WorkspaceBytes;
};
StreamSplitPlan streamSplitPlan(const ProblemArgs& p, int tileTokens);
// Bytes of the split-K partial workspace of config 2.
int64_t splitKWorkspaceBytes(const ProblemArgs& p);
constexpr int64_t kMaxSplitKWorkspace = int64_t(8) << 30;
// The decode FC2 splits K while its grid has fewer CTAs than this (H100: 132 SMs × 5 resident
// CTAs of config 3 ≈ 660; four waves' worth keeps enough weight bytes in flight).
constexpr int64_t kStreamSplitBelowCtas = 2640;

// Dynamic shared memory of the FC1 / FC2 kernels of a tactic (bytes).
int sharedMemoryBytes(const Tactic& t);
constexpr int kMaxSharedMemory = 227 * 1024;  // sm_90 / sm_100 per-block opt-in limit
// Config 6's dynamic shared memory (gemm_ws.cuh WsSmem, which gemm_ws.cu checks against this):
// 1024 bytes of alignment slack; TS token/raw stages ([tileTokens][64] bf16 + 128 rows x 36 bytes,
// TS = 6 for 128-token tiles, 8 for 64) and 3 dequantized tiles [128][64] bf16, or the epilogue's
// float tile if larger; the row tables; 2·3 + TS mbarriers of 8 bytes.
constexpr int wsSharedMemoryBytes(int tileTokens) {
  const int ts = tileTokens == 128 ? 6 : 8;
  const int pipe = ts * (tileTokens * 128 + 128 * 36) + 3 * 128 * 128;
  const int epilogue = tileTokens * (128 + 4) * 4;
  const int main = ((pipe > epilogue ? pipe : epilogue) + 15) / 16 * 16;
  return 1024 + main + tileTokens * 8 + 128 * 4 + (2 * 3 + ts) * 8;
}

// Empty string when the tactic can run the problem, else why not.
std::string tacticInvalidReason(const ProblemArgs& p, const Tactic& t);
// Every tactic that can run the problem, in table order (config-major).
std::vector<Tactic> validTactics(const ProblemArgs& p);
// The heuristic's choice (always one of validTactics) and a one-line reason.
Tactic defaultTactic(const ProblemArgs& p, std::string* why);
// Throws BadArgument("tactic", ...) unless the tactic is valid for the problem.
void requireValidTactic(const ProblemArgs& p, const Tactic& t);

// Warp layout of a tactic's GEMM tile: warps along weight rows x warps along tokens.
struct WarpLayout {
  int warpsW, warpsT;
};
constexpr WarpLayout warpLayout(int config, int tileTokens) {
  return config == 1 ? (tileTokens >= 64 ? WarpLayout{4, 2} : WarpLayout{8, 1})
                     : (tileTokens >= 32 ? WarpLayout{2, 2} : WarpLayout{4, 1});
}

}  // namespace moe
