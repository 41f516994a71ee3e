// libmoe_abi_cpu.so: a plain CPU fused FP4 MoE behind the C ABI (native/include/moe_kernel_abi.h),
// written for the CPU test suite of the C ABI door (harness/kernels/lib.test.ts). It follows
// the project's arithmetic contract (README "Arithmetic contract"; SPEC §2–§4) closely
// enough to pass the judge, for small shapes (one thread, no tiling).
//
// Tactics: tile_tokens {8, 32, 128} x config {0, 1}. config 0 sums every dot product in
// order; config 1 sums two halves and adds them (another float32 order). Tile 128 cannot
// run T < 64 (can_implement says why). The tile does not change a token's arithmetic.
//
// Misbehaviour for the tests, chosen by the environment variable MOE_ABI_TESTLIB_MODE
// (read when the library is loaded):
//   correct (default)  wrong_abi      the table says ABI major 99
//   lie_tactic         run executes config 0 and says so whatever was forced
//   no_echo            run never fills `executed`
//   run_error          run returns MOE_STATUS_INTERNAL with a message
//   device_error       run returns MOE_STATUS_DEVICE_ERROR (a poisoned device context)
//   crash              run writes through a null pointer (SIGSEGV)
//   write_inputs       run adds 1 to the first logit it was given (inputs modified)
//   gate_up_swapped    FC1's up and gate halves swapped (a value bug)
//   refuse_run         run refuses every tactic with MOE_STATUS_UNSUPPORTED
//   prepare_error      prepare returns MOE_STATUS_INTERNAL
//   hang               run never returns (the campaign's timeout kills the child)
//   weights_bf16_bits  routing weights written as bf16 bits in the float32 buffer (a peer's bug)
//   ids_out_of_range   the last token's last expert id is E (outside [0, E))
#include <algorithm>
#include <chrono>
#include <cmath>
#include <csignal>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <string>
#include <thread>
#include <vector>

#include "../abi_support.h"
#include "moe_kernel_abi.h"

using namespace moe_abi;

