// moe_bench: the kernel side of `npm run bench:kernel` (native/bench/benchKernel.ts runs it).
//
// For each model configuration (full size, every expert local) and each T it builds one
// random case, prepares it once, and times EVERY valid tactic through the same engine the
// addon uses (src/engine.h; CUDA events around routing .. finalize, RunOutputs.ms), the
// tactics interleaved round-robin over --reps rounds (median reported). In the same process
// and on the same GPU it times a device-to-device cudaMemcpy of --copy-mib MiB (bytes read +
// bytes written over the median time) before and after the tactics. It writes:
//
//   OUT/kernel.json                 device, copy bandwidth, one row per (config, T)
//   OUT/<config>-T<T>.logits.f32    the row's router logits [T][E] (float32)
//   OUT/<config>-T<T>.bias.f32      deepseek's bias [E] (float32), when the config has one
//   OUT/<config>-T<T>.ids.i32       the kernel's routed expert ids [T][k] (default tactic)
//
// so that the PyTorch baseline (torch_moe_baseline.py) routes the same logits the same way
// and checks that it chose the same experts. Exit 0 only when every run succeeded and wrote
// every output element (the output is poisoned with NaN before each run).
//
//   moe_bench --out DIR [--configs deepseek-v3,qwen3-235b-a22b,gpt-oss-120b] [--T 1,8,64,512,4096]
//             [--reps 7] [--copy-mib 2048] [--seed 1] [--tactics '*/3,128/0']
//
// --tactics keeps the tactics matching any pattern "tileTokens/config" (either side may be *;
// default every valid tactic; the default tactic is always run): small sanitizer runs of a
// few tactics (compute-sanitizer --tool memcheck moe_bench --configs deepseek-lite --T 8
// --tactics '*/3' --reps 3 --copy-mib 64 --out DIR).
#include <cuda_runtime.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "cuda/common.cuh"
#include "engine.h"
#include "errors.h"
#include "problem_args.h"
#include "tactics.h"
#include "median.h"

using namespace moe;

