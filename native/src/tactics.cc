#include "tactics.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "errors.h"

namespace moe {

namespace {

const ConfigInfo kConfigs[kNumConfigs] = {
    {0, "w64-pipelined",
     "64 weight rows x tileTokens tokens per CTA, 4 warps, 3-stage cp.async pipeline; FC2 writes each slot's rows once",
     64, 4, 3, false, GemmFamily::Pipelined, 8, 128},
    {1, "w128-wide",
     "128 weight rows x tileTokens tokens per CTA, 8 warps, 2-stage (double-buffered) pipeline; FC2 writes each slot's rows once",
     128, 8, 2, false, GemmFamily::Pipelined, 8, 128},
    {2, "w64-splitk-fc2",
     "FC1 as config 0; FC2 split over K (=I) into S slices (S = 2 or 4 by I), partial sums in a float32 workspace "
     "reduced in fixed slice order in finalize",
     64, 4, 3, true, GemmFamily::Pipelined, 8, 128},
    {3, "w64-stream",
     "decode: 64 weight rows x tileTokens (8 or 16) tokens per CTA, 4 warps; every weight byte loaded once, 16 bytes "
     "per lane straight into registers 4 super-steps (of 128 K elements) ahead, dequantized in registers; tokens staged "
     "in shared memory 1024 K elements at a time (double-buffered, cp.async); at small T (a GEMM grid < 2640 CTAs) K "
     "is split in whole chunks over 2..4 CTAs: FC1's partial tiles summed in slice order by the tile's last CTA, FC2's "
     "partials by finalize",
     64, 4, 4, false, GemmFamily::Stream, 8, 16},
    {4, "w128-smemdq",
     "128 weight rows x tileTokens (64 or 128) per CTA, 8 warps, 4-stage cp.async pipeline; each weight tile dequantized "
     "once per CTA into shared memory (bf16), mma.sync with ldmatrix operands",
     128, 8, 4, false, GemmFamily::SmemDequant, 64, 128},
    {5, "w128-wgmma",
     "as config 4, the products by wgmma (two warpgroups of 64 weight rows, both operands from 128B-swizzled shared "
     "memory) on sm_90a; config 4's mma.sync where wgmma does not exist (sm_100a, PTX)",
     128, 8, 4, false, GemmFamily::SmemDequant, 64, 128},
    {6, "w128-ws",
     "config 5's tiles (128 weight rows x tileTokens 64 or 128, each weight tile dequantized once per CTA, wgmma on "
     "sm_90a) with the roles split: 8 producer warps copy (cp.async, 6-8 stages ahead) and dequantize, two consumer "
     "warpgroups issue wgmma; mbarriers hand the stages over, no CTA-wide barrier in the K loop; 1 CTA of 16 warps per "
     "SM; config 4's mma.sync on the consumers where wgmma does not exist",
     128, 16, 8, false, GemmFamily::WarpSpecialized, 64, 128},
};

// Shared memory of each kernel family (bytes), by tileTokens; must equal the kernels' own
// layouts (GemmSmem in gemm.cuh, StreamSmem in gemm_stream.cuh).
int pipelinedSmem(const ConfigInfo& c, int tileTokens) {
  const int weightStage = c.weightRows * (kKTile / 2 + 4);   // packed e2m1 + 4 scale bytes per row
  const int tokenStage = tileTokens * kKTile * 2;            // bf16 activations
  const int pipeline = c.stages * (weightStage + tokenStage);
  const int epilogue = tileTokens * (c.weightRows + 4) * 4;  // float accumulator tile
  const int rowTable = tileTokens * 8 + c.weightRows * 4;
  return std::max(pipeline, epilogue) + rowTable;
}
int streamSmem(const ConfigInfo& c, int tileTokens) {
  const int tokens = 2 * tileTokens * (1024 / 8 + 1) * 16;   // 2 buffers x 1024 K elements per token + 16 bytes padding
  const int epilogue = tileTokens * (c.weightRows + 4) * 4;
  return std::max(tokens, epilogue) + tileTokens * 8 + c.weightRows * 4;
}
int smemDequantSmem(const ConfigInfo& c, int tileTokens) {
  const int tokens = 4 * tileTokens * 128;                   // 4 stages of [tileTokens][64] bf16
  const int pipe = tokens + c.weightRows * 128 + 4 * c.weightRows * 36;  // + dequantized tile + raw stages
  const int epilogue = tileTokens * (c.weightRows + 4) * 4;
  const int main = (std::max(pipe, epilogue) + 15) / 16 * 16;
  return 1024 + main + tileTokens * 8 + c.weightRows * 4;    // 1024: alignment slack of the swizzled tiles
}
int warpSpecializedSmem(const ConfigInfo&, int tileTokens) { return wsSharedMemoryBytes(tileTokens); }
int (*const kSmemByFamily[])(const ConfigInfo&, int) = {pipelinedSmem, streamSmem, smemDequantSmem, warpSpecializedSmem};

int64_t ceilDiv(int64_t a, int64_t b) { return (a + b - 1) / b; }

}  // namespace

const ConfigInfo& configInfo(int config) { return kConfigs[config]; }

std::string tacticLabel(const Tactic& t) { return std::to_string(t.tileTokens) + "/" + std::to_string(t.config); }

int splitKSlices(const ProblemArgs& p) {
  const int64_t kTiles = ceilDiv(p.I, kKTile);
  if (kTiles >= 32) return 4;
  if (kTiles >= 8) return 2;
  return 0;
}

namespace {
// Slices of a decode GEMM's K (whole 1024-element chunks) for a grid of `ctas` CTAs: enough
// that the grid reaches kStreamSplitBelowCtas, at most `cap`, no slice left empty; 0: no split.
// K's 1024-element chunks (8 super-steps of 128): the unit a slice takes.
int64_t streamChunks(int64_t K) { return ceilDiv(ceilDiv(K, 128), 8); }
int streamSlices(int64_t ctas, int64_t K, int64_t cap) {
  if (ctas >= kStreamSplitBelowCtas) return 0;
  const int64_t chunks = streamChunks(K);
  const int64_t most = std::min<int64_t>({cap, chunks, ceilDiv(kStreamSplitBelowCtas, ctas)});
  if (most < 2) return 0;
  const int64_t per = ceilDiv(chunks, most);
  return int(ceilDiv(chunks, per));
}
int64_t streamMaxTiles(const ProblemArgs& p, int tileTokens) {
  const int64_t slots = p.T * p.topK;
  return ceilDiv(slots, tileTokens) + std::min<int64_t>(p.localExperts, slots);
}
// Output tiles of config 3's FC2 grid (worst-case token tiles × 64-row weight tiles).
int64_t streamFc2Cells(const ProblemArgs& p, int tileTokens) { return streamMaxTiles(p, tileTokens) * ceilDiv(p.H, 64); }
}  // namespace

int64_t streamFc1Cells(const ProblemArgs& p, int tileTokens) {
  return streamMaxTiles(p, tileTokens) * ceilDiv(p.I, 32);
}

int streamFc1Slices(const ProblemArgs& p, int tileTokens) {
  return streamSlices(streamFc1Cells(p, tileTokens), p.H, 4);
}

int64_t streamFc1WorkspaceBytes(const ProblemArgs& p, int tileTokens) {
  const int S = streamFc1Slices(p, tileTokens);
  if (S == 0) return 0;
  const int64_t cells = streamFc1Cells(p, tileTokens);
  return cells * S * tileTokens * (64 + 4) * 4 + cells * 4;
}

int64_t streamFc1WorkspaceBytes(const ProblemArgs& p) {
  return std::max(streamFc1WorkspaceBytes(p, 8), streamFc1WorkspaceBytes(p, 16));
}

int streamFc2Slices(const ProblemArgs& p, int tileTokens) {
  const int S = splitKSlices(p);  // its workspace is the device estimate's split-K term
  if (S == 0 || splitKWorkspaceBytes(p) > kMaxSplitKWorkspace) return 0;
  return streamSlices(streamFc2Cells(p, tileTokens), p.I, S);
}

StreamSplitPlan streamSplitPlan(const ProblemArgs& p, int tileTokens) {
  StreamSplitPlan s{};
  s.fc1Slices = streamFc1Slices(p, tileTokens);
  s.fc2Slices = streamFc2Slices(p, tileTokens);
  s.fc1Ctas = streamFc1Cells(p, tileTokens);
  s.fc2Ctas = streamFc2Cells(p, tileTokens);
  s.fc1Chunks = streamChunks(p.H);
  s.fc2Chunks = streamChunks(p.I);
  s.fc1WorkspaceBytes = streamFc1WorkspaceBytes(p, tileTokens);
  return s;
}

int64_t splitKWorkspaceBytes(const ProblemArgs& p) {
  return int64_t(splitKSlices(p)) * p.T * p.topK * p.H * 4;
}

int sharedMemoryBytes(const Tactic& t) {
  const ConfigInfo& c = kConfigs[t.config];
  return kSmemByFamily[int(c.family)](c, t.tileTokens);
}

std::string tacticInvalidReason(const ProblemArgs& p, const Tactic& t) {
  const bool tileOk = std::find(std::begin(kTileTokens), std::end(kTileTokens), t.tileTokens) != std::end(kTileTokens);
  if (!tileOk) return "tileTokens must be one of 8, 16, 32, 64, 128";
  if (t.config < 0 || t.config >= kNumConfigs) return "config must be one of 0.." + std::to_string(kNumConfigs - 1);
  const ConfigInfo& ci = kConfigs[t.config];
  if (t.tileTokens < ci.minTileTokens || t.tileTokens > ci.maxTileTokens) {
    return "config " + std::to_string(t.config) + " (" + ci.name + ") is built for tileTokens " +
           std::to_string(ci.minTileTokens) + ".." + std::to_string(ci.maxTileTokens);
  }
  if (sharedMemoryBytes(t) > kMaxSharedMemory) return "the tile does not fit in shared memory";
  if (ci.weightRows == 128 && (p.I < 64 || p.H < 128)) {
    return "config " + std::to_string(t.config) +
           " (128-row weight tile) needs I >= 64 and H >= 128 so that its tile is not larger than the problem";
  }
  if (t.config == 2) {
    if (splitKSlices(p) == 0) return "config 2 (split-K FC2) needs I >= 512 (at least 2 K-steps of 64 per slice)";
    if (splitKWorkspaceBytes(p) > kMaxSplitKWorkspace) {
      return "config 2 (split-K FC2) needs S·T·topK·H·4 bytes of workspace <= 8 GiB, this problem needs " +
             std::to_string(splitKWorkspaceBytes(p) >> 20) + " MiB";
    }
  }
  return "";
}

std::vector<Tactic> validTactics(const ProblemArgs& p) {
  validateProblem(p);
  std::vector<Tactic> out;
  for (int c = 0; c < kNumConfigs; ++c) {
    for (int tt : kTileTokens) {
      Tactic t{tt, c};
      if (tacticInvalidReason(p, t).empty()) out.push_back(t);
    }
  }
  return out;
}

// The default heuristic: by r = T·topK/E, the expected rows per expert under uniform
// routing, the first rule whose bound r does not exceed, and within it the first valid
// tactic of its list. From `npm run bench:kernel` run 2 on an H100 (native/NOTES.md, issue 18;
// deepseek-v3, qwen3-235b-a22b, gpt-oss-120b at T = 1..4096): up to 8 rows per expert the
// pipeline is weight-bandwidth bound and config 3 streams each weight byte once (best in all 9
// such rows); from 16 to 32 rows the shared-memory-dequantizing wgmma kernel with 64-token tiles
// is best or within 10 % (gpt-oss T=512: +9.8 % behind 32/1); at 128 and more rows the 128-token
// wgmma tile is best in every row.
struct DefaultRule {
  double maxRows;
  Tactic tactics[3];  // tried in order; {0, 0} ends the list
  const char* why;
};
const DefaultRule kDefaultRules[] = {
    {8, {{8, 3}, {8, 0}, {0, 0}}, "<= 8 rows per expert: weight-bandwidth bound, the streaming decode GEMM (config 3)"},
    {48, {{64, 5}, {16, 3}, {0, 0}}, "9..48 rows per expert: the weight tile dequantized once per CTA, wgmma, 64-token tiles (config 5)"},
    {1e300, {{128, 5}, {128, 0}, {0, 0}}, "> 48 rows per expert: tensor-core bound, wgmma on 128-token tiles (config 5)"},
};

Tactic defaultTactic(const ProblemArgs& p, std::string* why) {
  validateProblem(p);
  const double r = double(p.T) * double(p.topK) / double(p.E);
  Tactic t{8, 0};
  std::string rule = "no rule matched: 8/0, valid for every problem";
  for (const DefaultRule& d : kDefaultRules) {
    if (r > d.maxRows) continue;
    for (const Tactic& c : d.tactics) {
      if (c.tileTokens == 0) break;
      if (tacticInvalidReason(p, c).empty()) {
        t = c;
        rule = std::string(d.why) + (&c == &d.tactics[0] ? "" : " (its first choice does not fit this problem: " + tacticLabel(c) + ")");
        break;
      }
    }
    break;
  }
  if (why) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.4g", r);
    *why = std::string("T·topK/E = ") + buf + " expected rows per expert; " + rule;
  }
  return t;
}

void requireValidTactic(const ProblemArgs& p, const Tactic& t) {
  const std::string why = tacticInvalidReason(p, t);
  if (!why.empty()) {
    std::string list;
    for (const Tactic& v : validTactics(p)) list += (list.empty() ? "" : " ") + tacticLabel(v);
    throw BadArgument("tactic", "a tactic valid for this problem (tileTokens/config: " + list + ")",
                      tacticLabel(t) + " (" + why + ")");
  }
}

}  // namespace moe