namespace {

// ------------------------------------------------------------------ mode

enum class Mode { Correct, WrongAbi, LieTactic, NoEcho, RunError, DeviceError, Crash, WriteInputs, GateUpSwapped, RefuseRun, PrepareError, Hang, WeightsBf16Bits, IdsOutOfRange };

struct ModeName {
  const char* name;
  Mode mode;
};
const ModeName kModes[] = {
    {"correct", Mode::Correct}, {"wrong_abi", Mode::WrongAbi}, {"lie_tactic", Mode::LieTactic},
    {"no_echo", Mode::NoEcho}, {"run_error", Mode::RunError}, {"device_error", Mode::DeviceError},
    {"crash", Mode::Crash}, {"write_inputs", Mode::WriteInputs}, {"gate_up_swapped", Mode::GateUpSwapped},
    {"refuse_run", Mode::RefuseRun}, {"prepare_error", Mode::PrepareError}, {"hang", Mode::Hang},
    {"weights_bf16_bits", Mode::WeightsBf16Bits}, {"ids_out_of_range", Mode::IdsOutOfRange},
};

Mode g_mode = Mode::Correct;
std::string g_modeError;  // an unknown mode name: every call fails with this message
std::string g_buildId;

void readMode() {
  const char* env = std::getenv("MOE_ABI_TESTLIB_MODE");
  g_mode = Mode::Correct;
  std::string name = env && *env ? env : "correct";
  bool found = false;
  for (const ModeName& m : kModes) {
    if (name == m.name) {
      g_mode = m.mode;
      found = true;
    }
  }
  if (!found) {
    std::string all;
    for (const ModeName& m : kModes) all += (all.empty() ? "" : ", ") + std::string(m.name);
    g_modeError = "MOE_ABI_TESTLIB_MODE: expected one of " + all + ", got \"" + name + "\"";
  }
  g_buildId = "moe-abi-cpu testlib 1 (mode " + name + ", " __DATE__ ")";
}

void requireMode() {
  if (!g_modeError.empty()) fail(MOE_STATUS_BAD_ARGUMENT, g_modeError);
}

// ------------------------------------------------------------------ number formats (SPEC §2)

float e2m1Value(uint8_t nibble) {
  static const float mags[8] = {0.f, 0.5f, 1.f, 1.5f, 2.f, 3.f, 4.f, 6.f};
  const float m = mags[nibble & 7];
  return (nibble & 8) ? -m : m;
}

float e4m3Value(uint8_t b) {
  const int s = b >> 7, e = (b >> 3) & 15, m = b & 7;
  if (e == 15 && m == 7) return std::numeric_limits<float>::quiet_NaN();
  const double v = e == 0 ? std::ldexp(double(m), -9) : std::ldexp(1.0 + m / 8.0, e - 7);
  return float(s ? -v : v);
}

float ue8m0Value(uint8_t b) {
  if (b == 255) return std::numeric_limits<float>::quiet_NaN();
  return float(std::ldexp(1.0, int(b) - 127));
}

float bf16Value(uint16_t b) {
  const uint32_t u = uint32_t(b) << 16;
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}

uint16_t toBf16(float f) {
  uint32_t u;
  std::memcpy(&u, &f, 4);
  if ((u & 0x7fffffffu) > 0x7f800000u) return uint16_t((u >> 16) | 0x40);  // NaN stays NaN
  u += 0x7fffu + ((u >> 16) & 1u);
  return uint16_t(u >> 16);
}

float roundBf16(float f) { return bf16Value(toBf16(f)); }

// Round |x| to the e4m3 grid, nearest-even, saturating at 448 (x finite, >= 0).
double e4m3Round(double a) {
  if (a >= 448.0) return 448.0;
  int e;
  std::frexp(a, &e);                              // a = f·2^e, f in [0.5, 1)
  const int exp = std::max(e - 1, -6);            // binade of a; subnormals share 2^-6's step
  const double step = std::ldexp(1.0, exp - 3);   // 3 mantissa bits
  const double q = std::nearbyint(a / step) * step;
  return std::min(q, 448.0);
}

// Round |x| to the e2m1 magnitudes, nearest, ties to the even code, saturating at 6.
double e2m1Round(double a) {
  static const double v[8] = {0, 0.5, 1, 1.5, 2, 3, 4, 6};
  for (int c = 0; c < 7; ++c) {
    const double mid = (v[c] + v[c + 1]) / 2;
    if (a < mid) return v[c];
    if (a == mid) return (c % 2 == 0) ? v[c] : v[c + 1];
  }
  return 6;
}

// 2^ceil(log2(amax / 448)) clamped to [2^-127, 2^127] (exact comparisons in double).
double mxfp8Scale(double amax) {
  if (std::ldexp(448.0, -127) >= amax) return std::ldexp(1.0, -127);
  int e;
  std::frexp(amax / 448.0, &e);
  e = std::max(e - 2, -127);
  while (std::ldexp(448.0, e) < amax) ++e;
  return std::ldexp(1.0, std::min(e, 127));
}

// FC2 input re-quantization in place (README "Arithmetic contract" item 3).
void requantize(const std::string& mode, std::vector<float>& a) {
  if (mode == "mxfp4_bf16") {
    for (float& x : a) x = roundBf16(x);
    return;
  }
  const bool nv = mode == "nvfp4";
  const size_t block = nv ? 16 : 32;
  for (size_t b = 0; b < a.size(); b += block) {
    float amax = 0;
    bool finite = true;
    for (size_t i = b; i < b + block; ++i) {
      if (!std::isfinite(a[i])) finite = false;
      amax = std::max(amax, std::fabs(a[i]));
    }
    if (!finite) {
      for (size_t i = b; i < b + block; ++i) a[i] = std::numeric_limits<float>::quiet_NaN();
      continue;
    }
    if (nv) {
      const float s = float(e4m3Round(double(float(amax / 6.0f))));
      for (size_t i = b; i < b + block; ++i) {
        if (s == 0) {
          a[i] = 0;
          continue;
        }
        const float q = a[i] / s;  // true division, float32
        const double r = e2m1Round(std::fabs(double(q)));
        a[i] = float((q < 0 ? -r : r) * s);
      }
    } else {
      const double s = mxfp8Scale(amax);
      for (size_t i = b; i < b + block; ++i) {
        const float q = float(double(a[i]) / s);  // exact power-of-two division, then float32
        const double r = e4m3Round(std::fabs(double(q)));
        a[i] = float((q < 0 ? -r : r) * s);
      }
    }
  }
}

// ------------------------------------------------------------------ the problem

const char* const kQuantModes[] = {"nvfp4", "mxfp4_mxfp8", "mxfp4_bf16"};
const char* const kRoutingMethods[] = {"default", "renormalize", "renormalize_naive", "deepseek_v3", "llama4", "topk"};
const int kTiles[] = {8, 32, 128};
const int kConfigs = 2;

bool oneOf(const char* s, const char* const* names, int n) {
  if (!s) return false;
  for (int i = 0; i < n; ++i) if (std::strcmp(s, names[i]) == 0) return true;
  return false;
}

// The limits of this small CPU implementation (UNSUPPORTED beyond them).
constexpr int64_t kMaxWork = int64_t(1) << 31;  // T·k·3·H·I multiply-adds

void checkProblem(const MoeProblem* p) {
  requireMode();
  if (!p) badArgument("problem", "a MoeProblem pointer", "NULL");
  if (p->struct_size < sizeof(MoeProblem)) badArgument("problem.struct_size", format(">= %zu", sizeof(MoeProblem)), std::to_string(p->struct_size));
  if (!oneOf(p->quant_mode, kQuantModes, 3)) fail(MOE_STATUS_UNSUPPORTED, "problem.quant_mode: expected one of nvfp4, mxfp4_mxfp8, mxfp4_bf16, got " + nameOr(p->quant_mode));
  if (!oneOf(p->routing_method, kRoutingMethods, 6)) fail(MOE_STATUS_UNSUPPORTED, "problem.routing_method: expected one of default, renormalize, renormalize_naive, deepseek_v3, llama4, topk, got " + nameOr(p->routing_method));
  const char* act = p->activation;
  if (!act || (std::strcmp(act, "swiglu") != 0 && std::strcmp(act, "swiglu_clamped") != 0)) badArgument("problem.activation", "swiglu or swiglu_clamped", nameOr(act));
  const int64_t sf = std::strcmp(p->quant_mode, "nvfp4") == 0 ? 16 : 32;
  if (p->T < 1 || p->E < 1 || p->top_k < 1 || p->top_k > p->E) badArgument("problem", "T >= 1, E >= 1, 1 <= top_k <= E", format("T=%lld E=%lld top_k=%lld", (long long)p->T, (long long)p->E, (long long)p->top_k));
  if (p->H < sf || p->H % sf || p->I < sf || p->I % sf) badArgument("problem.H/I", format("positive multiples of the block %lld", (long long)sf), format("H=%lld I=%lld", (long long)p->H, (long long)p->I));
  if (p->local_offset < 0 || p->local_experts < 1 || p->local_offset + p->local_experts > p->E) badArgument("problem.local_offset/local_experts", "a slice of [0, E)", format("%lld+%lld of E=%lld", (long long)p->local_offset, (long long)p->local_experts, (long long)p->E));
  if (p->logits_dtype != MOE_DTYPE_F32 && p->logits_dtype != MOE_DTYPE_BF16) badArgument("problem.logits_dtype", "f32 or bf16", dtypeName(p->logits_dtype));
  if (p->bias_dtype != MOE_DTYPE_NONE && p->bias_dtype != MOE_DTYPE_F32 && p->bias_dtype != MOE_DTYPE_BF16) badArgument("problem.bias_dtype", "none, f32 or bf16", dtypeName(p->bias_dtype));
  const double work = double(p->T) * double(p->top_k) * 3.0 * double(p->H) * double(p->I);
  if (work > double(kMaxWork)) fail(MOE_STATUS_UNSUPPORTED, format("problem size: expected T*k*3*H*I <= 2^31 (a small CPU test library), got %.3g", work));
}

std::string cannotRun(const MoeProblem* p, MoeTactic t) {
  bool tile = false;
  for (int x : kTiles) tile |= t.tile_tokens == x;
  if (!tile || t.config < 0 || t.config >= kConfigs) return "not a tactic of this library (tiles 8, 32, 128 x configs 0, 1)";
  if (t.tile_tokens == 128 && p->T < 64) return format("tile 128 needs T >= 64, T is %lld", (long long)p->T);
  return "";
}

// ------------------------------------------------------------------ the prepared case

struct Prepared {
  MoeProblem problem{};
  std::string routing, quant, activation;
  const MoeCase* source = nullptr;  // kept: the host keeps the tensors alive until release
  MoeCase tensors{};
  std::vector<float> hidden;        // dequantized x̂ [T, H]
  std::vector<float> fc1;           // dequantized W1 [El, 2I, H] (no global scale)
  std::vector<float> fc2;           // dequantized W2 [El, H, I]
};

float tensorF32(const MoeTensor& t, int64_t i) {
  if (t.dtype == MOE_DTYPE_BF16) return bf16Value(static_cast<const uint16_t*>(t.data)[i]);
  return static_cast<const float*>(t.data)[i];
}

// Dequantize [rows, cols] FP4 with block scales (no global scale).
void dequantFp4(const MoeTensor& packed, const MoeTensor& scales, int64_t rows, int64_t cols, int64_t sf, bool nv, std::vector<float>& out) {
  out.resize(size_t(rows * cols));
  const uint8_t* q = static_cast<const uint8_t*>(packed.data);
  const uint8_t* s = static_cast<const uint8_t*>(scales.data);
  for (int64_t r = 0; r < rows; ++r) {
    for (int64_t c = 0; c < cols; ++c) {
      const uint8_t byte = q[r * (cols / 2) + c / 2];
      const uint8_t nib = (c & 1) ? uint8_t(byte >> 4) : uint8_t(byte & 15);
      const uint8_t sc = s[r * (cols / sf) + c / sf];
      out[size_t(r * cols + c)] = e2m1Value(nib) * (nv ? e4m3Value(sc) : ue8m0Value(sc));
    }
  }
}

void checkCase(const MoeCase* c) {
  if (!c) badArgument("case", "a MoeCase pointer", "NULL");
  if (c->struct_size < sizeof(MoeCase)) badArgument("case.struct_size", format(">= %zu", sizeof(MoeCase)), std::to_string(c->struct_size));
  checkProblem(&c->problem);
  expectCaseTensors(*c);
}

// ------------------------------------------------------------------ routing (SPEC §3)

// Indices of the k largest of v among `eligible`, higher first, lower index on ties.
// NaN never wins a comparison, so the ids stay inside [0, n) whatever the scores.
std::vector<int> topK(const std::vector<float>& v, int k, const std::vector<char>* eligible) {
  std::vector<int> out;
  std::vector<char> taken(v.size(), 0);
  for (int j = 0; j < k; ++j) {
    int best = -1;
    for (int e = 0; e < int(v.size()); ++e) {
      if (taken[size_t(e)]) continue;
      if (eligible && !(*eligible)[size_t(e)]) continue;
      if (best < 0 || v[size_t(e)] > v[size_t(best)]) best = e;
    }
    if (best < 0) {  // fewer eligible than k: take the lowest unused index
      for (int e = 0; e < int(v.size()) && best < 0; ++e) if (!taken[size_t(e)]) best = e;
    }
    taken[size_t(best)] = 1;
    out.push_back(best);
  }
  return out;
}

float sigmoidF(float x) { return float(1.0 / (1.0 + std::exp(-double(x)))); }

// Softmax with the row max subtracted first; a row with no finite entry gives zeros.
std::vector<float> softmax(const std::vector<float>& x) {
  float m = -std::numeric_limits<float>::infinity();
  for (float v : x) m = std::max(m, v);
  std::vector<float> e(x.size(), 0.f);
  if (!(m > -std::numeric_limits<float>::infinity())) return e;
  float sum = 0;
  for (size_t i = 0; i < x.size(); ++i) {
    e[i] = std::exp(x[i] - m);
    sum += e[i];
  }
  for (float& v : e) v = v / sum;
  return e;
}

void route(const Prepared& pr, int64_t t, int32_t* ids, float* w) {
  const MoeProblem& p = pr.problem;
  const int E = int(p.E), k = int(p.top_k);
  std::vector<float> logit(static_cast<size_t>(E));
  // README "Masked and invalid logits": -inf masks its expert; NaN and +inf are treated as -inf.
  // A masked expert ranks below every finite score and has weight 0 when chosen.
  const float NEG = -std::numeric_limits<float>::infinity();
  std::vector<char> masked(static_cast<size_t>(E), 0);
  for (int e = 0; e < E; ++e) {
    float x = tensorF32(pr.tensors.logits, t * E + e);
    if (!(x > NEG && x < -NEG)) {
      x = NEG;
      masked[size_t(e)] = 1;
    }
    logit[size_t(e)] = x;
  }
  std::vector<int> chosen;
  std::vector<float> weight(static_cast<size_t>(k));
  const std::string& m = pr.routing;
  if (m == "default" || m == "renormalize_naive") {
    const std::vector<float> prob = softmax(logit);
    std::vector<float> rank = prob;
    for (int e = 0; e < E; ++e) if (masked[size_t(e)]) rank[size_t(e)] = NEG;
    chosen = topK(rank, k, nullptr);
    float sum = 0;
    for (int j = 0; j < k; ++j) sum += prob[size_t(chosen[size_t(j)])];
    for (int j = 0; j < k; ++j) {
      const float pj = prob[size_t(chosen[size_t(j)])];
      weight[size_t(j)] = m == "default" || sum == 0 ? pj : pj / sum;
    }
  } else if (m == "renormalize" || m == "topk" || m == "llama4") {
    chosen = topK(logit, k, nullptr);
    std::vector<float> sel(static_cast<size_t>(k));
    for (int j = 0; j < k; ++j) sel[size_t(j)] = logit[size_t(chosen[size_t(j)])];
    if (m == "renormalize") weight = softmax(sel);
    else if (m == "topk") for (int j = 0; j < k; ++j) weight[size_t(j)] = masked[size_t(chosen[size_t(j)])] ? 0.f : sel[size_t(j)];
    else for (int j = 0; j < k; ++j) weight[size_t(j)] = sigmoidF(sel[size_t(j)]);
  } else {  // deepseek_v3
    std::vector<float> s(static_cast<size_t>(E)), b(static_cast<size_t>(E));
    for (int e = 0; e < E; ++e) {
      s[size_t(e)] = sigmoidF(logit[size_t(e)]);
      const float bias = pr.tensors.bias.dtype == MOE_DTYPE_NONE ? 0.f : tensorF32(pr.tensors.bias, e);
      b[size_t(e)] = masked[size_t(e)] ? NEG : s[size_t(e)] + bias;
      if (std::isnan(b[size_t(e)])) b[size_t(e)] = NEG;
    }
    std::vector<char> eligible(static_cast<size_t>(E), 1);
    const int G = int(p.n_group);
    if (G > 1) {
      const int per = E / G;
      std::vector<float> gscore(static_cast<size_t>(G));
      for (int g = 0; g < G; ++g) {
        std::vector<float> members(b.begin() + g * per, b.begin() + (g + 1) * per);
        const std::vector<int> two = topK(members, std::min(2, per), nullptr);
        float sum = 0;
        for (int i : two) sum += members[size_t(i)];
        gscore[size_t(g)] = sum;
      }
      const std::vector<int> keep = topK(gscore, int(p.topk_group), nullptr);
      std::fill(eligible.begin(), eligible.end(), 0);
      for (int g : keep) for (int e = g * per; e < (g + 1) * per; ++e) eligible[size_t(e)] = 1;
    }
    chosen = topK(b, k, &eligible);
    float sum = 0;
    for (int j = 0; j < k; ++j) sum += s[size_t(chosen[size_t(j)])];
    for (int j = 0; j < k; ++j) {
      weight[size_t(j)] = float(s[size_t(chosen[size_t(j)])] / (sum + 1e-20f)) * float(p.routed_scaling_factor);
    }
  }
  for (int j = 0; j < k; ++j) {
    ids[j] = chosen[size_t(j)];
    w[j] = weight[size_t(j)];
  }
}

// ------------------------------------------------------------------ the MoE (SPEC §4)

float dot(const float* a, const float* b, int64_t n, int config) {
  if (config == 0) {
    float s = 0;
    for (int64_t i = 0; i < n; ++i) s += a[i] * b[i];
    return s;
  }
  const int64_t half = n / 2;
  float s0 = 0, s1 = 0;
  for (int64_t i = 0; i < half; ++i) s0 += a[i] * b[i];
  for (int64_t i = half; i < n; ++i) s1 += a[i] * b[i];
  return s0 + s1;
}

void runMoe(const Prepared& pr, int config, uint16_t* out, int32_t* ids, float* weights) {
  const MoeProblem& p = pr.problem;
  const int64_t T = p.T, H = p.H, I = p.I, k = p.top_k;
  const bool llama4 = pr.routing == "llama4";
  const bool clamped = pr.activation == "swiglu_clamped";
  const bool swap = g_mode == Mode::GateUpSwapped;
  for (int64_t t = 0; t < T; ++t) route(pr, t, ids + t * k, weights + t * k);
  std::vector<float> acc(static_cast<size_t>(H));
  std::vector<float> a(static_cast<size_t>(I));
  const float* o1 = static_cast<const float*>(pr.tensors.out1_scale.data);
  const float* o1g = static_cast<const float*>(pr.tensors.out1_gate_scale.data);
  const float* o2 = static_cast<const float*>(pr.tensors.out2_scale.data);
  for (int64_t t = 0; t < T; ++t) {
    std::fill(acc.begin(), acc.end(), 0.f);
    const float* x = pr.hidden.data() + t * H;
    for (int64_t j = 0; j < k; ++j) {
      const int64_t l = int64_t(ids[t * k + j]) - p.local_offset;
      if (l < 0 || l >= p.local_experts) continue;  // not local: contributes exactly 0
      const float w = weights[t * k + j];
      const float c = o1[l] / o1g[l];
      const float alpha = clamped ? static_cast<const float*>(pr.tensors.swiglu_alpha.data)[l] : 1.f;
      const float beta = clamped ? static_cast<const float*>(pr.tensors.swiglu_beta.data)[l] : 0.f;
      const float L = clamped ? static_cast<const float*>(pr.tensors.swiglu_limit.data)[l] : 0.f;
      const float* W1 = pr.fc1.data() + l * 2 * I * H;
      for (int64_t i = 0; i < I; ++i) {
        float accUp = dot(W1 + (swap ? I + i : i) * H, x, H, config);
        float accGate = dot(W1 + (swap ? i : I + i) * H, x, H, config);
        if (llama4) {
          accUp = accUp * w;
          accGate = accGate * w;
        }
        float gate = accGate * o1g[l];
        float upS = accUp * o1[l];
        if (clamped) {
          gate = std::min(gate, L);
          const float lc = L * c;
          upS = std::max(std::min(upS, lc), -lc);
        }
        const float sg = sigmoidF(alpha * gate);
        const float gs = gate * sg;
        a[size_t(i)] = clamped ? gs * (upS + beta * c) : gs * upS;
      }
      requantize(pr.quant, a);
      const float* W2 = pr.fc2.data() + l * H * I;
      const float wf = llama4 ? 1.f : w;
      for (int64_t h = 0; h < H; ++h) {
        const float y = dot(W2 + h * I, a.data(), I, config) * o2[l];
        acc[size_t(h)] += wf * y;
      }
    }
    for (int64_t h = 0; h < H; ++h) out[t * H + h] = toBf16(acc[size_t(h)]);
  }
}

// ------------------------------------------------------------------ the ABI functions

MoeStatus describe(MoeKernelDescription* d) {
  return guarded("describe", [&] {
    requireMode();
    if (!d) badArgument("describe(out)", "a MoeKernelDescription pointer", "NULL");
    if (d->struct_size < sizeof(MoeKernelDescription)) badArgument("description.struct_size", format(">= %zu", sizeof(MoeKernelDescription)), std::to_string(d->struct_size));
    d->name = "moe-abi-cpu";
    d->build_id = g_buildId.c_str();
    d->device = "cpu";
    d->quant_modes = kQuantModes;
    d->n_quant_modes = 3;
    d->routing_methods = kRoutingMethods;
    d->n_routing_methods = 6;
    d->conventions = nullptr;
    d->n_conventions = 0;
  });
}

MoeStatus listTactics(const MoeProblem* p, MoeTactic* out, int64_t capacity, int64_t* count) {
  return guarded("list_tactics", [&] {
    checkProblem(p);
    if (!count) badArgument("list_tactics(count)", "a pointer", "NULL");
    int64_t n = 0;
    for (int c = 0; c < kConfigs; ++c) {
      for (int tile : kTiles) {
        if (out && n < capacity) out[n] = MoeTactic{tile, c};
        ++n;
      }
    }
    *count = n;
  });
}

MoeStatus canImplement(const MoeProblem* p, MoeTactic t, int32_t* ok, char* reason, int64_t cap) {
  return guarded("can_implement", [&] {
    checkProblem(p);
    if (!ok) badArgument("can_implement(ok)", "a pointer", "NULL");
    const std::string why = cannotRun(p, t);
    *ok = why.empty() ? 1 : 0;
    copyText(why, reason, cap);
  });
}

MoeStatus workspaceSize(const MoeProblem* p, MoeTactic t, uint64_t* bytes) {
  return guarded("workspace_size", [&] {
    checkProblem(p);
    if (!bytes) badArgument("workspace_size(bytes)", "a pointer", "NULL");
    *bytes = uint64_t(p->H + p->I) * sizeof(float);
  });
}

MoeStatus prepare(const MoeCase* c, MoePrepared** out) {
  return guarded("prepare", [&] {
    requireMode();
    if (g_mode == Mode::PrepareError) fail(MOE_STATUS_INTERNAL, "prepare: test library mode prepare_error (a failing prepare)");
    if (!out) badArgument("prepare(out)", "a pointer", "NULL");
    checkCase(c);
    auto* pr = new Prepared();
    pr->problem = c->problem;
    pr->routing = c->problem.routing_method;
    pr->quant = c->problem.quant_mode;
    pr->activation = c->problem.activation;
    pr->problem.routing_method = pr->routing.c_str();
    pr->problem.quant_mode = pr->quant.c_str();
    pr->problem.activation = pr->activation.c_str();
    pr->source = c;
    pr->tensors = *c;
    const MoeProblem& p = pr->problem;
    const bool nv = pr->quant == "nvfp4";
    const int64_t sf = nv ? 16 : 32;
    if (pr->quant == "mxfp4_bf16") {
      pr->hidden.resize(size_t(p.T * p.H));
      for (int64_t i = 0; i < p.T * p.H; ++i) pr->hidden[size_t(i)] = bf16Value(static_cast<const uint16_t*>(c->hidden.data)[i]);
    } else if (nv) {
      dequantFp4(c->hidden, c->hidden_scales, p.T, p.H, 16, true, pr->hidden);
    } else {
      pr->hidden.resize(size_t(p.T * p.H));
      const uint8_t* q = static_cast<const uint8_t*>(c->hidden.data);
      const uint8_t* s = static_cast<const uint8_t*>(c->hidden_scales.data);
      for (int64_t t = 0; t < p.T; ++t)
        for (int64_t h = 0; h < p.H; ++h) pr->hidden[size_t(t * p.H + h)] = e4m3Value(q[t * p.H + h]) * ue8m0Value(s[t * (p.H / 32) + h / 32]);
    }
    dequantFp4(c->fc1_weights, c->fc1_scales, p.local_experts * 2 * p.I, p.H, sf, nv, pr->fc1);
    dequantFp4(c->fc2_weights, c->fc2_scales, p.local_experts * p.H, p.I, sf, nv, pr->fc2);
    *out = reinterpret_cast<MoePrepared*>(pr);
  });
}

MoeStatus run(MoePrepared* handle, const MoeRunArgs* args, MoeRunResult* result) {
  return guarded("run", [&] {
    requireMode();
    if (!handle) badArgument("run(prepared)", "a handle from prepare", "NULL");
    if (!args || args->struct_size < sizeof(MoeRunArgs)) badArgument("run(args)", "a MoeRunArgs with struct_size >= " + std::to_string(sizeof(MoeRunArgs)), args ? std::to_string(args->struct_size) : "NULL");
    if (!result || result->struct_size < sizeof(MoeRunResult)) badArgument("run(result)", "a MoeRunResult with struct_size >= " + std::to_string(sizeof(MoeRunResult)), result ? std::to_string(result->struct_size) : "NULL");
    Prepared& pr = *reinterpret_cast<Prepared*>(handle);
    const MoeProblem& p = pr.problem;
    const std::string why = cannotRun(&p, args->tactic);
    if (!why.empty()) fail(MOE_STATUS_UNSUPPORTED, "tactic " + tacticText(args->tactic) + ": " + why);
    expectTensor("output", args->output, MOE_DTYPE_BF16, {p.T, p.H});
    expectTensor("expert_ids", args->expert_ids, MOE_DTYPE_I32, {p.T, p.top_k});
    expectTensor("expert_weights", args->expert_weights, MOE_DTYPE_F32, {p.T, p.top_k});
    switch (g_mode) {
      case Mode::RunError: fail(MOE_STATUS_INTERNAL, "run: test library mode run_error (a failing run)");
      case Mode::DeviceError: fail(MOE_STATUS_DEVICE_ERROR, "run: test library mode device_error (illegal address, simulated)");
      case Mode::RefuseRun: fail(MOE_STATUS_UNSUPPORTED, "run: test library mode refuse_run refuses tactic " + tacticText(args->tactic));
      case Mode::Crash: {
        volatile int* nowhere = nullptr;
        *nowhere = 1;  // SIGSEGV: the host's child process dies
        break;
      }
      case Mode::Hang:
        for (;;) std::this_thread::sleep_for(std::chrono::seconds(1));
      case Mode::WriteInputs: {
        // A bug on purpose: writes through the const input pointer.
        if (pr.tensors.logits.dtype == MOE_DTYPE_F32) static_cast<float*>(const_cast<void*>(pr.tensors.logits.data))[0] += 1.f;
        else static_cast<uint16_t*>(const_cast<void*>(pr.tensors.logits.data))[0] ^= 1;
        break;
      }
      default: break;
    }
    const auto t0 = std::chrono::steady_clock::now();
    const MoeTactic executed = g_mode == Mode::LieTactic ? MoeTactic{args->tactic.tile_tokens, 0} : args->tactic;
    runMoe(pr, executed.config, static_cast<uint16_t*>(args->output.data), static_cast<int32_t*>(args->expert_ids.data),
           static_cast<float*>(args->expert_weights.data));
    const int64_t nk = p.T * p.top_k;
    if (g_mode == Mode::WeightsBf16Bits) {
      float* w = static_cast<float*>(args->expert_weights.data);
      for (int64_t i = 0; i < nk; ++i) {
        const uint32_t bits = toBf16(w[i]);
        std::memcpy(&w[i], &bits, 4);
      }
    }
    if (g_mode == Mode::IdsOutOfRange) static_cast<int32_t*>(args->expert_ids.data)[nk - 1] = int32_t(p.E);
    if (g_mode == Mode::LieTactic && args->tactic.config == 0) {
      result->executed = MoeTactic{args->tactic.tile_tokens, 1};  // says 1 when asked 0: the echo never matches
    } else if (g_mode != Mode::NoEcho) {
      result->executed = executed;
    }
    result->kernel_ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  });
}

MoeStatus release(MoePrepared* handle) {
  return guarded("release", [&] {
    delete reinterpret_cast<Prepared*>(handle);
  });
}

const char* lastErrorText() { return lastError().c_str(); }

MoeKernelApi makeApi() {
  readMode();
  MoeKernelApi api{};
  api.abi_major = g_mode == Mode::WrongAbi ? 99 : MOE_KERNEL_ABI_MAJOR;
  api.abi_minor = MOE_KERNEL_ABI_MINOR;
  api.struct_size = sizeof(MoeKernelApi);
  api.describe = describe;
  api.list_tactics = listTactics;
  api.can_implement = canImplement;
  api.workspace_size = workspaceSize;
  api.prepare = prepare;
  api.run = run;
  api.inputs_digest = nullptr;  // the host digests the host buffers it handed over
  api.release = release;
  api.last_error = lastErrorText;
  return api;
}

}  // namespace

extern "C" MOE_KERNEL_EXPORT const MoeKernelApi* moe_kernel_api(void) {
  static const MoeKernelApi api = makeApi();
  return &api;
}