namespace {

struct BadUsage : std::runtime_error {
  using std::runtime_error::runtime_error;
};

struct ModelConfig {
  const char* name;
  int64_t E, k, H, I;
  Routing routing;
  QuantMode quant;
  int64_t nGroup, topkGroup;
  double routedScalingFactor;
  bool bias, clamped;
};

// SPEC §6 configurations (the same dimensions as native/test/gpu_check.cu's big cases).
const ModelConfig kModels[] = {
    {"deepseek-v3", 256, 8, 7168, 2048, Routing::DeepseekV3, QuantMode::Nvfp4, 8, 4, 2.5, true, false},
    {"deepseek-lite", 72, 6, 2048, 1408, Routing::DeepseekV3, QuantMode::Nvfp4, 1, 1, 2.5, true, false},
    {"qwen3-235b-a22b", 128, 8, 4096, 1536, Routing::Renormalize, QuantMode::Nvfp4, 1, 1, 1.0, false, false},
    {"qwen3-30b-a3b", 128, 8, 2048, 768, Routing::Renormalize, QuantMode::Nvfp4, 1, 1, 1.0, false, false},
    {"qwen3-next-80b", 512, 10, 2048, 512, Routing::Renormalize, QuantMode::Nvfp4, 1, 1, 1.0, false, false},
    {"gpt-oss-120b", 128, 4, 2880, 2880, Routing::Renormalize, QuantMode::Mxfp4Mxfp8, 1, 1, 1.0, false, true},
    {"llama4-maverick", 128, 1, 5120, 8192, Routing::Llama4, QuantMode::Nvfp4, 1, 1, 1.0, false, false},
    {"mixtral-8x7b", 8, 2, 4096, 14336, Routing::RenormalizeNaive, QuantMode::Nvfp4, 1, 1, 1.0, false, false},
};

const ModelConfig& modelByName(const std::string& n) {
  for (const ModelConfig& m : kModels)
    if (n == m.name) return m;
  std::string all;
  for (const ModelConfig& m : kModels) all += (all.empty() ? "" : ", ") + std::string(m.name);
  throw BadUsage("--configs: expected names from {" + all + "}, got " + n);
}

uint64_t splitmix(uint64_t& s) {
  uint64_t z = (s += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

// Fill `n` bytes with map(random byte), several threads (each its own stream of the seed).
void fillBytes(uint8_t* dst, size_t n, uint64_t seed, const std::function<uint8_t(uint8_t)>& map) {
  const unsigned threads = std::max(1u, std::min(16u, std::thread::hardware_concurrency()));
  const size_t per = (n / threads + 7) & ~size_t(7);
  std::vector<std::thread> pool;
  for (unsigned t = 0; t < threads; ++t) {
    pool.emplace_back([=, &map] {
      const size_t b = std::min(n, size_t(t) * per), e = std::min(n, b + per);
      uint64_t s = seed * 0x2545F4914F6CDD1Dull + t * 0x9E3779B97F4A7C15ull + 1;
      size_t i = b;
      if (!map) {
        for (; i + 8 <= e; i += 8) {
          const uint64_t x = splitmix(s);
          std::memcpy(dst + i, &x, 8);
        }
      }
      for (; i < e; i += 8) {
        const uint64_t x = splitmix(s);
        for (size_t j = 0; j < 8 && i + j < e; ++j) {
          const uint8_t v = uint8_t(x >> (8 * j));
          dst[i + j] = map ? map(v) : v;
        }
      }
    });
  }
  for (auto& th : pool) th.join();
}

double normal(uint64_t& s) {
  const double u1 = std::max(double(splitmix(s) >> 11) * (1.0 / 9007199254740992.0), 1e-300);
  const double u2 = double(splitmix(s) >> 11) * (1.0 / 9007199254740992.0);
  return std::sqrt(-2.0 * std::log(u1)) * std::cos(6.283185307179586 * u2);
}

// The host tensors of one configuration at T tokens. Random e2m1 codes everywhere (never
// all zeros); scales in modest ranges (as gpu_check's cases) so nothing overflows.
struct HostCase {
  ProblemArgs p;
  std::vector<float> logits, bias, o1, o1g, o2, alpha, beta, limit;
  std::vector<uint8_t> hidden, hiddenScales, fc1P, fc1S, fc2P, fc2S;

  static TensorArg arg(const void* data, size_t n, ElemType t) {
    TensorArg a;
    if (n == 0) return a;
    a.data = data;
    a.length = int64_t(n);
    a.type = t;
    return a;
  }
  CaseArgs args() const {
    CaseArgs c;
    c.problem = p;
    c.logits = arg(logits.data(), logits.size(), ElemType::F32);
    c.bias = arg(bias.data(), bias.size(), ElemType::F32);
    c.hidden = arg(hidden.data(), hidden.size(), ElemType::U8);
    c.hiddenScales = arg(hiddenScales.data(), hiddenScales.size(), ElemType::U8);
    c.fc1Packed = arg(fc1P.data(), fc1P.size(), ElemType::U8);
    c.fc1Scales = arg(fc1S.data(), fc1S.size(), ElemType::U8);
    c.fc2Packed = arg(fc2P.data(), fc2P.size(), ElemType::U8);
    c.fc2Scales = arg(fc2S.data(), fc2S.size(), ElemType::U8);
    c.out1Scale = arg(o1.data(), o1.size(), ElemType::F32);
    c.out1GateScale = arg(o1g.data(), o1g.size(), ElemType::F32);
    c.out2Scale = arg(o2.data(), o2.size(), ElemType::F32);
    c.swigluAlpha = arg(alpha.data(), alpha.size(), ElemType::F32);
    c.swigluBeta = arg(beta.data(), beta.size(), ElemType::F32);
    c.swigluLimit = arg(limit.data(), limit.size(), ElemType::F32);
    return c;
  }
};

// Weights are generated once per configuration (the largest part); tokens per T.
void makeWeights(const ModelConfig& m, uint64_t seed, HostCase& c) {
  const bool nv = m.quant == QuantMode::Nvfp4;
  const int64_t sf = weightBlock(m.quant);
  c.fc1P.resize(size_t(m.E * 2 * m.I * m.H / 2));
  c.fc2P.resize(size_t(m.E * m.H * m.I / 2));
  c.fc1S.resize(size_t(m.E * 2 * m.I * m.H / sf));
  c.fc2S.resize(size_t(m.E * m.H * m.I / sf));
  fillBytes(c.fc1P.data(), c.fc1P.size(), seed + 1, nullptr);
  fillBytes(c.fc2P.data(), c.fc2P.size(), seed + 2, nullptr);
  // NVFP4: e4m3 with exponent field 2..5 (codes 16..47); MX: ue8m0 122..125.
  auto scale = nv ? std::function<uint8_t(uint8_t)>([](uint8_t v) { return uint8_t(16 + (v & 31)); })
                  : std::function<uint8_t(uint8_t)>([](uint8_t v) { return uint8_t(122 + (v & 3)); });
  fillBytes(c.fc1S.data(), c.fc1S.size(), seed + 3, scale);
  fillBytes(c.fc2S.data(), c.fc2S.size(), seed + 4, scale);
  uint64_t s = seed + 5;
  c.o1.resize(size_t(m.E));
  c.o1g.resize(size_t(m.E));
  c.o2.resize(size_t(m.E));
  for (int64_t l = 0; l < m.E; ++l) {
    const double u = double(splitmix(s) >> 11) / 9007199254740992.0;
    c.o1g[l] = nv ? float(0.5 + u) : 1.f;
    c.o1[l] = nv ? c.o1g[l] * 1.25f : 1.f;
    c.o2[l] = nv ? float(0.25 + u) : 1.f;
  }
  if (m.clamped) {
    c.alpha.assign(size_t(m.E), 1.702f);
    c.beta.assign(size_t(m.E), 1.f);
    c.limit.assign(size_t(m.E), 7.f);
  }
}

void makeTokens(const ModelConfig& m, int64_t T, uint64_t seed, HostCase& c) {
  ProblemArgs& p = c.p;
  p = ProblemArgs{};
  p.T = T;
  p.H = m.H;
  p.I = m.I;
  p.E = m.E;
  p.topK = m.k;
  p.localOffset = 0;
  p.localExperts = m.E;
  p.routing = m.routing;
  p.nGroup = m.nGroup;
  p.topkGroup = m.topkGroup;
  p.routedScalingFactor = m.routedScalingFactor;
  p.biasDtype = m.bias ? BiasDtype::F32 : BiasDtype::None;
  p.quant = m.quant;
  p.activation = m.clamped ? Activation::SwigluClamped : Activation::Swiglu;
  uint64_t s = seed * 1000003 + uint64_t(T);
  c.logits.resize(size_t(T * m.E));
  for (float& v : c.logits) v = float(normal(s) * 2);
  c.bias.clear();
  if (m.bias) {
    c.bias.resize(size_t(m.E));
    for (float& v : c.bias) v = float(normal(s) * 0.1);
  }
  if (m.quant == QuantMode::Nvfp4) {
    c.hidden.resize(size_t(T * m.H / 2));
    fillBytes(c.hidden.data(), c.hidden.size(), s + 1, nullptr);
    c.hiddenScales.resize(size_t(T * m.H / 16));
    fillBytes(c.hiddenScales.data(), c.hiddenScales.size(), s + 2, [](uint8_t v) { return uint8_t(40 + (v & 31)); });
  } else {
    // e4m3 bytes with exponent field 1..8 and either sign (never NaN); ue8m0 125..128.
    c.hidden.resize(size_t(T * m.H));
    fillBytes(c.hidden.data(), c.hidden.size(), s + 1,
              [](uint8_t v) { return uint8_t((v & 0x80) | (8 + (v & 63))); });
    c.hiddenScales.resize(size_t(T * m.H / 32));
    fillBytes(c.hiddenScales.data(), c.hiddenScales.size(), s + 2, [](uint8_t v) { return uint8_t(125 + (v & 3)); });
  }
}

void cudaCheck(cudaError_t e, const char* what) {
  if (e != cudaSuccess) throw CudaFailure(cudaGetErrorName(e), cudaGetErrorString(e), what, "");
}

// Device-to-device copy bandwidth: median of `reps` cudaMemcpyAsync of `bytes`, counted as
// bytes read + bytes written. The source holds random bytes (never time zeros).
struct CopyResult {
  double bytes, medianMs, gbps;
  std::vector<double> ms;
};
CopyResult copyBandwidth(size_t bytes, int reps) {
  void *a = nullptr, *b = nullptr;
  cudaCheck(cudaMalloc(&a, bytes), "cudaMalloc(copy src)");
  cudaCheck(cudaMalloc(&b, bytes), "cudaMalloc(copy dst)");
  std::vector<uint8_t> host(size_t(64) << 20);
  fillBytes(host.data(), host.size(), 77, nullptr);
  for (size_t off = 0; off < bytes; off += host.size())
    cudaCheck(cudaMemcpy(static_cast<uint8_t*>(a) + off, host.data(), std::min(host.size(), bytes - off),
                         cudaMemcpyHostToDevice),
              "cudaMemcpy(copy src)");
  cudaEvent_t e0, e1;
  cudaCheck(cudaEventCreate(&e0), "cudaEventCreate");
  cudaCheck(cudaEventCreate(&e1), "cudaEventCreate");
  CopyResult r{double(bytes) * 2, 0, 0, {}};
  for (int i = -2; i < reps; ++i) {  // two warm-up copies
    cudaCheck(cudaEventRecord(e0), "cudaEventRecord");
    cudaCheck(cudaMemcpyAsync(b, a, bytes, cudaMemcpyDeviceToDevice), "cudaMemcpyAsync(D2D)");
    cudaCheck(cudaEventRecord(e1), "cudaEventRecord");
    cudaCheck(cudaEventSynchronize(e1), "cudaEventSynchronize");
    float ms = 0;
    cudaCheck(cudaEventElapsedTime(&ms, e0, e1), "cudaEventElapsedTime");
    if (i >= 0) r.ms.push_back(ms);
  }
  cudaEventDestroy(e0);
  cudaEventDestroy(e1);
  cudaFree(a);
  cudaFree(b);
  r.medianMs = median(r.ms);
  r.gbps = r.bytes / (r.medianMs * 1e-3) / 1e9;
  return r;
}

std::string num(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.5g", v);
  return buf;
}

bool tacticMatches(const std::vector<std::string>& patterns, const Tactic& t) {
  if (patterns.empty()) return true;
  for (const std::string& pat : patterns) {
    const size_t slash = pat.find('/');
    const std::string a = pat.substr(0, slash), b = pat.substr(slash + 1);
    if ((a == "*" || a == std::to_string(t.tileTokens)) && (b == "*" || b == std::to_string(t.config))) return true;
  }
  return false;
}

std::vector<std::string> splitList(const std::string& s) {
  std::vector<std::string> out;
  std::stringstream ss(s);
  std::string x;
  while (std::getline(ss, x, ','))
    if (!x.empty()) out.push_back(x);
  return out;
}

template <class T>
void writeFile(const std::string& path, const std::vector<T>& v) {
  std::ofstream f(path, std::ios::binary);
  f.write(reinterpret_cast<const char*>(v.data()), std::streamsize(v.size() * sizeof(T)));
  if (!f) throw std::runtime_error("cannot write " + path);
}

std::string jsonNumbers(const std::vector<double>& v) {
  std::string s = "[";
  char buf[32];
  for (size_t i = 0; i < v.size(); ++i) {
    std::snprintf(buf, sizeof buf, "%s%.5f", i ? "," : "", v[i]);
    s += buf;
  }
  return s + "]";
}

}  // namespace

int main(int argc, char** argv) {
  std::string out, configs = "deepseek-v3,qwen3-235b-a22b,gpt-oss-120b", tsArg = "1,8,64,512,4096", tacticsArg;
  int reps = 7;
  int64_t copyMib = 2048;
  uint64_t seed = 1;
  try {
    for (int i = 1; i < argc; ++i) {
      const std::string a = argv[i];
      auto value = [&]() -> std::string {
        if (i + 1 >= argc) throw BadUsage(a + ": expected a value after it, got the end of the arguments");
        return argv[++i];
      };
      if (a == "--out") out = value();
      else if (a == "--configs") configs = value();
      else if (a == "--T") tsArg = value();
      else if (a == "--reps") reps = std::atoi(value().c_str());
      else if (a == "--copy-mib") copyMib = std::atoll(value().c_str());
      else if (a == "--seed") seed = std::strtoull(value().c_str(), nullptr, 10);
      else if (a == "--tactics") tacticsArg = value();
      else throw BadUsage("unknown argument " + a);
    }
    if (out.empty()) throw BadUsage("--out: expected a directory for kernel.json, got nothing");
    if (reps < 1 || reps > 1000) throw BadUsage("--reps: expected an integer in [1, 1000], got " + std::to_string(reps));
    if (copyMib < 64 || copyMib > 16384)
      throw BadUsage("--copy-mib: expected an integer in [64, 16384], got " + std::to_string(copyMib));
  } catch (const BadUsage& e) {
    std::fprintf(stderr, "moe_bench: %s\nusage: moe_bench --out DIR [--configs a,b] [--T 1,8] [--reps N] [--copy-mib M] [--seed S] [--tactics PATTERNS]\n",
                 e.what());
    return 2;
  }
  std::vector<const ModelConfig*> models;
  std::vector<std::string> tacticPatterns;
  std::vector<int64_t> Ts;
  try {
    for (const std::string& n : splitList(configs)) models.push_back(&modelByName(n));
    for (const std::string& t : splitList(tsArg)) {
      const int64_t T = std::atoll(t.c_str());
      if (T < 1 || T > (int64_t(1) << 20)) throw BadUsage("--T: expected integers in [1, 2^20], got " + t);
      Ts.push_back(T);
    }
    if (models.empty() || Ts.empty()) throw BadUsage("--configs and --T: expected at least one each, got none");
    for (const std::string& pat : splitList(tacticsArg)) {
      const size_t slash = pat.find('/');
      auto side = [](const std::string& x) { return x == "*" || (!x.empty() && x.find_first_not_of("0123456789") == std::string::npos); };
      if (slash == std::string::npos || !side(pat.substr(0, slash)) || !side(pat.substr(slash + 1)))
        throw BadUsage("--tactics: expected patterns tileTokens/config (either side may be *), got " + pat);
    }
  } catch (const BadUsage& e) {
    std::fprintf(stderr, "moe_bench: %s\n", e.what());
    return 2;
  }

  tacticPatterns = splitList(tacticsArg);
  int failures = 0;
  std::string rowsJson;
  try {
    const DeviceInfo d = deviceInfo();
    const BuildInfo b = buildInfo();
    std::printf("moe_bench: %s sm_%d%d, %d SMs, %.1f GiB; %s\n", d.name.c_str(), d.major, d.minor, d.multiProcessors,
                double(d.memoryBytes) / (1 << 30), b.reason.c_str());
    const CopyResult copyBefore = copyBandwidth(size_t(copyMib) << 20, 9);
    std::printf("copy D2D %lld MiB: %.3f ms median, %.1f GB/s (read+write)\n", (long long)copyMib, copyBefore.medianMs,
                copyBefore.gbps);
    for (const ModelConfig* m : models) {
      HostCase c;
      makeWeights(*m, seed, c);
      for (int64_t T : Ts) {
        makeTokens(*m, T, seed, c);
        const ProblemArgs& p = c.p;
        std::unique_ptr<Prepared> prep = prepareCase(c.args());
        std::string why;
        const Tactic def = defaultTactic(p, &why);
        std::vector<Tactic> tactics;
        for (const Tactic& t : validTactics(p))
          if (tacticMatches(tacticPatterns, t) || (t.tileTokens == def.tileTokens && t.config == def.config)) tactics.push_back(t);
        std::vector<std::vector<double>> ms(tactics.size());
        std::vector<std::string> problems;
        RunOutputs ref;
        std::vector<double> relVsFirst(tactics.size(), 0.0);
        std::vector<int> unwritten(tactics.size(), 0);
        // Warm-up run of each tactic: also the outputs' checks (every element written;
        // relative L2 distance to the first tactic's output, reported, not judged here).
        for (size_t ti = 0; ti < tactics.size(); ++ti) {
          RunOptions ro;
          ro.tactic = tactics[ti];
          RunOutputs o;
          prep->run(ro, o);
          int64_t nan = 0;
          for (uint16_t v : o.output)
            if (v == ro.poison) nan++;
          unwritten[ti] = int(nan > 0);
          if (nan) {
            failures++;
            problems.push_back(tacticLabel(tactics[ti]) + " left " + std::to_string(nan) + " output elements unwritten");
          }
          if (ti == 0) ref = o;
          double num = 0, den = 0;
          for (size_t i = 0; i < o.output.size(); ++i) {
            const double x = bf16BitsToFloat(o.output[i]), r = bf16BitsToFloat(ref.output[i]);
            if (std::isfinite(x) && std::isfinite(r)) {
              num += (x - r) * (x - r);
              den += r * r;
            }
          }
          relVsFirst[ti] = den > 0 ? std::sqrt(num / den) : 0;
          if (o.ids != ref.ids) {
            failures++;
            problems.push_back(tacticLabel(tactics[ti]) + " routed differently from " + tacticLabel(tactics[0]));
          }
        }
        for (int r = 0; r < reps; ++r) {
          for (size_t ti = 0; ti < tactics.size(); ++ti) {
            RunOptions ro;
            ro.tactic = tactics[ti];
            RunOutputs o;
            prep->run(ro, o);
            ms[ti].push_back(o.ms);
          }
        }
        // Routing dump for the baseline; distinct experts for the weight-byte count.
        const std::string stem = out + "/" + m->name + "-T" + std::to_string(T);
        writeFile(stem + ".logits.f32", c.logits);
        if (!c.bias.empty()) writeFile(stem + ".bias.f32", c.bias);
        writeFile(stem + ".ids.i32", ref.ids);
        std::vector<uint8_t> used(size_t(m->E), 0);
        for (int32_t id : ref.ids)
          if (id >= 0 && id < m->E) used[size_t(id)] = 1;
        const int64_t touched = std::count(used.begin(), used.end(), uint8_t(1));
        const int64_t sf = weightBlock(m->quant);
        const double bytesPerExpert = double(3 * m->H * m->I) / 2 + double(3 * m->H * m->I / sf);
        const double flops = 6.0 * double(T) * double(m->k) * double(m->H) * double(m->I);
        std::string tj;
        std::string line;
        for (size_t ti = 0; ti < tactics.size(); ++ti) {
          const double med = median(ms[ti]);
          char buf[96];
          std::snprintf(buf, sizeof buf, " %s:%.3f", tacticLabel(tactics[ti]).c_str(), med);
          line += buf;
          tj += std::string(ti ? "," : "") + "{\"label\":\"" + tacticLabel(tactics[ti]) + "\",\"config\":" +
                std::to_string(tactics[ti].config) + ",\"tileTokens\":" + std::to_string(tactics[ti].tileTokens) +
                ",\"configName\":\"" + configInfo(tactics[ti].config).name + "\",\"ms\":" + jsonNumbers(ms[ti]) +
                ",\"medianMs\":" + num(med) + ",\"relL2VsFirst\":" + num(relVsFirst[ti]) +
                ",\"unwritten\":" + (unwritten[ti] ? "true" : "false") + "}";
        }
        std::printf("ROW %-16s T=%-5lld experts %3lld default %-6s |%s\n", m->name, (long long)T, (long long)touched,
                    tacticLabel(def).c_str(), line.c_str());
        for (const std::string& pr : problems) std::printf("  PROBLEM: %s\n", pr.c_str());
        std::string probJson;
        for (const std::string& pr : problems) probJson += std::string(probJson.empty() ? "" : ",") + "\"" + pr + "\"";
        char head[1024];
        std::snprintf(head, sizeof head,
                      "{\"config\":\"%s\",\"T\":%lld,\"E\":%lld,\"k\":%lld,\"H\":%lld,\"I\":%lld,\"quant\":\"%s\","
                      "\"routing\":\"%s\",\"nGroup\":%lld,\"topkGroup\":%lld,\"routedScalingFactor\":%.6g,"
                      "\"clamped\":%s,\"hasBias\":%s,\"expertsTouched\":%lld,\"weightBytes\":%.0f,\"flops\":%.6g,"
                      "\"defaultTactic\":\"%s\",\"defaultReason\":\"%s\",\"files\":\"%s-T%lld\",",
                      m->name, (long long)T, (long long)m->E, (long long)m->k, (long long)m->H, (long long)m->I,
                      quantModeNames()[size_t(m->quant)].c_str(), routingNames()[size_t(m->routing)].c_str(),
                      (long long)m->nGroup, (long long)m->topkGroup, m->routedScalingFactor, m->clamped ? "true" : "false",
                      m->bias ? "true" : "false", (long long)touched, double(touched) * bytesPerExpert, flops,
                      tacticLabel(def).c_str(), why.c_str(), m->name, (long long)T);
        rowsJson += std::string(rowsJson.empty() ? "" : ",\n") + head + "\"tactics\":[" + tj + "],\"problems\":[" +
                    probJson + "]}";
        prep->release();
      }
    }
    const CopyResult copyAfter = copyBandwidth(size_t(copyMib) << 20, 9);
    std::printf("copy D2D %lld MiB: %.3f ms median, %.1f GB/s (read+write), after the tactics\n", (long long)copyMib,
                copyAfter.medianMs, copyAfter.gbps);
    std::ofstream f(out + "/kernel.json");
    char head[1024];
    std::snprintf(head, sizeof head,
                  "{\"device\":\"%s\",\"sm\":\"%d%d\",\"multiProcessors\":%d,\"build\":\"%s\",\"reps\":%d,"
                  "\"copy\":{\"what\":\"cudaMemcpyAsync device-to-device in moe_bench, %lld MiB, bytes read + written\","
                  "\"bytes\":%.0f,\"before\":{\"medianMs\":%.5f,\"gbps\":%.3f,\"ms\":%s},\"after\":{\"medianMs\":%.5f,"
                  "\"gbps\":%.3f,\"ms\":%s}},\n\"rows\":[\n",
                  d.name.c_str(), d.major, d.minor, d.multiProcessors, b.reason.c_str(), reps, (long long)copyMib,
                  copyBefore.bytes, copyBefore.medianMs, copyBefore.gbps, jsonNumbers(copyBefore.ms).c_str(),
                  copyAfter.medianMs, copyAfter.gbps, jsonNumbers(copyAfter.ms).c_str());
    f << head << rowsJson << "\n]}\n";
    if (!f) throw std::runtime_error("cannot write " + out + "/kernel.json");
  } catch (const BadArgument& e) {
    std::fprintf(stderr, "moe_bench: %s\n", e.what());
    return 2;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "moe_bench: FATAL %s\n", e.what());
    return 3;
  }
  std::printf("moe_bench: %s (%d problem(s))\n", failures ? "FAIL" : "done", failures);
  return failures ? 1 : 0;
}
